from django.conf import settings
from django.db.models import QuerySet

from payments.models import CreditAccount, CreditEntry, CreditPack


def balance_for_user(*, user) -> int:
    account = CreditAccount.objects.filter(user=user).only("balance").first()
    return account.balance if account else 0


def price_for(*, mode: str) -> int:
    """Credits a job costs: production jobs CREDITS_PER_JOB, previews and tests nothing."""
    return settings.CREDITS_PER_JOB if mode == "production" else 0


def credit_entries_for_user(*, user) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(user=user).order_by("-created_at", "-id")


def credit_packs_available() -> QuerySet[CreditPack]:
    return CreditPack.objects.filter(active=True).order_by("sort_order", "price")
