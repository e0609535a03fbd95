"""Vectorization services, by the life of a job:

- intake: check an upload, store it, charge it, queue it (one job, a batch, a re-run);
- queue: the job's message to the Q cluster;
- running: a worker claims a job, traces it and finishes it;
- files: open, export and delete a job's files;
- housekeeping: the reaper, file retention, staff re-queues.
"""

from vectorize.services.files import (
    FILE_LABELS,
    vectorization_delete,
    vectorization_export,
    vectorization_file_open,
    vectorizations_delete_for_owner,
)
from vectorize.services.housekeeping import (
    vectorization_requeue,
    vectorizations_expire_files,
    vectorizations_reap,
)
from vectorize.services.intake import (
    CheckedUpload,
    batch_create,
    vectorization_check,
    vectorization_create,
    vectorization_rerun,
)
from vectorize.services.queue import vectorization_enqueue
from vectorize.services.running import vectorization_run

__all__ = [
    "FILE_LABELS",
    "CheckedUpload",
    "batch_create",
    "vectorization_check",
    "vectorization_create",
    "vectorization_delete",
    "vectorization_enqueue",
    "vectorization_export",
    "vectorization_file_open",
    "vectorization_requeue",
    "vectorization_rerun",
    "vectorization_run",
    "vectorizations_delete_for_owner",
    "vectorizations_expire_files",
    "vectorizations_reap",
]
