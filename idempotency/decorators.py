"""Idempotency-Key for API POSTs: the first response is kept for 24 hours and replayed.

The same key with the same request gets the stored response (no second job, no second charge);
the same key with a different request is refused (422); a duplicate that arrives while the first
is still being handled is refused (409).
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from idempotency.models import IdempotentRequest
from vectorcraft.api import error_response

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def request_fingerprint(request) -> str:
    """A digest of what the request asks for: path, query, fields and file contents. (The raw
    multipart body would differ between two sends of the same request by its boundary.)"""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(json.dumps(sorted(request.query_params.lists()), default=str).encode())
    data = request.data
    if hasattr(data, "lists"):  # form data: a QueryDict, which holds the files too
        fields = sorted((key, values) for key, values in data.lists() if key not in request.FILES)
    else:
        fields = data
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            upload.seek(0)
            digest.update(f"{name}:{upload.name}:".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


# Headers of the first answer that say what it did: a replay carries them unchanged.
REPLAYED_HEADERS = ("X-Credits-Charged", "X-Credits-Remaining", "X-Wait-Skipped")


def _replay(record: IdempotentRequest) -> Response:
    response = Response(record.body, status=record.status_code)
    if record.location:
        response["Location"] = record.location
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view_method):
    """Decorate an APIView's post() to honour the Idempotency-Key header."""

    @wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return view_method(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            return error_response(
                "invalid_idempotency_key",
                f"{HEADER} must be at most {MAX_KEY_LENGTH} characters.",
                status_code=400,
            )
        fingerprint = request_fingerprint(request)
        expired = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        IdempotentRequest.objects.filter(
            owner=request.user, key=key, created_at__lt=expired
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    owner=request.user, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            existing = IdempotentRequest.objects.filter(owner=request.user, key=key).first()
            if existing is None:  # expired and removed between the two queries
                return wrapper(view, request, *args, **kwargs)
            if existing.fingerprint != fingerprint:
                return error_response(
                    "idempotency_key_reused",
                    f"This {HEADER} was already used for a different request.",
                    status_code=422,
                )
            if existing.state == IdempotentRequest.State.IN_PROGRESS:
                return error_response(
                    "request_in_progress",
                    f"A request with this {HEADER} is still being handled; retry shortly.",
                    status_code=409,
                )
            return _replay(existing)

        try:
            response = view_method(view, request, *args, **kwargs)
        except BaseException:
            record.delete()  # a refused or failed request can be retried with the same key
            raise
        if response.status_code >= 500:
            record.delete()
            return response
        record.state = IdempotentRequest.State.DONE
        record.status_code = response.status_code
        # Stored as the JSON the client got (UUIDs and dates as text).
        record.body = json.loads(json.dumps(response.data, cls=JSONEncoder))
        record.location = response.get("Location", "")
        record.headers = {name: response[name] for name in REPLAYED_HEADERS if name in response}
        record.save(update_fields=["state", "status_code", "body", "location", "headers"])
        return response

    return wrapper
