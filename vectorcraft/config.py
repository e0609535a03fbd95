"""Checks on the environment that settings.py runs before Django starts.

Kept free of Django imports so settings.py can call it while it is still being read.
"""

from collections.abc import Mapping

DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
MIN_SECRET_KEY_LENGTH = 50


class ConfigurationError(Exception):
    """Raised when production settings are missing or unsafe; lists every problem at once."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"VectorCraft refuses to start in production:\n{listing}\n"
            "Set these environment variables (see .env.example and README.md)."
        )


def validate_config(values: Mapping[str, object]) -> list[str]:
    """Return one plain-words problem per missing or unsafe production value."""
    problems = []
    secret_key = str(values.get("SECRET_KEY") or "")
    if not secret_key:
        problems.append("SECRET_KEY is not set.")
    elif secret_key == DEVELOPMENT_SECRET_KEY or secret_key.startswith("django-insecure"):
        problems.append("SECRET_KEY is the development key; generate a new one.")
    elif len(secret_key) < MIN_SECRET_KEY_LENGTH or len(set(secret_key)) < 5:
        problems.append(
            f"SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random characters."
        )

    allowed_hosts = list(values.get("ALLOWED_HOSTS") or [])
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS is not set (comma-separated host names).")
    elif "*" in allowed_hosts:
        problems.append("ALLOWED_HOSTS must name the hosts; '*' is not allowed in production.")

    if values.get("DEBUG"):
        problems.append("DEBUG must be off in production.")

    database_url = str(values.get("DATABASE_URL") or "")
    if not database_url:
        problems.append("DATABASE_URL is not set (PostgreSQL, e.g. postgres://user:pass@host/db).")
    elif not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        problems.append("DATABASE_URL must point at PostgreSQL in production.")

    if not values.get("REDIS_URL"):
        problems.append("REDIS_URL is not set (cache, sessions and rate limits need Redis).")

    if values.get("Q_BROKER") not in ("orm", "redis"):
        problems.append("Q_BROKER must be 'orm' or 'redis'.")

    if values.get("PAYPAL_SIMULATOR"):
        problems.append("PAYPAL_SIMULATOR must be off in production: it fakes payments.")
    if not values.get("PAYPAL_RECEIVER_EMAIL"):
        problems.append("PAYPAL_RECEIVER_EMAIL is not set (the PayPal account that is paid).")
    return problems


def s3_media_storage(
    *,
    bucket: str,
    endpoint_url: str = "",
    region: str = "",
    prefix: str = "",
    addressing_style: str = "",
) -> dict:
    """The STORAGES["default"] entry for media in an S3-compatible bucket (django-storages).

    Objects stay private (no ACL, signed URLs): every download goes through the views that check
    the owner. Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the machine's
    role, as boto3 finds them.
    """
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "location": prefix,
            "addressing_style": addressing_style or None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            # A retried job writes its output under the same name: replace, never rename.
            "file_overwrite": True,
        },
    }
