from enum import StrEnum


class AccountsErrorCode(StrEnum):
    INVALID_NAME = "invalid_name"
    TOO_MANY_KEYS = "too_many_keys"
