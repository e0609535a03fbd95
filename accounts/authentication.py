"""API key authentication for Django REST framework.

Keys come in `Authorization: Api-Key <key>` or `X-API-Key: <key>`. The key's row is found by its
prefix (cached briefly, see accounts.selectors); the constant-time hash comparison is
djangorestframework-api-key's. A key is never logged.
"""

from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from accounts import selectors, services
from accounts.models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"
    key_parser = KeyParser()

    def authenticate(self, request):
        key = self.key_parser.get_from_authorization(request) or request.META.get("HTTP_X_API_KEY")
        if not key:
            return None
        try:
            api_key = selectors.api_key_from_key(key.strip())
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if api_key.has_expired or not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        services.api_key_mark_used(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a request with no credentials.
        return self.keyword
