"""Q cluster tasks: ids in, services do the work."""

from django.conf import settings
from django_q.tasks import async_task

from vectorcraft.logging import job_id
from vectorize import services


def vectorization_process(vectorization_id: str) -> str | None:
    token = job_id.set(str(vectorization_id))  # every log line of this task names the job
    try:
        job = services.vectorization_run(vectorization_id=vectorization_id)
    finally:
        job_id.reset(token)
    return job.status if job else None


def vectorization_enqueue(vectorization_id, *, mode: str = "production") -> str:
    """Queue a job for the cluster: from transaction.on_commit, once the row exists. The caller
    has set the job's enqueued_at (in the same write that made it queued). Previews go to their
    own queue (Q_PREVIEW_CLUSTER), so paid jobs never wait behind free ones."""
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


def vectorizations_reap() -> dict:
    """Q schedule, every minute: take over jobs a dead worker or a lost message left behind."""
    return services.vectorizations_reap()


def vectorizations_expire_files() -> int:
    """Q schedule, daily: delete files past the retention period (rows and metrics stay)."""
    return services.vectorizations_expire_files()
