"""The shared cache of API keys: the one place that writes it.

Every API request looks its key up by prefix. The row (with its user) is kept in the shared
cache for a minute; revoking or deleting a key through the services forgets it at once, and a
change made elsewhere (the admin) applies within API_KEY_CACHE_SECONDS. The secret is still
checked against the stored hash on every request.
"""

import contextlib

from django.core.cache import cache

API_KEY_CACHE_SECONDS = 60


def _key(prefix: str) -> str:
    return f"api-key:{prefix}"


def api_key_cached(prefix: str):
    """The cached ApiKey row for this prefix, or None."""
    with contextlib.suppress(Exception):  # a cache outage must not lock every client out
        return cache.get(_key(prefix))
    return None


def remember_api_key(api_key) -> None:
    with contextlib.suppress(Exception):
        cache.set(_key(api_key.prefix), api_key, API_KEY_CACHE_SECONDS)


def forget_api_keys(*, prefixes) -> None:
    cache.delete_many([_key(prefix) for prefix in prefixes])


def forget_api_key(*, prefix: str) -> None:
    forget_api_keys(prefixes=[prefix])
