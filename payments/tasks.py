from django.contrib.auth import get_user_model
from django.utils import timezone

from payments import services


def credits_monthly_top_up() -> int:
    """Q schedule, monthly: every active account is topped up to the free allowance, once a month
    (the ledger key holds the month, so a re-run in the same month changes nothing)."""
    month = timezone.now().strftime("%Y-%m")
    topped = 0
    for user in get_user_model().objects.filter(is_active=True).iterator():
        if services.credits_top_up_monthly(user=user, month=month):
            topped += 1
    return topped
