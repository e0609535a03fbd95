import pytest

from vectorize import cache as representation_cache
from vectorize import selectors
from vectorize.models import Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def _status(job) -> dict:
    return {"status": job.status}


def test_it_never_keeps_a_state_read_just_before_a_change(user, bench_dir):
    job = queued_job(user, bench_dir)

    def read_then_change(row):
        representation = _status(row)  # the row as it was read
        vectorization_process(str(job.pk))  # a worker finishes the job before the read stores it
        return representation

    during = selectors.vectorization_representation_for_user(
        user=user, vectorization_id=job.pk, represent=read_then_change
    )
    after = selectors.vectorization_representation_for_user(
        user=user, vectorization_id=job.pk, represent=_status
    )

    assert (during["status"], after["status"]) == ("queued", "succeeded")


def test_it_reads_the_database_when_the_cache_is_down(user, bench_dir, settings):
    job = queued_job(user, bench_dir)
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }

    representation = selectors.vectorization_representation_for_user(
        user=user, vectorization_id=job.pk, represent=_status
    )
    representation_cache.vectorization_forget(vectorization_id=job.pk)

    assert representation == {"status": "queued"}


def test_it_forgets_several_jobs_at_once_now_and_again_at_commit(
    user, bench_dir, django_capture_on_commit_callbacks
):
    jobs = [queued_job(user, bench_dir) for _ in range(2)]
    for job in jobs:  # both cached as queued
        selectors.vectorization_representation_for_user(
            user=user, vectorization_id=job.pk, represent=_status
        )
    Vectorization.objects.filter(pk__in=[job.pk for job in jobs]).update(status="failed")

    with django_capture_on_commit_callbacks() as callbacks:
        representation_cache.vectorizations_forget(vectorization_ids=[job.pk for job in jobs])

    assert len(callbacks) == 1  # marked again once the change commits
    assert [
        selectors.vectorization_representation_for_user(
            user=user, vectorization_id=job.pk, represent=_status
        )["status"]
        for job in jobs
    ] == ["failed", "failed"]
