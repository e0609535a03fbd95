from enum import StrEnum


class PaymentsErrorCode(StrEnum):
    INSUFFICIENT_CREDITS = "insufficient_credits"
    PACK_NOT_AVAILABLE = "pack_not_available"
    INVALID_AMOUNT = "invalid_amount"
