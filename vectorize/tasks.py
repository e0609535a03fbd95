"""Q cluster tasks: ids in, services do the work. (Jobs are queued by vectorize.services.queue,
which names these by their path: nothing here is imported back.)"""

from vectorcraft.logging import job_id
from vectorize import services


def vectorization_process(vectorization_id: str) -> str | None:
    token = job_id.set(str(vectorization_id))  # every log line of this task names the job
    try:
        job = services.vectorization_run(vectorization_id=vectorization_id)
    finally:
        job_id.reset(token)
    return job.status if job else None


def vectorizations_reap() -> dict:
    """Q schedule, every minute: take over jobs a dead worker or a lost message left behind."""
    return services.vectorizations_reap()


def vectorizations_expire_files() -> int:
    """Q schedule, daily: delete files past the retention period (rows and metrics stay)."""
    return services.vectorizations_expire_files()
