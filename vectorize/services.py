import contextlib
import errno
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.exceptions import TimeoutException

from payments.errors import PaymentsErrorCode
from payments.selectors import balance_for_user, price_for
from payments.services import (
    credit_account_lock,
    credits_debit_for_job,
    credits_refund_for_job,
)
from vectorcraft.db import update_returning
from vectorcraft.errors import ApplicationError
from vectorize import engine
from vectorize.engine import exports
from vectorize.engine.cost import estimate_seconds
from vectorize.engine.fidelity import fidelity_report
from vectorize.engine.isolation import run_isolated
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Batch, Vectorization, input_upload_to, output_upload_to
from vectorize.selectors import vectorization_forget, vectorizations_forget

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


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check, ready to be stored."""

    filename: str
    input_bytes: int
    image: engine.NormalizedImage
    preset: str
    options: dict


def _check_settings(preset: str, options: dict | None) -> dict:
    try:
        return engine.validate_parameters(preset, options or {})
    except engine.InvalidParameters as error:
        raise ApplicationError(
            error.message, code=VectorizeErrorCode.INVALID_PARAMETERS, extra=error.details
        ) from error


def _check_cost(image: engine.NormalizedImage, preset: str, options: dict) -> None:
    """Refuse, before anything is stored or charged, an image that would not finish within
    JOB_TIMEOUT. Small images always do; only large ones are estimated (a sample trace)."""
    if image.pixels <= settings.ISOLATE_ABOVE_PIXELS:
        return
    seconds = estimate_seconds(image.png, preset=preset, overrides=options)
    if seconds <= settings.JOB_TIMEOUT:
        return
    raise ApplicationError(
        f"This image is too detailed to convert within our time limit: tracing it would take "
        f"about {_duration(seconds)}, and the limit is {_duration(settings.JOB_TIMEOUT)}. "
        "Try a smaller copy of it, or the Poster or Logo preset with fewer colours. "
        "Nothing was charged.",
        code=VectorizeErrorCode.TOO_COMPLEX,
        extra={"estimated_seconds": round(seconds), "limit_seconds": settings.JOB_TIMEOUT},
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} seconds"
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def vectorization_check(
    *,
    upload,
    preset: str = engine.AUTO,
    options: dict | None = None,
    mode: str = Vectorization.Mode.PRODUCTION,
):
    """Every check an upload must pass, with nothing stored: a CheckedUpload or ApplicationError.

    A preview is scaled down here, so what is estimated is what will be traced."""
    data = _read_upload(upload)
    cleaned_options = _check_settings(preset, options)
    try:
        image = engine.normalize_image(data, max_pixels=settings.MAX_IMAGE_PIXELS)
    except engine.ImageRejected as error:
        raise ApplicationError(
            error.message,
            code=VectorizeErrorCode.INVALID_IMAGE,
            extra={"reason": error.code, **error.details},
        ) from error
    if mode == Vectorization.Mode.PREVIEW:
        image = engine.downscale(image, max_pixels=settings.PREVIEW_MAX_PIXELS)
    _check_cost(image, preset, cleaned_options)
    return CheckedUpload(
        filename=_clean_filename(getattr(upload, "name", None)),
        input_bytes=len(data),
        image=image,
        preset=preset,
        options=cleaned_options,
    )


def _store(
    *,
    owner,
    checked: CheckedUpload,
    mode: str,
    batch=None,
    rerun_of=None,
    enqueue: bool,
    charge: bool = True,
    fair_use_checked: bool = False,
) -> Vectorization:
    image = checked.image
    cost = price_for(mode=mode) if charge else 0
    # Fair use is for what users start themselves; staff tools (charge=False) and a batch
    # (checked as a whole) pass it by.
    check_fair_use = charge and not fair_use_checked
    job = Vectorization(
        owner=owner,
        batch=batch,
        rerun_of=rerun_of,
        mode=mode,
        original_filename=checked.filename,
        source_format=image.source_format,
        input_bytes=checked.input_bytes,
        width=image.width,
        height=image.height,
        has_alpha=image.has_alpha,
        preset=checked.preset,
        options=checked.options,
    )
    _save_input(job, image.png)
    try:
        # The owner, batch and original job are rows passed in, and the id is a new UUID: the
        # checks that would query for them are left to the database's constraints.
        job.full_clean(exclude=["owner", "batch", "rerun_of"], validate_unique=False)
        with transaction.atomic():
            if check_fair_use and not cost:
                _check_fair_use(owner=owner, mode=mode)
            if enqueue:
                # Stamped with the write that queues the job, before the message is sent (after
                # the commit): a fast worker may start it before this request returns.
                job.enqueued_at = timezone.now()
            job.save(force_insert=True)
            if charge:
                # Charged in the same transaction as the job: no job without its debit.
                entry = credits_debit_for_job(job=job, cost=cost)
                job.balance_after = entry.balance_after if entry else None
            if check_fair_use and cost:
                # After the debit, whose UPDATE holds the credit account's row until commit:
                # the same account's requests are counted one after the other, with no extra
                # lock to take. The count includes this job.
                _check_fair_use(owner=owner, mode=mode, adding=0, locked=True)
            if enqueue:
                transaction.on_commit(lambda: _enqueue(job.pk, mode=job.mode))
    except BaseException:
        job.input_file.delete(save=False)  # no orphan file when the row is not written
        raise
    return job


def _save_input(job: Vectorization, png: bytes) -> None:
    """Write the job's input; a full disk leaves nothing behind and is refused in plain words."""
    storage = job.input_file.storage
    name = input_upload_to(job, "input.png")
    try:
        job.input_file.name = storage.save(name, ContentFile(png))
    except OSError as error:
        # The storage writes in place: a write cut short by a full disk leaves a partial file.
        with contextlib.suppress(OSError):
            storage.delete(name)
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        logger.error("media storage is full: upload of %s bytes refused", len(png))
        raise ApplicationError(
            "We are out of storage space for uploads just now, so the image was not accepted. "
            "Nothing was charged; please try again in a few minutes.",
            code=VectorizeErrorCode.STORAGE_FULL,
        ) from error


