class EngineError(Exception):
    """Everything the engine refuses or fails at.

    `code` is stable for programs; `message` is written for the person who sent the image.
    """

    code = "engine_error"

    def __init__(self, message: str, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def __reduce__(self):
        # Raised in a child process (isolation.run_isolated) and re-raised in the parent: keep
        # the code and details across pickling, not only the message.
        return (type(self), (self.message, self.code, self.details))


class ImageRejected(EngineError):
    """The bytes are not an image we accept (format, size, damage)."""

    code = "invalid_image"


class InvalidParameters(EngineError):
    """A preset or parameter is unknown or out of range; `details` maps field to problem."""

    code = "invalid_parameters"


class TraceFailed(EngineError):
    """The tracer itself failed on a valid image (vtracer raised or panicked)."""

    code = "trace_failed"


class TraceTimedOut(EngineError):
    """Tracing ran past its time limit and was stopped."""

    code = "timed_out"
