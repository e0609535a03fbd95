import logging
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.cache import forget_api_key, forget_api_keys, remember_api_key
from accounts.errors import AccountsErrorCode
from accounts.models import ApiKey, User
from vectorcraft.errors import ApplicationError
from vectorize.services import vectorizations_delete_for_owner

logger = logging.getLogger(__name__)

# last_used_at is written at most this often per key, so a busy client does not turn every
# read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ACTIVE_KEYS = 20


def api_key_create(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Make a key for `user`; return it with the secret, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise ApplicationError("Give the key a name.", code=AccountsErrorCode.INVALID_NAME)
    if ApiKey.objects.filter(user=user, revoked=False).count() >= MAX_ACTIVE_KEYS:
        raise ApplicationError(
            f"You already have {MAX_ACTIVE_KEYS} active keys; revoke one first.",
            code=AccountsErrorCode.TOO_MANY_KEYS,
        )
    api_key = ApiKey(user=user, name=name[:50])
    secret = ApiKey.objects.assign_key(api_key)
    api_key.full_clean()
    api_key.save(force_insert=True)
    logger.info("API key %s created for user %s", api_key.prefix, user.pk)
    return api_key, secret


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if not api_key.revoked:
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
        forget_api_key(prefix=api_key.prefix)  # refused from the next request on
        logger.info("API key %s revoked", api_key.prefix)
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
    remember_api_key(api_key)


def user_delete(*, user: User) -> None:
    """Delete an account: the user's uploads and outputs (rows and files), keys and addresses.

    The user row stays, anonymised and unable to log in, so records that accounting must keep
    can still point at it.
    """
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        # The jobs are vectorize's rows: its service deletes them and their files.
        vectorizations_delete_for_owner(owner=user)
        prefixes = list(ApiKey.objects.filter(user=user).values_list("prefix", flat=True))
        transaction.on_commit(lambda: forget_api_keys(prefixes=prefixes))
        ApiKey.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        user.email = f"deleted-{user.pk}@deleted.invalid"
        user.first_name = user.last_name = ""
        user.is_active = user.is_staff = user.is_superuser = False
        user.set_unusable_password()
        user.save(
            update_fields=[
                "email",
                "first_name",
                "last_name",
                "is_active",
                "is_staff",
                "is_superuser",
                "password",
            ]
        )
    logger.info("user %s deleted their account", user.pk)
