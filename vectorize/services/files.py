"""Files: a job's stored input and SVG, opened, exported or deleted with the job."""

import logging

from django.conf import settings
from django.db import transaction

from payments.services import (
    credits_refund_for_job,
)
from vectorcraft.errors import ApplicationError
from vectorize.cache import vectorization_forget, vectorizations_forget
from vectorize.engine import exports
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Vectorization

logger = logging.getLogger(__name__)
Status = Vectorization.Status


FILE_LABELS = {"input_file": "uploaded image", "output_file": "SVG"}


def vectorization_file_open(*, vectorization: Vectorization, field: str):
    """One of a job's stored files (`input_file` or `output_file`), open for reading.

    Raises files_deleted when it is gone: removed by retention, or lost from storage (a bucket
    restored without it, say). The row and its figures stay either way.
    """
    label = FILE_LABELS[field]
    if vectorization.files_deleted_at:
        raise ApplicationError(
            f"The {label} of this vectorization was deleted on "
            f"{vectorization.files_deleted_at:%Y-%m-%d}, {settings.RETENTION_DAYS} days after "
            "upload. Upload the image again to trace it.",
            code=VectorizeErrorCode.FILES_DELETED,
        )
    file = getattr(vectorization, field)
    if file:
        try:
            return file.open("rb")
        except FileNotFoundError:
            pass
    logger.error(
        "vectorization %s: its %s %r is missing from storage", vectorization.pk, label, file.name
    )
    raise ApplicationError(
        f"The {label} of this vectorization is missing from storage. Upload the image again to "
        "trace it.",
        code=VectorizeErrorCode.FILES_DELETED,
    )


def vectorization_export(*, vectorization: Vectorization, fmt: str) -> bytes:
    """The job's stored SVG converted to `fmt` (pdf, eps, png): no re-tracing."""
    with vectorization_file_open(vectorization=vectorization, field="output_file") as stored:
        svg = stored.read().decode()
    return exports.export(svg, fmt, width=vectorization.width, height=vectorization.height)


def vectorization_delete(*, vectorization: Vectorization) -> None:
    """Delete a job with its stored files. A job still queued never ran: its credit comes back."""
    files = [vectorization.input_file, vectorization.output_file]
    with transaction.atomic():
        # Locked: a worker's claim (a guarded update from queued) waits for this, or has
        # already made the job running, and then it is no longer refunded.
        current = Vectorization.objects.select_for_update().filter(pk=vectorization.pk).first()
        if current is not None and current.status == Status.QUEUED:
            credits_refund_for_job(job=current, reason="deleted before it ran")
        vectorization_forget(vectorization_id=vectorization.pk)
        vectorization.delete()
        transaction.on_commit(lambda: [file.delete(save=False) for file in files if file])


def vectorizations_delete_for_owner(*, owner) -> int:
    """Delete every job of an account with its files (the account is being deleted). Runs in
    the caller's transaction; the files go once it commits. Returns how many jobs went."""
    files = []
    with transaction.atomic():
        jobs = list(Vectorization.objects.filter(owner=owner))
        for job in jobs:
            files.extend(file for file in (job.input_file, job.output_file) if file)
        vectorizations_forget(vectorization_ids=[job.pk for job in jobs])
        Vectorization.objects.filter(owner=owner).delete()
        transaction.on_commit(lambda: [file.delete(save=False) for file in files])
    return len(jobs)
