from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts import cache as api_key_cache
from accounts.models import ApiKey, User
from payments.selectors import balance_for_user
from vectorize.models import Vectorization


def api_key_from_key(key: str) -> ApiKey:
    """The usable key that `key` opens, or ApiKey.DoesNotExist (read through accounts/cache.py)."""
    prefix = key.partition(".")[0]
    api_key = api_key_cache.api_key_cached(prefix)
    if api_key is None:
        api_key = ApiKey.objects.get_usable_keys().get(prefix=prefix)
        api_key_cache.remember_api_key(api_key)
    if not api_key.is_valid(key):
        raise ApiKey.DoesNotExist("Key is not valid.")
    return api_key


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
