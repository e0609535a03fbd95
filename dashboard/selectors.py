"""Figures for the staff dashboard and /metrics, read from the database, the cluster and disk."""

import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path
from statistics import quantiles

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django_q.status import Stat

from dashboard import cache as summary_cache
from payments.models import CreditEntry, Order
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Vectorization

SAMPLE = 2000  # recent jobs the percentiles are computed over

Status = Vectorization.Status


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None}
    if len(values) == 1:  # quantiles() needs two
        p50 = p95 = values[0]
    else:
        cuts = quantiles(values, n=100, method="inclusive")
        p50, p95 = cuts[49], cuts[94]
    return {"p50": round(p50), "p95": round(p95)}


def queue_state(now) -> dict:
    queued = Vectorization.objects.filter(status=Status.QUEUED)
    oldest = queued.aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "queued": queued.count(),
        "running": Vectorization.objects.filter(status=Status.RUNNING).count(),
        "oldest_queued_seconds": round((now - oldest).total_seconds()) if oldest else 0,
    }


def cluster_state() -> list[dict]:
    try:
        stats = Stat.get_all()
    except Exception:  # the broker may be down; the health section says so
        return []
    return [
        {
            "name": stat.cluster_id,
            "host": stat.host,
            "status": stat.status,
            "workers": len(stat.workers),
            "uptime_seconds": round(stat.uptime()),
            "reincarnations": stat.reincarnations,
        }
        for stat in stats
    ]


def storage_state() -> dict:
    if settings.MEDIA_STORAGE == "s3":
        return {"bucket": settings.S3_BUCKET}  # a bucket has no free space to watch
    folder = Path(settings.MEDIA_ROOT)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # before the first upload, the disk it will be on
    usage = shutil.disk_usage(folder)
    return {
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "low": usage.free < settings.MEDIA_MIN_FREE_MB * 1_048_576,
    }


def job_stats(now) -> dict:
    day_ago, month_ago = now - timedelta(hours=24), now - timedelta(days=30)
    recent = Vectorization.objects.filter(created_at__gte=day_ago)
    totals = recent.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status=Status.SUCCEEDED)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        internal_errors=Count("id", filter=Q(error_code=VectorizeErrorCode.INTERNAL)),
    )
    finished = totals["succeeded"] + totals["failed"]
    sample = list(
        Vectorization.objects.filter(status=Status.SUCCEEDED, started_at__isnull=False)
        .order_by("-created_at")
        .values("created_at", "started_at", "engine_ms")[:SAMPLE]
    )
    waits = [(row["started_at"] - row["created_at"]).total_seconds() * 1000 for row in sample]
    engine = [row["engine_ms"] for row in sample if row["engine_ms"] is not None]
    per_hour = {
        row["hour"]: row["jobs"]
        for row in recent.annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(jobs=Count("id"))
    }
    per_day = {
        row["day"]: row["jobs"]
        for row in Vectorization.objects.filter(created_at__gte=month_ago)
        .annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(jobs=Count("id"))
    }
    failures = Counter(
        Vectorization.objects.filter(status=Status.FAILED, created_at__gte=month_ago).values_list(
            "error_code", flat=True
        )
    )
    return {
        **totals,
        "last_minute": Vectorization.objects.filter(
            created_at__gte=now - timedelta(minutes=1)
        ).count(),
        "failure_rate": round(totals["failed"] / finished, 3) if finished else 0.0,
        "queue_wait_ms": _percentiles(waits),
        "engine_ms": _percentiles(engine),
        "per_hour": _series(per_hour, now, hours=24),
        "per_day": _series(per_day, now, days=30),
        "top_failures": failures.most_common(5),
        "biggest_inputs": list(
            Vectorization.objects.filter(created_at__gte=now - timedelta(days=7))
            .order_by("-input_bytes")
            .values("id", "original_filename", "input_bytes", "width", "height", "status")[:5]
        ),
        "last_error": Vectorization.objects.filter(status=Status.FAILED)
        .order_by("-finished_at")
        .values("id", "error_code", "error_message", "finished_at")
        .first(),
    }


def _series(counts: dict, now, *, hours: int = 0, days: int = 0) -> list[tuple[str, float]]:
    """A full series (zeros included) for the last `hours` hours or `days` days, oldest first."""
    points = []
    if hours:
        top = now.replace(minute=0, second=0, microsecond=0)
        for back in range(hours - 1, -1, -1):
            moment = top - timedelta(hours=back)
            points.append((moment.strftime("%H:00"), counts.get(moment, 0)))
    else:
        top = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for back in range(days - 1, -1, -1):
            moment = top - timedelta(days=back)
            points.append((moment.strftime("%m-%d"), counts.get(moment, 0)))
    return points


def business_stats(now) -> dict:
    month_ago = now - timedelta(days=30)
    credits = dict(
        CreditEntry.objects.filter(created_at__gte=month_ago)
        .values_list("kind")
        .annotate(total=Sum("delta"))
    )
    revenue = {}
    for row in (
        Order.objects.filter(status=Order.Status.PAID, paid_at__gte=month_ago)
        .annotate(day=TruncDay("paid_at"))
        .values("day", "currency")
        .annotate(amount=Sum("amount"))
    ):
        revenue.setdefault(row["currency"], {})[row["day"]] = float(row["amount"])
    signups = {
        row["day"]: row["users"]
        for row in get_user_model()
        .objects.filter(date_joined__gte=month_ago)
        .annotate(day=TruncDay("date_joined"))
        .values("day")
        .annotate(users=Count("id"))
    }
    return {
        "credits_sold": credits.get(CreditEntry.Kind.PURCHASE, 0),
        "credits_used": -credits.get(CreditEntry.Kind.JOB, 0),
        "credits_refunded": credits.get(CreditEntry.Kind.JOB_REFUND, 0),
        "signups": sum(signups.values()),
        "signups_per_day": _series(signups, now, days=30),
        "revenue_per_day": {
            currency: _series(days_, now, days=30) for currency, days_ in revenue.items()
        },
        "revenue_total": {currency: sum(days_.values()) for currency, days_ in revenue.items()},
        "last_paid_order": Order.objects.filter(status=Order.Status.PAID).aggregate(
            last=Max("paid_at")
        )["last"],
    }


def dashboard_summary(*, fresh: bool = False) -> dict:
    """Everything the dashboard shows, kept a while by dashboard/cache.py so opening it is cheap."""
    if not fresh:
        cached = summary_cache.summary_cached()
        if cached is not None:
            return cached
    now = timezone.now()
    summary = {
        "generated_at": now,
        "queue": queue_state(now),
        "clusters": cluster_state(),
        "storage": storage_state(),
        "jobs": job_stats(now),
        "business": business_stats(now),
    }
    summary_cache.summary_store(summary)
    return summary
