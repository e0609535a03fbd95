import contextlib
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from vectorize.models import Batch, Vectorization


def vectorization_list_for_user(
    *, user, status: str | None = None, created_after=None, created_before=None
) -> QuerySet[Vectorization]:
    """The user's jobs, newest first, optionally by status and creation time."""
    jobs = Vectorization.objects.filter(owner=user)
    if status:
        jobs = jobs.filter(status=status)
    if created_after:
        jobs = jobs.filter(created_at__gte=created_after)
    if created_before:
        jobs = jobs.filter(created_at__lt=created_before)
    return jobs.order_by("-created_at")


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such id.") from None


# A status poll is the API's commonest read. The job's representation is kept in the shared cache
# until the job changes: every service that changes a job calls `vectorization_forget`, which puts
# a short "changed" mark in its place. While the mark stands no read stores a representation, so
# a read that fetched the row just before a change cannot put the old state back afterwards.
VECTORIZATION_CACHE_SECONDS = 60
FINISHED_VECTORIZATION_CACHE_SECONDS = 600
VECTORIZATION_CHANGED_SECONDS = 5
_CHANGED = "changed"


def _vectorization_cache_key(vectorization_id) -> str:
    return f"vectorization:{vectorization_id}"


def vectorization_representation_for_user(
    *, user, vectorization_id, represent: Callable[[Vectorization], dict]
) -> dict:
    """`represent(job)` for the user's own job (or 404), from the cache while the job is unchanged.

    `represent` must depend on the job's row alone (not on the request).
    """
    vectorization_id = _uuid_or_404(vectorization_id)
    key = _vectorization_cache_key(vectorization_id)
    cached = None
    with contextlib.suppress(Exception):  # a cache outage only costs the database a read
        cached = cache.get(key)
    if isinstance(cached, dict):
        if cached["owner"] != user.pk:
            raise Http404("No such id.")
        return cached["representation"]
    job = vectorization_get_for_user(user=user, vectorization_id=vectorization_id)
    representation = represent(job)
    if cached is None:
        timeout = (
            FINISHED_VECTORIZATION_CACHE_SECONDS if job.is_finished else VECTORIZATION_CACHE_SECONDS
        )
        with contextlib.suppress(Exception):
            # add, not set: a change's mark (or a newer entry) is never overwritten.
            cache.add(key, {"owner": job.owner_id, "representation": representation}, timeout)
    return representation


def vectorizations_forget(*, vectorization_ids) -> None:
    """Drop jobs' cached representations (one round trip for them all): now, and inside a
    transaction again when it commits (a transaction longer than the mark lasts must not let a
    read store the old row meanwhile)."""
    marks = {_vectorization_cache_key(pk): _CHANGED for pk in vectorization_ids}
    if not marks:
        return

    def mark_changed():
        with contextlib.suppress(Exception):
            cache.set_many(marks, VECTORIZATION_CHANGED_SECONDS)

    mark_changed()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(mark_changed)


def vectorization_forget(*, vectorization_id) -> None:
    vectorizations_forget(vectorization_ids=[vectorization_id])


def vectorization_ids_kept_for_user(*, user, vectorization_ids) -> set:
    """Which of these ids are the user's jobs still there (not deleted)."""
    return set(
        Vectorization.objects.filter(owner=user, pk__in=vectorization_ids).values_list(
            "pk", flat=True
        )
    )


def vectorization_get_for_user(*, user, vectorization_id) -> Vectorization:
    """The user's own job, or 404: someone else's job looks exactly like one that does not exist."""
    return get_object_or_404(Vectorization, pk=_uuid_or_404(vectorization_id), owner=user)


def batch_summary_for_user(*, user, batch_id) -> dict:
    batch = get_object_or_404(Batch, pk=_uuid_or_404(batch_id), owner=user)
    jobs = list(batch.vectorizations.order_by("created_at"))
    done = sum(job.status == Vectorization.Status.SUCCEEDED for job in jobs)
    failed = sum(job.status == Vectorization.Status.FAILED for job in jobs)
    return {
        "id": batch.pk,
        "created_at": batch.created_at,
        "total": len(jobs),
        "done": done,
        "failed": failed,
        "pending": len(jobs) - done - failed,
        "vectorizations": jobs,
    }
