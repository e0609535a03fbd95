"""Errors that mean a service we depend on is down, not that the request or our code is wrong."""

import sys

import redis.exceptions
from django.db import InterfaceError, OperationalError

# PostgreSQL unreachable or restarting; Redis unreachable (cache, sessions, rate limits, broker).
OUTAGE_ERRORS = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# What a 503 asks clients to wait before trying again.
RETRY_AFTER_SECONDS = 30


def current_outage() -> BaseException | None:
    """The exception being handled, when it is an outage (called from the 500 handler)."""
    error = sys.exc_info()[1]
    return error if isinstance(error, OUTAGE_ERRORS) else None
