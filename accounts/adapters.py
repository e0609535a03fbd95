"""The one place where django-allauth is customised."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from payments.services import credits_grant_signup


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # ACCOUNT_ALLOW_SIGNUPS=false closes sign-up (invite-only or maintenance).
        return settings.ACCOUNT_ALLOW_SIGNUPS

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            credits_grant_signup(user=user)
        return user

    def clean_email(self, email: str) -> str:
        # Addresses are stored lower-case, as the user model's manager stores them.
        return super().clean_email(email).strip().lower()
