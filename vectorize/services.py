import logging
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_q.exceptions import TimeoutException

from vectorcraft.errors import ApplicationError
from vectorize import engine
from vectorize.engine import exports
from vectorize.engine.fidelity import fidelity_report
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Vectorization, output_upload_to

logger = logging.getLogger(__name__)
Status = Vectorization.Status


def _read_upload(upload) -> bytes:
    """Read an uploaded file, refusing it by its size before reading a byte of it."""
    limit = settings.MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(
            f"The file is too large ({upload.size / 1_048_576:.1f} MB): "
            f"the limit is {limit / 1_048_576:g} MB.",
            code=VectorizeErrorCode.FILE_TOO_LARGE,
            extra={"max_bytes": limit, "bytes": upload.size},
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:  # a size the client lied about
        raise ApplicationError(
            f"The file is too large: the limit is {limit / 1_048_576:g} MB.",
            code=VectorizeErrorCode.FILE_TOO_LARGE,
            extra={"max_bytes": limit},
        )
    return data


def _clean_filename(name: str | None) -> str:
    # Only the last path part, printable and bounded: it is shown back to the user and used as
    # the download name, never as a storage path.
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>')
    return base[-200:] or "image"


def vectorization_create(
    *,
    owner,
    upload,
    preset: str = engine.AUTO,
    options: dict | None = None,
    enqueue: bool = True,
) -> Vectorization:
    """Validate an upload and its settings, store a clean PNG of it and queue the job.

    Everything is checked before anything is stored: a refused upload leaves no row and no file.
    """
    data = _read_upload(upload)
    try:
        cleaned_options = engine.validate_parameters(preset, options or {})
        image = engine.normalize_image(data, max_pixels=settings.MAX_IMAGE_PIXELS)
    except engine.InvalidParameters as error:
        raise ApplicationError(
            error.message, code=VectorizeErrorCode.INVALID_PARAMETERS, extra=error.details
        ) from error
    except engine.ImageRejected as error:
        raise ApplicationError(
            error.message,
            code=VectorizeErrorCode.INVALID_IMAGE,
            extra={"reason": error.code, **error.details},
        ) from error

    job = Vectorization(
        owner=owner,
        original_filename=_clean_filename(getattr(upload, "name", None)),
        source_format=image.source_format,
        input_bytes=len(data),
        width=image.width,
        height=image.height,
        has_alpha=image.has_alpha,
        preset=preset,
        options=cleaned_options,
    )
    job.input_file.save("input.png", ContentFile(image.png), save=False)
    try:
        job.full_clean()
        with transaction.atomic():
            job.save(force_insert=True)
            if enqueue:
                transaction.on_commit(lambda: _enqueue(job.pk))
    except BaseException:
        job.input_file.delete(save=False)  # no orphan file when the row is not written
        raise
    return job


def _enqueue(vectorization_id) -> None:
    # Imported here: tasks.py imports this module to call the services.
    from vectorize.tasks import vectorization_enqueue

    vectorization_enqueue(vectorization_id)


def vectorization_run(*, vectorization_id) -> Vectorization | None:
    """Do a queued job: trace its input and store the SVG. Safe to call again for the same job.

    A job already finished is left as it is; a job whose worker died mid-way is traced again
    until it has been tried JOB_MAX_ATTEMPTS times, then marked failed.
    """
    with transaction.atomic():
        job = Vectorization.objects.select_for_update().filter(pk=vectorization_id).first()
        if job is None:
            logger.info("vectorization %s no longer exists; nothing to do", vectorization_id)
            return None
        if job.is_finished:
            return job
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            _mark_failed(
                job,
                code=VectorizeErrorCode.GAVE_UP,
                message=(
                    f"This image could not be processed: the worker stopped {job.attempts} "
                    "times while tracing it. Try a smaller image or another preset."
                ),
            )
            return job
        job.status = Status.RUNNING
        job.attempts += 1
        job.started_at = timezone.now()
        job.save(update_fields=["status", "attempts", "started_at"])

    # The engine runs outside any transaction: no lock is held while it works.
    try:
        with job.input_file.open("rb") as stored:
            png = stored.read()
        result = engine.trace(png, preset=job.preset, overrides=job.options)
        result.metrics.update(fidelity_report(result.svg, png))
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


def _finish_succeeded(job: Vectorization, result: engine.TraceResult) -> Vectorization:
    with transaction.atomic():
        current = Vectorization.objects.select_for_update().filter(pk=job.pk).first()
        if current is None or current.status != Status.RUNNING:
            return current  # deleted or finished elsewhere meanwhile: keep what is there
        # A run that died after writing its file left it at this same name: replace it.
        output_name = output_upload_to(current, "output.svg")
        current.output_file.storage.delete(output_name)
        current.output_file.save("output.svg", ContentFile(result.svg.encode()), save=False)
        current.status = Status.SUCCEEDED
        current.used_preset = result.preset
        current.parameters = result.parameters
        current.metrics = result.metrics
        current.engine_ms = result.metrics["engine_ms"]
        current.output_bytes = result.metrics["svg_bytes"]
        current.finished_at = timezone.now()
        current.error_code = current.error_message = ""
        current.save(
            update_fields=[
                "output_file",
                "status",
                "used_preset",
                "parameters",
                "metrics",
                "engine_ms",
                "output_bytes",
                "finished_at",
                "error_code",
                "error_message",
            ]
        )
    return current


def _finish_failed(job: Vectorization, *, code: str, message: str) -> Vectorization:
    with transaction.atomic():
        current = Vectorization.objects.select_for_update().filter(pk=job.pk).first()
        if current is None or current.is_finished:
            return current
        _mark_failed(current, code=code, message=message)
    return current


def _mark_failed(job: Vectorization, *, code: str, message: str) -> None:
    logger.warning("vectorization %s failed: %s (%s)", job.pk, message, code)
    job.status = Status.FAILED
    job.error_code = str(code)
    job.error_message = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error_code", "error_message", "finished_at"])


def vectorization_export(*, vectorization: Vectorization, fmt: str) -> bytes:
    """The job's stored SVG converted to `fmt` (pdf, eps, png): no re-tracing."""
    with vectorization.output_file.open("rb") as stored:
        svg = stored.read().decode()
    return exports.export(svg, fmt, width=vectorization.width, height=vectorization.height)


def vectorization_delete(*, vectorization: Vectorization) -> None:
    """Delete a job with its stored files."""
    files = [vectorization.input_file, vectorization.output_file]
    with transaction.atomic():
        vectorization.delete()
        transaction.on_commit(lambda: [file.delete(save=False) for file in files if file])
