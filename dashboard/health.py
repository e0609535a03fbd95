"""Health checks for load balancers, on django-health-check: /health/live and /health/ready."""

import dataclasses

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django_q.brokers import get_broker
from django_q.status import Stat
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from dashboard.selectors import storage_state


class _BrokerCheck(HealthCheck):
    """A check that uses the task broker. Checks run in threads of their own, and the ORM broker
    opens a database connection in its thread as soon as it is made: closed after the check (as
    django-health-check's Database check closes its own), or it would stay open until that
    thread's objects happened to be collected, one more with every probe."""

    def run(self):
        try:
            self.check()
        finally:
            connections.close_all()

    def check(self):
        raise NotImplementedError


@dataclasses.dataclass
class Broker(_BrokerCheck):
    """The Q cluster's broker answers (the database for the ORM broker, or Redis)."""

    def check(self):
        try:
            broker = get_broker()
            broker.ping()
            broker.queue_size()
        except Exception as error:
            raise ServiceUnavailable("The task broker cannot be reached.") from error


@dataclasses.dataclass
class Cluster(_BrokerCheck):
    """At least one Q cluster has reported in recently (its status expires when it stops)."""

    def check(self):
        try:
            clusters = Stat.get_all()
        except Exception as error:
            raise ServiceUnavailable("The cluster status cannot be read.") from error
        if not clusters:
            raise ServiceUnavailable("No Q cluster has been seen recently.")


@dataclasses.dataclass
class MediaStorage(HealthCheck):
    """The media disk has room for uploads: at least MEDIA_MIN_FREE_MB free. (A free-bytes floor,
    not django-health-check's psutil Disk check: that one is a percentage, and only warns.)
    A bucket (MEDIA_STORAGE=s3) has no free space to watch."""

    def run(self):
        storage = storage_state()
        if storage.get("low"):  # judged by storage_state against MEDIA_MIN_FREE_MB
            free_mb = storage["free_bytes"] // 1_048_576
            raise ServiceUnavailable(
                f"Media storage is almost full: {free_mb} MB free "
                f"(at least {settings.MEDIA_MIN_FREE_MB} MB needed)."
            )


CHECK_NAMES = {
    Database: "database",
    Cache: "cache",
    Broker: "broker",
    Cluster: "cluster",
    MediaStorage: "media_storage",
}


class ReadinessView(HealthCheckView):
    """django-health-check's view with VectorCraft's checks, always answering JSON:
    {"status": "ok" | "unavailable", "checks": {"database": {"status": "ok"}, ...}}, 200 or 503.
    Messages name the part that failed, never a host, password or key."""

    checks = (Database, Cache, Broker, Cluster, MediaStorage)

    def _json(self):
        checks = {
            CHECK_NAMES.get(type(result.check), type(result.check).__name__.lower()): (
                {"status": "ok"}
                if not result.error
                else {"status": "unavailable", "message": str(result.error)}
            )
            for result in self.results
        }
        healthy = all(item["status"] == "ok" for item in checks.values())
        return JsonResponse(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status=200 if healthy else 503,
        )

    def render_to_response_json(self, status):
        return self._json()

    def render_to_response(self, context, **response_kwargs):
        return self._json()

    def render_to_response_text(self, status):
        return self._json()


@never_cache
def live(request):
    """The process answers: nothing else is checked."""
    return JsonResponse({"status": "ok"})
