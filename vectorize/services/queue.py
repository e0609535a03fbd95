"""The job queue: a job's message to the Q cluster, sent once its row is committed."""

import logging

from django.conf import settings
from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def vectorization_enqueue(vectorization_id, *, mode: str = "production") -> str:
    """Queue a job for the cluster: from transaction.on_commit, once the row exists. The caller
    has set the job's enqueued_at (in the same write that made it queued). Previews go to their
    own queue (Q_PREVIEW_CLUSTER), so paid jobs never wait behind free ones. The task is named by
    its path, so this module needs nothing from tasks.py."""
    preview_queue = mode == "preview" and settings.Q_PREVIEW_CLUSTER
    return async_task(
        "vectorize.tasks.vectorization_process",
        str(vectorization_id),
        task_name=f"vectorize-{vectorization_id}",
        group="vectorize",
        cluster=settings.Q_PREVIEW_CLUSTER if preview_queue else None,
        # The job's row records its outcome. A saved success would also make the cluster's
        # monitor lock and read every saved success (up to save_limit) once per job.
        save=False,
    )


def enqueue(vectorization_id, *, mode: str) -> None:
    """Queue a job, never failing the caller: the job's row is committed (and charged), so it is
    accepted. With the broker unreachable it stays queued, and the reaper sends it again once
    the broker is back."""
    try:
        vectorization_enqueue(vectorization_id, mode=mode)
    except Exception:
        logger.exception("could not queue vectorization %s; the reaper will", vectorization_id)