def _check_fair_use(*, owner, mode: str, adding: int = 1, locked: bool = False) -> None:
    """Caps per account, checked in the transaction that adds the jobs, with the owner's credit
    account locked so that two requests of one account are counted one after the other: jobs
    queued or running at once, and free jobs in 24 hours."""
    if not locked:
        credit_account_lock(user=owner)
    in_flight = Vectorization.objects.filter(
        owner=owner, status__in=[Status.QUEUED, Status.RUNNING]
    ).count()
    if in_flight + adding > settings.MAX_JOBS_IN_FLIGHT:
        raise ApplicationError(
            f"You have {in_flight} conversions waiting or running; at most "
            f"{settings.MAX_JOBS_IN_FLIGHT} can be at once. Send more when some have finished.",
            code=VectorizeErrorCode.TOO_MANY_JOBS,
            extra={"in_flight": in_flight, "limit": settings.MAX_JOBS_IN_FLIGHT},
        )
    if price_for(mode=mode) > 0:
        return
    free_today = Vectorization.objects.filter(
        owner=owner,
        created_at__gte=timezone.now() - timedelta(hours=24),
        mode=Vectorization.Mode.PREVIEW,
    ).count()
    if free_today + adding > settings.FREE_JOBS_PER_DAY:
        raise ApplicationError(
            f"You have used your {settings.FREE_JOBS_PER_DAY} free previews for the last 24 "
            "hours. Convert at full size (1 credit each), or preview again tomorrow.",
            code=VectorizeErrorCode.FREE_LIMIT_REACHED,
            extra={"used": free_today, "limit": settings.FREE_JOBS_PER_DAY},
        )


def vectorization_create(
    *,
    owner,
    upload,
    preset: str = engine.AUTO,
    options: dict | None = None,
    mode: str = Vectorization.Mode.PRODUCTION,
    enqueue: bool = True,
    charge: bool = True,
) -> Vectorization:
    """Validate an upload and its settings, store a clean PNG of it, charge it and queue it.

    Everything is checked before anything is stored: a refused upload leaves no row and no file,
    and costs nothing. `charge=False` is for staff tools (the `vectorize` command).
    """
    checked = vectorization_check(upload=upload, preset=preset, options=options, mode=mode)
    return _store(owner=owner, checked=checked, mode=mode, enqueue=enqueue, charge=charge)


