"""Q cluster tasks: ids in, services do the work."""

from django_q.tasks import async_task

from vectorize import services


def vectorization_process(vectorization_id: str) -> str | None:
    job = services.vectorization_run(vectorization_id=vectorization_id)
    return job.status if job else None


def vectorization_enqueue(vectorization_id) -> str:
    """Queue a job for the cluster: from transaction.on_commit, once the row exists."""
    return async_task(
        "vectorize.tasks.vectorization_process",
        str(vectorization_id),
        task_name=f"vectorize-{vectorization_id}",
        group="vectorize",
    )
