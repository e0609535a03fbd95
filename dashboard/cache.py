"""The dashboard's figures, kept in the shared cache for a while: the one place that writes it.

The figures are a few dozen aggregate queries; staff open the page, and it refreshes itself, far
more often than they change meaningfully."""

from django.core.cache import cache

CACHE_KEY = "dashboard:summary"
CACHE_SECONDS = 30


def summary_cached() -> dict | None:
    return cache.get(CACHE_KEY)


def summary_store(summary: dict) -> None:
    cache.set(CACHE_KEY, summary, CACHE_SECONDS)
