"""The one place where django-allauth is customised."""

import secrets

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth.hashers import make_password

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

    def respond_email_verification_sent(self, request, user):
        # Sign-up with a registered address comes here with no user, having created nothing: a
        # new address's sign-up hashed its password first, and would take ten times as long,
        # telling anyone who times it that the address has an account. The same hashing work
        # here makes the two alike (Django's ModelBackend does likewise for unknown logins).
        if user is None:
            make_password(secrets.token_urlsafe(16))
        return super().respond_email_verification_sent(request, user)