def batch_create(
    *,
    owner,
    uploads: list,
    preset: str = engine.AUTO,
    options: dict | None = None,
    mode: str = Vectorization.Mode.PRODUCTION,
) -> Batch:
    """Several uploads as one batch: all are checked first, and one bad file refuses the batch."""
    if not uploads:
        raise ApplicationError("Send at least one image.", code=VectorizeErrorCode.INVALID_IMAGE)
    if len(uploads) > settings.MAX_BATCH_FILES:
        raise ApplicationError(
            f"A batch holds at most {settings.MAX_BATCH_FILES} images.",
            code=VectorizeErrorCode.BATCH_TOO_LARGE,
        )
    checked, problems = [], {}
    for index, upload in enumerate(uploads):
        try:
            checked.append(
                vectorization_check(upload=upload, preset=preset, options=options, mode=mode)
            )
        except ApplicationError as error:
            problems[f"images[{index}]"] = {"code": error.code, "message": error.message}
    if problems:
        raise ApplicationError(
            "Some images were refused; nothing was queued.",
            code=VectorizeErrorCode.INVALID_IMAGE,
            extra=problems,
        )
    stored = []
    try:
        with transaction.atomic():
            # The whole batch is weighed before any of it is stored: its cost against the
            # balance as it is now (not as the batch's own first debits leave it), and its size
            # against the caps.
            _check_fair_use(owner=owner, mode=mode, adding=len(checked))
            needed = price_for(mode=mode) * len(checked)
            balance = balance_for_user(user=owner)
            if needed > balance:
                raise ApplicationError(
                    f"Not enough credits: these {len(checked)} images need {needed} and you "
                    f"have {balance}. Buy credits, or send fewer images.",
                    code=PaymentsErrorCode.INSUFFICIENT_CREDITS,
                    extra={"needed": needed, "balance": balance},
                )
            batch = Batch.objects.create(owner=owner)
            for item in checked:
                stored.append(
                    _store(
                        owner=owner,
                        checked=item,
                        mode=mode,
                        batch=batch,
                        enqueue=True,
                        fair_use_checked=True,
                    )
                )
    except BaseException:
        # The rows rolled back; their files would stay behind on disk.
        for job in stored:
            job.input_file.delete(save=False)
        raise
    return batch


def vectorization_rerun(
    *, vectorization: Vectorization, preset: str, options: dict | None = None
) -> Vectorization:
    """A new job on the same stored input with other settings: no re-upload."""
    cleaned_options = _check_settings(preset, options)
    with vectorization_file_open(vectorization=vectorization, field="input_file") as stored:
        png = stored.read()
    checked = CheckedUpload(
        filename=vectorization.original_filename,
        input_bytes=vectorization.input_bytes,
        image=engine.NormalizedImage(
            png=png,
            width=vectorization.width,
            height=vectorization.height,
            source_format=vectorization.source_format,
            has_alpha=vectorization.has_alpha,
        ),
        preset=preset,
        options=cleaned_options,
    )
    _check_cost(checked.image, preset, cleaned_options)
    return _store(
        owner=vectorization.owner,
        checked=checked,
        mode=vectorization.mode,
        rerun_of=vectorization,
        enqueue=True,
    )


def _enqueue(vectorization_id, *, mode: str) -> None:
    # Imported here: tasks.py imports this module to call the services.
    from vectorize.tasks import vectorization_enqueue

    try:
        vectorization_enqueue(vectorization_id, mode=mode)
    except Exception:
        # The job row is committed (and charged): it is accepted. With the broker unreachable it
        # stays queued, and the reaper sends it again once the broker is back.
        logger.exception("could not queue vectorization %s; the reaper will", vectorization_id)


def _worker_time_limit() -> int:
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
            and job.started_at > timezone.now() - timedelta(seconds=_worker_time_limit())
        ):
            # A second message for a job another worker is tracing now (a re-send crossed the
            # first): leave it to that worker. If that worker died, the reaper takes over.
            logger.info("vectorization %s is running elsewhere; not tracing it twice", job.pk)
            return job, False
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            _mark_failed(
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
        _mark_failed(current, code=code, message=message)
    return current


def _mark_failed(job: Vectorization, *, code: str, message: str) -> None:
    """Fail a job and give back its credits (once: the refund has its own ledger key)."""
    logger.warning("vectorization %s failed: %s (%s)", job.pk, message, code)
    job.status = Status.FAILED
    job.error_code = str(code)
    job.error_message = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error_code", "error_message", "finished_at"])
    vectorization_forget(vectorization_id=job.pk)
    credits_refund_for_job(job=job)


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
