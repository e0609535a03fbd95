from enum import StrEnum


class VectorizeErrorCode(StrEnum):
    FILE_TOO_LARGE = "file_too_large"
    INVALID_IMAGE = "invalid_image"
    INVALID_PARAMETERS = "invalid_parameters"
    TRACE_FAILED = "trace_failed"
    TIMED_OUT = "timed_out"
    GAVE_UP = "gave_up"
    INTERNAL = "internal_error"
    BATCH_TOO_LARGE = "batch_too_large"
    TOO_COMPLEX = "too_complex"
    TOO_MANY_JOBS = "too_many_jobs"
    FREE_LIMIT_REACHED = "free_limit_reached"
    STORAGE_FULL = "storage_full"
    FILES_DELETED = "files_deleted"
