import uuid
from collections.abc import Callable

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from vectorize import cache as representation_cache
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


def vectorization_representation_for_user(
    *, user, vectorization_id, represent: Callable[[Vectorization], dict]
) -> dict:
    """`represent(job)` for the user's own job (or 404), from the cache while the job is unchanged
    (vectorize/cache.py keeps it). `represent` must depend on the job's row alone (not on the
    request)."""
    vectorization_id = _uuid_or_404(vectorization_id)
    cached = representation_cache.representation_cached(vectorization_id)
    if isinstance(cached, dict):
        if cached["owner"] != user.pk:
            raise Http404("No such id.")
        return cached["representation"]
    job = vectorization_get_for_user(user=user, vectorization_id=vectorization_id)
    representation = represent(job)
    if cached is None:  # not while a change's mark stands
        representation_cache.representation_store(vectorization=job, representation=representation)
    return representation


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
