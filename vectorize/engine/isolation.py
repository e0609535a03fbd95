"""Runs an engine call in a child process with a hard deadline.

vtracer holds the GIL and cannot be interrupted while it works, so a signal-based time limit
fires only after it returns. A child process (pebble) can be stopped at the deadline, and if
it dies (out of memory, a crash in native code) the caller lives on to say so.
"""

import multiprocessing
from concurrent.futures import TimeoutError as FutureTimeout

from pebble import ProcessExpired, concurrent

from vectorize.engine.errors import TraceFailed, TraceTimedOut

# fork: the child starts with the caller's modules already loaded, so it costs milliseconds.
_FORK = multiprocessing.get_context("fork")


def run_isolated(function, *args, timeout: float, **kwargs):
    """`function(*args, **kwargs)` in a child process; its result, or its exception re-raised.

    Raises TraceTimedOut past `timeout` seconds (the child is stopped), and TraceFailed when the
    child died without an answer.
    """
    future = concurrent.process(timeout=timeout, mp_context=_FORK)(function)(*args, **kwargs)
    try:
        return future.result()
    except FutureTimeout as error:
        raise TraceTimedOut(
            f"Tracing took longer than the {timeout:g}-second limit. Try a smaller image or a "
            "simpler preset (Poster or Logo, with fewer colours).",
            details={"seconds": timeout},
        ) from error
    except ProcessExpired as error:
        raise TraceFailed(
            "The tracing engine stopped on this image (it may need more memory than it has). "
            "Try a smaller image or a simpler preset.",
            details={"exit_code": error.exitcode},
        ) from error
