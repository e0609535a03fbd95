"""How close an SVG is to the image it was traced from: SSIM of a resvg render against the input."""

import io
import time

import numpy as np
import resvg_py
from PIL import Image
from skimage.metrics import structural_similarity

# Compared at most this many pixels on the longer side: the score is about what a person sees,
# and a 40-megapixel comparison would need gigabytes.
COMPARE_MAX_SIDE = 1024


def render_png(svg: str, width: int, height: int, background: str | None = None) -> bytes:
    """Render SVG text to PNG bytes at width x height (transparent unless `background`)."""
    options = {"svg_string": svg, "width": width, "height": height}
    if background:
        options["background"] = background
    return bytes(resvg_py.svg_to_bytes(**options))


def _on_white(image: Image.Image) -> np.ndarray:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, "white")
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))


def compare_size(width: int, height: int) -> tuple[int, int]:
    """The size to ask resvg for: the image's own, or smaller with the longer side at most
    COMPARE_MAX_SIDE. resvg keeps the SVG's aspect ratio and rounds its other side its own way,
    so the size it draws may differ from this by a pixel: compare at the size drawn."""
    scale = min(1.0, COMPARE_MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def ssim(svg: str, image: Image.Image) -> float:
    """SSIM (RGB, both flattened on white) between a render of `svg` and `image`, 0..1.

    The render is compared at the size resvg drew it, whatever size was asked for: the input is
    resized to that, so no rounding of either side can make the two arrays differ in shape.
    """
    rendered = Image.open(io.BytesIO(render_png(svg, *compare_size(image.width, image.height))))
    rendered.load()
    reference = image if rendered.size == image.size else image.resize(rendered.size)
    expected, actual = _on_white(reference), _on_white(rendered)
    if min(rendered.size) < 7:  # SSIM's window does not fit: fall back to 1 - mean error
        return round(1 - float(np.abs(expected.astype(float) - actual).mean()) / 255, 4)
    score = structural_similarity(expected, actual, channel_axis=2, data_range=255)
    return round(float(score), 4)


def fidelity_report(svg: str, png: bytes) -> dict:
    """The job's fidelity numbers: SSIM of the SVG against the PNG it was traced from."""
    started = time.perf_counter()
    image = Image.open(io.BytesIO(png))
    image.load()
    score = ssim(svg, image)
    return {"ssim": score, "fidelity_ms": round((time.perf_counter() - started) * 1000)}
