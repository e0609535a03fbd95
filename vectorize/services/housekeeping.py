"""Housekeeping, on Q schedules and for staff: the reaper for jobs nobody is finishing, file
retention, and sending a job through the queue again."""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from vectorize.cache import vectorization_forget, vectorizations_forget
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Vectorization
from vectorize.services.queue import enqueue as _enqueue
from vectorize.services.running import mark_failed as _mark_failed
from vectorize.services.running import worker_time_limit as _worker_time_limit

logger = logging.getLogger(__name__)
Status = Vectorization.Status


def vectorizations_reap(*, now=None) -> dict:
    """Jobs nobody is finishing: a job `running` past the time limit (its worker was killed) goes
    back to the queue, or fails with a refund once it has used its attempts; a job `queued` for
    longer than REAPER_QUEUED_SECONDS (its message was lost) is queued again. Each change is a
    guarded update, so two reapers never act on the same job twice."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.REAPER_GRACE_SECONDS)
    running_limit = now - timedelta(seconds=_worker_time_limit()) - grace
    queued_limit = now - timedelta(seconds=settings.REAPER_QUEUED_SECONDS)
    counts = {"requeued": 0, "failed": 0}

    stuck = Vectorization.objects.filter(status=Status.RUNNING, started_at__lt=running_limit)
    for job in stuck:
        with transaction.atomic():
            current = Vectorization.objects.select_for_update().filter(pk=job.pk).first()
            if (
                current is None
                or current.status != Status.RUNNING
                or current.started_at != job.started_at
            ):
                continue  # finished or taken over meanwhile
            if current.attempts >= settings.JOB_MAX_ATTEMPTS:
                _mark_failed(
                    current,
                    code=VectorizeErrorCode.GAVE_UP,
                    message="This image could not be processed: the worker stopped while "
                    "tracing it. Your credit was given back.",
                )
                counts["failed"] += 1
            else:
                current.status = Status.QUEUED
                current.enqueued_at = now
                current.save(update_fields=["status", "enqueued_at"])
                vectorization_forget(vectorization_id=current.pk)
                transaction.on_commit(partial(_enqueue, current.pk, mode=current.mode))
                counts["requeued"] += 1
            logger.warning("reaper took over vectorization %s (was running)", current.pk)

    lost = Vectorization.objects.filter(status=Status.QUEUED).filter(
        Q(enqueued_at__lt=queued_limit) | Q(enqueued_at__isnull=True, created_at__lt=queued_limit)
    )
    for job in lost:
        # Claim the re-send by moving enqueued_at: a concurrent reaper's update matches nothing.
        claimed = Vectorization.objects.filter(
            pk=job.pk, status=Status.QUEUED, enqueued_at=job.enqueued_at
        ).update(enqueued_at=now)
        if claimed:
            _enqueue(job.pk, mode=job.mode)
            counts["requeued"] += 1
            logger.warning("reaper queued vectorization %s again (message lost)", job.pk)
    return counts


def vectorizations_expire_files(*, now=None) -> int:
    """Delete uploads and results older than RETENTION_DAYS; the rows keep their metrics."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RETENTION_DAYS)
    expired = []
    for job in Vectorization.objects.filter(created_at__lt=cutoff, files_deleted_at__isnull=True):
        files = [file for file in (job.input_file, job.output_file) if file]
        Vectorization.objects.filter(pk=job.pk).update(
            input_file="", output_file="", files_deleted_at=now
        )
        for file in files:
            file.delete(save=False)
        expired.append(job.pk)
    vectorizations_forget(vectorization_ids=expired)  # the API stops linking the files at once
    if expired:
        logger.info("retention deleted the files of %s vectorizations", len(expired))
    return len(expired)


def vectorization_requeue(*, vectorization: Vectorization) -> bool:
    """Staff: send a failed or stuck job through the queue again (no new charge)."""
    if not vectorization.input_file:
        return False
    with transaction.atomic():
        updated = (
            Vectorization.objects.filter(pk=vectorization.pk)
            .exclude(status=Status.SUCCEEDED)
            .update(
                status=Status.QUEUED,
                attempts=0,
                error_code="",
                error_message="",
                finished_at=None,
                enqueued_at=timezone.now(),
            )
        )
        if updated:
            vectorization_forget(vectorization_id=vectorization.pk)
            transaction.on_commit(lambda: _enqueue(vectorization.pk, mode=vectorization.mode))
    return bool(updated)
