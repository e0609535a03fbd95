from dashboard.metrics import count_response


class ResponseCountMiddleware:
    """Counts responses by status class for /metrics (in the shared cache)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        count_response(response.status_code)
        return response
