"""The one error type that services raise. Views and the API turn it into a message or envelope."""

from enum import StrEnum

from django.urls import reverse


class ApplicationError(Exception):
    def __init__(self, message: str, code: StrEnum | str = "error", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = str(code)
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.message


# Errors the site has a page for: the detail that names the page, and the page's URL name.
_REMEDIES = {"insufficient_credits": ("buy_url", "payments:overview")}


def error_remedies(code: str) -> dict:
    """{detail name: path} of the page where an error of this code is put right ({} if none)."""
    if code not in _REMEDIES:
        return {}
    name, url_name = _REMEDIES[code]
    return {name: reverse(url_name)}
