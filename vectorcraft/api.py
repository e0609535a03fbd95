"""The API's one error envelope: {"error": {"code", "message", "details"}}, from one handler."""

import zlib

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from vectorcraft.errors import ApplicationError, error_remedies


class ErrorEnvelopeSerializer(serializers.Serializer):
    """{"error": {"code": "...", "message": "...", "details": {...}}}"""

    class ErrorSerializer(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        details = serializers.DictField()

    error = ErrorSerializer()


# Service error codes that are not a plain 400.
STATUS_BY_CODE = {
    "insufficient_credits": status.HTTP_402_PAYMENT_REQUIRED,
    "pack_not_available": status.HTTP_404_NOT_FOUND,
    "files_deleted": status.HTTP_410_GONE,
    "file_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "too_complex": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "too_many_jobs": status.HTTP_429_TOO_MANY_REQUESTS,
    "free_limit_reached": status.HTTP_429_TOO_MANY_REQUESTS,
    "storage_full": status.HTTP_507_INSUFFICIENT_STORAGE,
}


def error_envelope(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(code: str, message: str, details: dict | None = None, *, status_code: int):
    return Response(error_envelope(code, message, details), status=status_code)


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        status_code = STATUS_BY_CODE.get(exc.code, status.HTTP_400_BAD_REQUEST)
        build_uri = context["request"].build_absolute_uri
        pages = {name: build_uri(path) for name, path in error_remedies(exc.code).items()}
        details = {**exc.extra, **pages}
        return error_response(exc.code, exc.message, details, status_code=status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling and logging take over
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        envelope = error_response(
            "invalid", "The request has invalid fields.", details, status_code=response.status_code
        )
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        message = str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
        envelope = error_response(
            code if isinstance(code, str) else "error", message, status_code=response.status_code
        )
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            envelope[header] = response[header]
    return envelope


class _UserThrottle(UserRateThrottle):
    """DRF's per-user throttle, counted in fixed windows: one atomic increment in the shared cache
    per request, where DRF's own kind reads and rewrites the list of every request in the window.
    Each user's windows are shifted by an offset of their own, so they do not all reopen at once.
    """

    def get_rate(self):
        # Read when used, not when the class is defined, so a settings change applies.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        offset = zlib.crc32(self.key.encode()) % self.duration
        self.now = self.timer()
        window = int((self.now + offset) // self.duration)
        self.window_ends_at = (window + 1) * self.duration - offset
        key = f"{self.key}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first request
            count = 1 if self.cache.add(key, 1, self.duration) else self.cache.incr(key)
        return count <= self.num_requests

    def wait(self):
        return self.window_ends_at - self.now


class SubmitThrottle(_UserThrottle):
    """Writes (job submissions, re-runs, deletions), per user (all of a user's keys together)."""

    scope = "submit"


class ReadThrottle(_UserThrottle):
    scope = "read"


class ApiView(APIView):
    """Base of every /api/v1/ view: separate rate limits for reads and writes."""

    def get_throttles(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [ReadThrottle()]
        return [SubmitThrottle()]


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def api_not_found(request, *args, **kwargs):
    return error_response(
        "not_found", "There is no such API endpoint.", status_code=status.HTTP_404_NOT_FOUND
    )
