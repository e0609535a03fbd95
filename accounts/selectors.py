import contextlib

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import ApiKey, User
from payments.selectors import balance_for_user
from vectorize.models import Vectorization

# Every API request looks its key up by prefix. The row (with its user) is kept in the shared
# cache for a minute; revoking or deleting a key through the services forgets it at once, and a
# change made elsewhere (the admin) applies within API_KEY_CACHE_SECONDS. The secret is still
# checked against the stored hash on every request.
API_KEY_CACHE_SECONDS = 60


def _api_key_cache_key(prefix: str) -> str:
    return f"api-key:{prefix}"


def api_key_from_key(key: str) -> ApiKey:
    """The usable key that `key` opens, or ApiKey.DoesNotExist."""
    prefix = key.partition(".")[0]
    api_key = None
    with contextlib.suppress(Exception):  # a cache outage must not lock every client out
        api_key = cache.get(_api_key_cache_key(prefix))
    if api_key is None:
        api_key = ApiKey.objects.get_usable_keys().get(prefix=prefix)
        remember_api_key(api_key)
    if not api_key.is_valid(key):
        raise ApiKey.DoesNotExist("Key is not valid.")
    return api_key


def remember_api_key(api_key: ApiKey) -> None:
    with contextlib.suppress(Exception):
        cache.set(_api_key_cache_key(api_key.prefix), api_key, API_KEY_CACHE_SECONDS)


def forget_api_keys(*, prefixes) -> None:
    cache.delete_many([_api_key_cache_key(prefix) for prefix in prefixes])


def forget_api_key(*, prefix: str) -> None:
    forget_api_keys(prefixes=[prefix])


def api_key_list_for_user(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("revoked", "-created")


def usage_this_month_for_user(*, user: User) -> dict:
    start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    totals = Vectorization.objects.filter(owner=user, created_at__gte=start).aggregate(
        jobs=Count("id"),
        succeeded=Count("id", filter=Q(status=Vectorization.Status.SUCCEEDED)),
        failed=Count("id", filter=Q(status=Vectorization.Status.FAILED)),
        output_bytes=Sum("output_bytes"),
    )
    return {"since": start, **totals, "output_bytes": totals["output_bytes"] or 0}


def account_summary_for_user(*, user: User) -> dict:
    return {
        "email": user.email,
        "credits": balance_for_user(user=user),
        "usage": usage_this_month_for_user(user=user),
    }
