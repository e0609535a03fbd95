"""Intake: everything an upload must pass, then storing, charging and queueing it: one job,
a batch, or a re-run of a stored input with new settings."""

import contextlib
import errno
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from payments.errors import PaymentsErrorCode
from payments.selectors import balance_for_user, price_for
from payments.services import (
    credit_account_lock,
    credits_debit_for_job,
)
from vectorcraft.errors import ApplicationError
from vectorize import engine
from vectorize.engine.cost import estimate_seconds
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Batch, Vectorization, input_upload_to
from vectorize.services.files import vectorization_file_open
from vectorize.services.queue import enqueue as _enqueue

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
                _check_fair_use(owner=owner, mode=mode, locked=True, counted=True)
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


def _check_fair_use(
    *, owner, mode: str, adding: int = 1, locked: bool = False, counted: bool = False
) -> None:
    """Caps per account, checked in the transaction that adds the jobs, with the owner's credit
    account locked so that two requests of one account are counted one after the other: jobs
    queued or running at once, and free jobs in 24 hours. `counted`: the `adding` new jobs are
    rows already, and in the counts."""
    if not locked:
        credit_account_lock(user=owner)
    in_flight = Vectorization.objects.filter(
        owner=owner, status__in=[Status.QUEUED, Status.RUNNING]
    ).count() - (adding if counted else 0)
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
    ).count() - (adding if counted else 0)
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
