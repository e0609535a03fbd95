"""Site-wide error pages: plain words for people, the error envelope for the API."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.defaults import bad_request as django_bad_request

from vectorcraft.api import error_envelope
from vectorcraft.outages import RETRY_AFTER_SECONDS, current_outage


def _envelope(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(error_envelope(code, message), status=status)


def server_error(request):
    """handler500: an outage of the database or Redis answers 503 (try again), anything else 500.

    Django calls this for any unhandled exception, in a view or a middleware, while the exception
    is still being handled, so its type can be read here. The page renders without the database.
    """
    is_api = request.path.startswith("/api/")
    if current_outage() is not None:
        message = (
            "VectorCraft is briefly unavailable. Nothing you sent was lost; "
            f"try again in {RETRY_AFTER_SECONDS} seconds."
        )
        if is_api:
            response = _envelope("service_unavailable", message, 503)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    message = "Something went wrong on our side. It has been logged; please try again."
    if is_api:
        return _envelope("server_error", message, 500)
    return HttpResponse(render_to_string("500.html", {"message": message}), status=500)


def bad_request(request, exception):
    """handler400: a request Django itself refused before any view ran (a body past
    DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields or files, a malformed request). The API answers
    with its envelope; pages keep Django's own."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _envelope(
            "request_too_large",
            "The request body is too large. Send images as multipart form data, one field each, "
            "and settings as short fields or a small JSON body.",
            413,
        )
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return _envelope(
            "too_many_fields", "The request has too many fields or files to be read.", 400
        )
    return _envelope("bad_request", "The request could not be read.", 400)
