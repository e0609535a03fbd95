"""Running: what happens when a worker picks a job up. It is claimed, traced (in a child
process when large), and finished as succeeded or failed, each with a guarded update."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.exceptions import TimeoutException

from payments.services import (
    credits_refund_for_job,
)
from vectorcraft.db import update_returning
from vectorcraft.errors import ApplicationError
from vectorize import engine
from vectorize.cache import vectorization_forget
from vectorize.engine.fidelity import fidelity_report
from vectorize.engine.isolation import run_isolated
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Vectorization, output_upload_to
from vectorize.services.files import vectorization_file_open

logger = logging.getLogger(__name__)
Status = Vectorization.Status


def worker_time_limit() -> int:
    """How long a worker may hold a job before django-q2 stops it (past the engine's own
    JOB_TIMEOUT, so that the engine's limit comes first)."""
    return settings.Q_CLUSTER["timeout"]


def _claim(vectorization_id) -> Vectorization | None:
    """The usual case in one statement: a queued job with attempts left is marked running and
    read back. None when the job is in any other state (vectorization_run looks at it under a
    lock)."""
    claimed = update_returning(
        Vectorization.objects.filter(
            pk=vectorization_id, status=Status.QUEUED, attempts__lt=settings.JOB_MAX_ATTEMPTS
        ),
        status=Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
    )
    if not claimed:
        return None
    vectorization_forget(vectorization_id=vectorization_id)
    return claimed[0]


def vectorization_run(*, vectorization_id) -> Vectorization | None:
    """Do a queued job: trace its input and store the SVG. Safe to call again for the same job.

    A job already finished is left as it is; a job whose worker died mid-way is traced again
    until it has been tried JOB_MAX_ATTEMPTS times, then marked failed.
    """
    job = _claim(vectorization_id)
    if job is None:
        job, claimed = _claim_under_lock(vectorization_id)
        if not claimed:
            return job
    try:
        return _trace(job)
    except Exception:
        # A bug of ours or a fault of storage, not the user's image: fail the job now, with its
        # credit back, rather than leave it `running` for the reaper (which is for workers that
        # die, not for code that raises). Logged with its traceback and the job id; counted as
        # internal_error on the dashboard and by the alerts.
        logger.exception("vectorization %s raised while tracing", job.pk)
        return _finish_failed(
            job,
            code=VectorizeErrorCode.INTERNAL,
            message="Something went wrong on our side while converting this image. Your "
            "credit was given back, and our staff have been told. Try again in a little while.",
        )


def _claim_under_lock(vectorization_id) -> tuple[Vectorization | None, bool]:
    """Every case but the usual one: the job is gone, finished, running elsewhere, or out of
    attempts; or a worker died on it. (The job, whether it is marked running to be traced here.)"""
    with transaction.atomic():
        job = Vectorization.objects.select_for_update().filter(pk=vectorization_id).first()
        if job is None:
            logger.info("vectorization %s no longer exists; nothing to do", vectorization_id)
            return None, False
        if job.is_finished:
            return job, False
        if (
            job.status == Status.RUNNING
            and job.started_at
            and job.started_at > timezone.now() - timedelta(seconds=worker_time_limit())
        ):
            # A second message for a job another worker is tracing now (a re-send crossed the
            # first): leave it to that worker. If that worker died, the reaper takes over.
            logger.info("vectorization %s is running elsewhere; not tracing it twice", job.pk)
            return job, False
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            mark_failed(
                job,
                code=VectorizeErrorCode.GAVE_UP,
                message=(
                    f"This image could not be processed: the worker stopped {job.attempts} "
                    "times while tracing it. Try a smaller image or another preset."
                ),
            )
            return job, False
        job.status = Status.RUNNING
        job.attempts += 1
        job.started_at = timezone.now()
        job.save(update_fields=["status", "attempts", "started_at"])
        vectorization_forget(vectorization_id=job.pk)
    return job, True


def _trace(job: Vectorization) -> Vectorization:
    # The engine runs outside any transaction: no lock is held while it works.
    try:
        with vectorization_file_open(vectorization=job, field="input_file") as stored:
            png = stored.read()
    except ApplicationError as error:
        return _finish_failed(job, code=error.code, message=error.message)
    try:
        result = _engine_run(job, png)
    except engine.TraceTimedOut as error:
        # Stopped at the limit, and not tried again: a second run would only take as long.
        return _finish_failed(job, code=VectorizeErrorCode.TIMED_OUT, message=error.message)
    except engine.EngineError as error:
        return _finish_failed(job, code=VectorizeErrorCode.TRACE_FAILED, message=error.message)
    except TimeoutException:
        return _finish_failed(
            job,
            code=VectorizeErrorCode.TIMED_OUT,
            message=f"Tracing took longer than the {settings.JOB_TIMEOUT}-second limit. "
            "Try a smaller image or a simpler preset.",
        )
    return _finish_succeeded(job, result)


def _traced_with_report(png: bytes, preset: str, options: dict) -> engine.TraceResult:
    result = engine.trace(png, preset=preset, overrides=options)
    result.metrics.update(fidelity_report(result.svg, png))
    return result


def _engine_run(job: Vectorization, png: bytes) -> engine.TraceResult:
    """The engine on a job's input. A large image runs in a child process stopped at
    JOB_TIMEOUT (vtracer cannot be interrupted in this one); a small one, which always finishes
    well within it, runs here and saves the child's start-up."""
    if job.width * job.height <= settings.ISOLATE_ABOVE_PIXELS:
        return _traced_with_report(png, job.preset, job.options)
    return run_isolated(
        _traced_with_report, png, job.preset, job.options, timeout=settings.JOB_TIMEOUT
    )


def _finish_succeeded(job: Vectorization, result: engine.TraceResult) -> Vectorization | None:
    """Record a traced job's result with one guarded update, which only a job still running
    takes: no transaction, no row lock. The SVG is written first, at the job's fixed name (over
    what a run that died after writing left there). A job deleted or finished otherwise
    meanwhile keeps what it has, and the file written here goes with it; a job queued or
    running again is left its file, which its next run writes over."""
    storage = job.output_file.storage
    name = storage.save(output_upload_to(job, "output.svg"), ContentFile(result.svg.encode()))
    fields = {
        "output_file": name,
        "status": Status.SUCCEEDED,
        "used_preset": result.preset,
        "parameters": result.parameters,
        "metrics": result.metrics,
        "engine_ms": result.metrics["engine_ms"],
        "output_bytes": result.metrics["svg_bytes"],
        "finished_at": timezone.now(),
        "error_code": "",
        "error_message": "",
    }
    if Vectorization.objects.filter(pk=job.pk, status=Status.RUNNING).update(**fields):
        vectorization_forget(vectorization_id=job.pk)
        for field, value in fields.items():
            setattr(job, field, value)
        return job
    current = Vectorization.objects.filter(pk=job.pk).first()
    if current is None or (current.is_finished and current.output_file.name != name):
        storage.delete(name)
    return current


def _finish_failed(job: Vectorization, *, code: str, message: str) -> Vectorization:
    with transaction.atomic():
        current = Vectorization.objects.select_for_update().filter(pk=job.pk).first()
        if current is None or current.is_finished:
            return current
        mark_failed(current, code=code, message=message)
    return current


def mark_failed(job: Vectorization, *, code: str, message: str) -> None:
    """Fail a job and give back its credits (once: the refund has its own ledger key)."""
    logger.warning("vectorization %s failed: %s (%s)", job.pk, message, code)
    job.status = Status.FAILED
    job.error_code = str(code)
    job.error_message = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error_code", "error_message", "finished_at"])
    vectorization_forget(vectorization_id=job.pk)
    credits_refund_for_job(job=job)
