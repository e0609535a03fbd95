"""Small helpers for the tests: images made on the spot, renders, waiting, free ports."""

import contextlib
import io
import socket
import struct
import threading
import time
import zlib

import numpy as np
import pytest
import resvg_py
from PIL import Image

from benchmarks import localstack


def png_bytes(image: Image.Image, **save_options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save_options)
    return buffer.getvalue()


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A real, valid 1-bit PNG of width x height white pixels that compresses to a few hundred KB.

    Written row by row so the test never holds the decoded image in memory.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def flattened_on_white(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    white = Image.new("RGBA", image.size, "white")
    return np.asarray(Image.alpha_composite(white, image).convert("RGB"), dtype=np.float64)


def render_similarity(svg: str, png: bytes) -> float:
    """1 - mean absolute difference (0..1) between a render of `svg` and `png`, both on white."""
    expected = flattened_on_white(png)
    height, width = expected.shape[:2]
    rendered = bytes(
        resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, background="white")
    )
    actual = flattened_on_white(rendered)
    return 1 - float(np.abs(actual - expected).mean()) / 255


def wait_for(predicate, *, timeout: float, interval: float = 0.2, message: str = ""):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` s."""
    try:
        return localstack.wait_for(predicate, timeout=timeout, interval=interval, message=message)
    except TimeoutError as error:
        pytest.fail(str(error))


def run_together(action, times: int) -> list:
    """Call `action` from `times` threads released at the same moment; return their results.

    Each thread closes its own database connection, as a web worker's request would."""
    from django.db import connection

    barrier = threading.Barrier(times)
    results = []

    def run():
        barrier.wait()
        try:
            results.append(action())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def wait_for_port(port: int, *, process=None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def noise_png(side: int = 400) -> bytes:
    """Random noise: the slowest kind of picture to trace (seconds with the photo preset)."""
    buffer = io.BytesIO()
    Image.effect_noise((side, side), 90).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()
