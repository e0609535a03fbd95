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
    FILES_DELETED = "files_deleted"
