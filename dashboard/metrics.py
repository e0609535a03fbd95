"""Prometheus metrics at /metrics, for a scraper with METRICS_TOKEN or a staff login."""

import hmac
import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Sum
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from dashboard import selectors
from payments.models import CreditEntry
from vectorize.models import Vectorization

HTTP_CLASSES = ("2xx", "3xx", "4xx", "5xx")
logger = logging.getLogger(__name__)


def http_counter_key(code_class: str) -> str:
    return f"metrics:http:{code_class}"


def count_response(status_code: int) -> None:
    """Count a response by class in the shared cache, so every web process adds to one total
    (called by dashboard.middleware.ResponseCountMiddleware).

    Counting never fails a request: with the cache down, the response goes out uncounted."""
    key = http_counter_key(f"{status_code // 100}xx")
    try:
        try:
            cache.incr(key)
        except ValueError:  # the first response of its class
            cache.add(key, 0, timeout=None)
            cache.incr(key)
    except Exception:  # the cache is down: /health/ready reports that
        logger.debug("response not counted: cache unavailable")


class VectorCraftCollector:
    def collect(self):
        summary = selectors.dashboard_summary()
        jobs = GaugeMetricFamily("vectorcraft_jobs", "Vectorizations by status.", labels=["status"])
        for row in Vectorization.objects.values("status").annotate(total=Count("id")):
            jobs.add_metric([row["status"]], row["total"])
        yield jobs
        yield GaugeMetricFamily(
            "vectorcraft_queue_depth",
            "Jobs waiting for a worker.",
            value=summary["queue"]["queued"],
        )
        yield GaugeMetricFamily(
            "vectorcraft_queue_oldest_seconds",
            "Age of the oldest queued job.",
            value=summary["queue"]["oldest_queued_seconds"],
        )
        yield GaugeMetricFamily(
            "vectorcraft_clusters", "Q clusters seen recently.", value=len(summary["clusters"])
        )
        for name, key in (("queue_wait", "queue_wait_ms"), ("engine", "engine_ms")):
            gauge = GaugeMetricFamily(
                f"vectorcraft_job_{name}_seconds",
                f"Percentiles of {name.replace('_', ' ')} over recent jobs.",
                labels=["quantile"],
            )
            for label, quantile in (("0.5", "p50"), ("0.95", "p95")):
                value = summary["jobs"][key][quantile]
                if value is not None:
                    gauge.add_metric([label], value / 1000)
            yield gauge
        credits = CounterMetricFamily(
            "vectorcraft_credits", "Credits booked, by kind (absolute).", labels=["kind"]
        )
        for row in CreditEntry.objects.values("kind").annotate(total=Sum("delta")):
            credits.add_metric([row["kind"]], abs(row["total"] or 0))
        yield credits
        http = CounterMetricFamily(
            "vectorcraft_http_responses", "HTTP responses by status class.", labels=["code"]
        )
        for code_class in HTTP_CLASSES:
            http.add_metric([code_class], cache.get(http_counter_key(code_class), 0))
        yield http


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)
    return request.user.is_authenticated and request.user.is_staff


def metrics_view(request):
    if not _allowed(request):
        return HttpResponse(
            "Send 'Authorization: Bearer <METRICS_TOKEN>' or log in as staff.\n",
            status=401,
            content_type="text/plain",
        )
    registry = CollectorRegistry()
    registry.register(VectorCraftCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
