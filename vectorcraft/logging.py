"""A request id on every log line of a request, and the job id on every line of a task."""

import contextvars
import logging
import uuid

request_id = contextvars.ContextVar("request_id", default="-")
job_id = contextvars.ContextVar("job_id", default="-")


class ContextFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id.get()
        record.job_id = job_id.get()
        return True


class RequestIdMiddleware:
    """Takes X-Request-ID from the proxy (or makes one), logs with it and sends it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        value = incoming[:64] if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id.set(value)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = value
        return response
