"""Runs vtracer on a normalised PNG and returns clean SVG with metrics."""

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import vtracer
from PIL import Image

from vectorize.engine.errors import ImageRejected, TraceFailed
from vectorize.engine.images import size_within
from vectorize.engine.palette import (
    dominant_colors,
    map_to_palette,
    parse_hex,
    reduce_colors,
    reduced_colors,
    snapper,
)
from vectorize.engine.parameters import AUTO, resolve_parameters, validate_parameters
from vectorize.engine.svg import clean_svg

_ANALYSIS_SIZE = 256
# vtracer sums each cluster's colour in 32-bit integers: a region of one colour larger than
# 2**32 // 255 = 16,843,009 pixels overflows, and a white background comes out near black.
# Larger images are traced from a copy scaled down below that, and written at their own size.
TRACE_MAX_PIXELS = 16_000_000
# Fills within this many levels (per channel) of one of the image's own colours take that colour.
SNAP_TOLERANCE = 12


@dataclass(frozen=True)
class TraceResult:
    svg: str
    preset: str
    parameters: dict
    metrics: dict = field(default_factory=dict)


def choose_preset(image: Image.Image) -> str:
    """Pick a preset for `auto` from a small copy of the image: its colours and shading."""
    sample = image.copy()
    # Nearest-neighbour: a smoothing filter would invent blended colours that are not there.
    sample.thumbnail((_ANALYSIS_SIZE, _ANALYSIS_SIZE), resample=Image.Resampling.NEAREST)
    if sample.mode == "RGBA":
        sample = Image.alpha_composite(Image.new("RGBA", sample.size, "white"), sample)
    colors = sample.convert("RGB").getcolors(maxcolors=4096)
    if colors is None:
        return "photo"  # more than 4096 distinct colours in a 256-pixel copy
    total = sum(count for count, _ in colors) or 1
    # Colours that cover at least 0.5% of the image: flat art has few, photos have many.
    dominant = [color for count, color in colors if count / total >= 0.005]
    dominant_share = sum(count for count, _ in colors if count / total >= 0.005) / total
    if dominant_share >= 0.6 and len(dominant) <= 24:
        return "logo" if len(dominant) <= 6 else "clipart"
    return "photo"


def _binarize(image: Image.Image) -> Image.Image:
    """Black and white by gray level, for vtracer's binary mode (which reads only the red
    channel). The threshold is Otsu's, so a faint pencil scan and a bold logo both split where
    their own ink and paper separate. Transparent pixels count as paper; binary output draws
    only the ink, so the background stays transparent."""
    # Imported here: scikit-image is slow to load and only line art needs it.
    from skimage.filters import threshold_otsu

    if image.mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    gray = image.convert("L")
    darkest, lightest = gray.getextrema()
    threshold = 128 if darkest == lightest else threshold_otsu(np.asarray(gray))
    return gray.point(lambda level: 255 if level > threshold else 0).convert("RGB")


def _within_tracer_limit(image: Image.Image) -> Image.Image:
    """`image`, or a copy of the same shape scaled down to at most TRACE_MAX_PIXELS."""
    size = size_within(image.width, image.height, TRACE_MAX_PIXELS)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _is_tracer_error(error: BaseException) -> bool:
    # vtracer raises a plain Exception for what it cannot decode, and a Rust panic arrives as
    # pyo3's PanicException, a BaseException subclass that cannot be imported by name.
    return type(error) is Exception or type(error).__name__ == "PanicException"


def run_vtracer(png: bytes, parameters: Mapping) -> str:
    """vtracer on PNG bytes; any failure of vtracer's, a Rust panic included, is a TraceFailed."""
    try:
        return vtracer.convert_raw_image_to_svg(png, img_format="png", **parameters)
    except BaseException as error:
        if not _is_tracer_error(error):
            raise
        raise TraceFailed(
            "The tracing engine could not process this image with these settings. "
            "Try another preset.",
            details={"engine_message": str(error)[:500]},
        ) from error


def trace(png: bytes, *, preset: str = AUTO, overrides: Mapping | None = None) -> TraceResult:
    """Trace a normalised PNG (from images.normalize_image) with a preset and overrides."""
    started = time.perf_counter()
    try:
        image = Image.open(io.BytesIO(png), formats=["PNG"])
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageRejected("The stored image could not be read.", code="corrupt_input") from error
    options = validate_parameters(preset, overrides)
    chosen = choose_preset(image) if preset == AUTO else preset
    parameters = resolve_parameters(chosen, overrides)
    fixed_palette = [parse_hex(color) for color in options.get("palette", [])]
    traced = image
    if fixed_palette:
        traced = map_to_palette(image, fixed_palette)
    elif "max_colors" in options:
        traced = reduce_colors(image, options["max_colors"])
    if parameters["colormode"] == "binary":
        traced = _binarize(traced)
    traced = _within_tracer_limit(traced)
    scale = (image.width / traced.width, image.height / traced.height)
    if traced is not image:
        png = _png_bytes(traced)
    raw = run_vtracer(png, parameters)
    if fixed_palette:
        recolor = snapper(fixed_palette, tolerance=None)
    elif "max_colors" in options:
        # vtracer averages neighbouring clusters; snap every fill back to the reduced colours.
        recolor = snapper(reduced_colors(traced), tolerance=None)
    else:
        palette = dominant_colors(traced)
        recolor = snapper(palette, tolerance=SNAP_TOLERANCE) if palette else None
    clean = clean_svg(
        raw, image.width, image.height, parameters["path_precision"], recolor, scale=scale
    )
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    metrics = {
        "engine_ms": elapsed_ms,
        "svg_bytes": len(clean.text.encode()),
        "path_count": clean.path_count,
        "node_count": clean.node_count,
        "color_count": len(clean.colors),
        "width": image.width,
        "height": image.height,
    }
    extras = {name: options[name] for name in ("max_colors", "palette") if name in options}
    return TraceResult(
        svg=clean.text, preset=chosen, parameters={**parameters, **extras}, metrics=metrics
    )
