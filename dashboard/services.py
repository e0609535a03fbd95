"""Alerts: checks run every minute by a Q schedule; staff are mailed when something degrades
(once per incident) and again when it recovers."""

import asyncio
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from paypal.standard.ipn.models import PayPalIPN

from dashboard.health import CHECK_NAMES, ReadinessView
from dashboard.models import Incident
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Vectorization

logger = logging.getLogger(__name__)
WINDOW = timedelta(minutes=15)


async def _run_checks():
    return await asyncio.gather(*(check().get_result() for check in ReadinessView.checks))


def problems_now(now=None) -> dict[str, str]:
    """What is wrong right now, by check key, in plain words (empty when all is well)."""
    now = now or timezone.now()
    problems = {}
    failing = [
        f"{CHECK_NAMES[type(result.check)]}: {result.error}"
        for result in asyncio.run(_run_checks())
        if result.error
    ]
    if failing:
        problems["not_ready"] = "Not ready: " + "; ".join(failing)
    finished = Vectorization.objects.filter(finished_at__gte=now - WINDOW).aggregate(
        total=Count("id"), failed=Count("id", filter=Q(status=Vectorization.Status.FAILED))
    )
    if finished["total"] >= settings.ALERT_MIN_JOBS:
        rate = finished["failed"] / finished["total"]
        if rate > settings.ALERT_FAILURE_RATE:
            problems["failure_rate"] = (
                f"{finished['failed']} of the last {finished['total']} jobs failed "
                f"({rate:.0%}) in {WINDOW.seconds // 60} minutes"
            )
    internal = Vectorization.objects.filter(
        finished_at__gte=now - WINDOW, error_code=VectorizeErrorCode.INTERNAL
    ).count()
    if internal:
        # Our own code raised inside a job: always worth a look, however few jobs there were.
        problems["internal_errors"] = (
            f"{internal} job{'s' if internal != 1 else ''} failed with an internal error in "
            f"{WINDOW.seconds // 60} minutes (see the log lines with their job ids)"
        )
    invalid_ipns = PayPalIPN.objects.filter(flag=True, created_at__gte=now - WINDOW).count()
    if invalid_ipns:
        # Forged, replayed or garbled payment notifications: one mail per incident, however many.
        problems["invalid_ipn"] = (
            f"{invalid_ipns} invalid PayPal IPN{'s' if invalid_ipns != 1 else ''} in "
            f"{WINDOW.seconds // 60} minutes (nothing was credited; see PayPal IPNs in the admin)"
        )
    oldest = Vectorization.objects.filter(status=Vectorization.Status.QUEUED).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    if oldest and (now - oldest).total_seconds() > settings.ALERT_QUEUE_AGE_SECONDS:
        problems["queue_stuck"] = (
            f"The oldest queued job has waited {int((now - oldest).total_seconds())} seconds"
        )
    return problems


def alerts_check(*, now=None) -> dict[str, list[str]]:
    """Open an incident (and mail) for each new problem; close (and mail) each that cleared."""
    now = now or timezone.now()
    problems = problems_now(now)
    opened, closed = [], []
    for key, summary in problems.items():
        try:
            with transaction.atomic():
                Incident.objects.create(
                    key=key, summary=summary[:300], details=summary, opened_at=now
                )
        except IntegrityError:
            continue  # already open: staff were told
        opened.append(key)
        logger.error("incident opened: %s", summary)
        mail_admins(f"Problem: {summary[:80]}", f"{summary}\n\nOpened {now:%Y-%m-%d %H:%M} UTC.")
    for incident in Incident.objects.filter(closed_at__isnull=True).exclude(key__in=problems):
        updated = Incident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(
            closed_at=now
        )
        if updated:
            closed.append(incident.key)
            logger.warning("incident closed: %s", incident.summary)
            mail_admins(
                f"Recovered: {incident.summary[:80]}",
                f"{incident.summary}\n\nOpened {incident.opened_at:%Y-%m-%d %H:%M}, "
                f"recovered {now:%Y-%m-%d %H:%M} UTC.",
            )
    return {"opened": opened, "closed": closed}
