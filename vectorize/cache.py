"""The shared cache of job representations: the one place that writes it.

A status poll is the API's commonest read. A job's representation is kept in the shared cache
until the job changes: every service that changes a job calls `vectorization_forget`, which puts
a short "changed" mark in its place. While the mark stands no read stores a representation, so a
read that fetched the row just before a change cannot put the old state back afterwards.
"""

import contextlib

from django.core.cache import cache
from django.db import transaction

VECTORIZATION_CACHE_SECONDS = 60
FINISHED_VECTORIZATION_CACHE_SECONDS = 600
VECTORIZATION_CHANGED_SECONDS = 5
_CHANGED = "changed"


def _key(vectorization_id) -> str:
    return f"vectorization:{vectorization_id}"


def representation_cached(vectorization_id):
    """The cached {"owner", "representation"} of a job, the "changed" mark, or None."""
    with contextlib.suppress(Exception):  # a cache outage only costs the database a read
        return cache.get(_key(vectorization_id))
    return None


def is_changed_mark(value) -> bool:
    return value == _CHANGED


def representation_store(*, vectorization, representation: dict) -> None:
    timeout = (
        FINISHED_VECTORIZATION_CACHE_SECONDS
        if vectorization.is_finished
        else VECTORIZATION_CACHE_SECONDS
    )
    with contextlib.suppress(Exception):
        # add, not set: a change's mark (or a newer entry) is never overwritten.
        cache.add(
            _key(vectorization.pk),
            {"owner": vectorization.owner_id, "representation": representation},
            timeout,
        )


def vectorizations_forget(*, vectorization_ids) -> None:
    """Drop jobs' cached representations (one round trip for them all): now, and inside a
    transaction again when it commits (a transaction longer than the mark lasts must not let a
    read store the old row meanwhile)."""
    marks = {_key(pk): _CHANGED for pk in vectorization_ids}
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
