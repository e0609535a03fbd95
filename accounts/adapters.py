"""The one place where django-allauth is customised."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # ACCOUNT_ALLOW_SIGNUPS=false closes sign-up (invite-only or maintenance).
        return settings.ACCOUNT_ALLOW_SIGNUPS

    def clean_email(self, email: str) -> str:
        # Addresses are stored lower-case, as the user model's manager stores them.
        return super().clean_email(email).strip().lower()
