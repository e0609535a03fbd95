"""The one error type that services raise. Views and the API turn it into a message or envelope."""

from enum import StrEnum


class ApplicationError(Exception):
    def __init__(self, message: str, code: StrEnum | str = "error", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = str(code)
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.message
