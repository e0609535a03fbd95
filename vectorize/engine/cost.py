"""How long tracing an image will take, estimated before it is accepted.

A few bytes can ask for hours: a 5 MB PNG of 1-bit noise at 40 megapixels is cheap to send and
would run far past any time limit. The estimate traces a copy of at most SAMPLE_PIXELS (taken
pixel by pixel, so noise stays noise and a photo keeps its texture) with the job's own settings,
times it in CPU seconds (what other processes do on the machine does not count), and scales that
to the full size. vtracer's time grows faster than the pixel count, and fastest for images that
break into many small regions (noise, dithering), so the exponent grows with the sample's number
of shapes per pixel. Calibrated on this project's machines; docs/BENCHMARKS.md has estimate
against measured time for the real-world inputs.
"""

import io
import time
from collections.abc import Mapping

from PIL import Image

from vectorize.engine.images import size_within
from vectorize.engine.parameters import AUTO, resolve_parameters, validate_parameters
from vectorize.engine.tracing import TRACE_MAX_PIXELS, choose_preset, run_vtracer

SAMPLE_PIXELS = 250_000
BASE_EXPONENT = 1.3
# Shapes per pixel of the sample above which an image counts as fragmented (photos and scans:
# 0.001 to 0.009; 1-bit noise: 0.026), and how much each unit above it steepens the growth.
FRAGMENTED_DENSITY = 0.01
FRAGMENTATION_PENALTY = 30


def estimate_seconds(png: bytes, *, preset: str = AUTO, overrides: Mapping | None = None) -> float:
    """CPU seconds that tracing the normalised PNG with these settings is expected to take."""
    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        image.load()
        validate_parameters(preset, overrides)
        chosen = choose_preset(image) if preset == AUTO else preset
        parameters = resolve_parameters(chosen, overrides)
        pixels = min(image.width * image.height, TRACE_MAX_PIXELS)
        size = size_within(image.width, image.height, SAMPLE_PIXELS)
        sample = image if size == image.size else image.resize(size, Image.Resampling.NEAREST)
        buffer = io.BytesIO()
        sample.save(buffer, format="PNG", compress_level=1)
        sample_pixels = sample.width * sample.height
    started = time.thread_time()
    svg = run_vtracer(buffer.getvalue(), parameters)
    seconds = time.thread_time() - started
    density = svg.count("<path") / sample_pixels
    exponent = BASE_EXPONENT + FRAGMENTATION_PENALTY * max(0.0, density - FRAGMENTED_DENSITY)
    return seconds * max(1.0, pixels / sample_pixels) ** exponent
