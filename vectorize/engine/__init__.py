"""VectorCraft's vectorization engine: plain Python, no Django.

>>> from vectorize.engine import normalize_image, trace
>>> image = normalize_image(open("logo.png", "rb").read(), max_pixels=40_000_000)
>>> result = trace(image.png, preset="auto")
>>> result.svg, result.metrics
"""

from vectorize.engine.errors import (
    EngineError,
    ImageRejected,
    InvalidParameters,
    TraceFailed,
    TraceTimedOut,
)
from vectorize.engine.images import ALLOWED_FORMATS, NormalizedImage, downscale, normalize_image
from vectorize.engine.parameters import (
    AUTO,
    PARAMETERS,
    PRESET_DESCRIPTIONS,
    PRESET_NAMES,
    PRESETS,
    validate_parameters,
)
from vectorize.engine.tracing import TraceResult, choose_preset, trace

__all__ = [
    "ALLOWED_FORMATS",
    "AUTO",
    "PARAMETERS",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "PRESET_NAMES",
    "EngineError",
    "ImageRejected",
    "InvalidParameters",
    "NormalizedImage",
    "TraceFailed",
    "TraceResult",
    "TraceTimedOut",
    "choose_preset",
    "downscale",
    "normalize_image",
    "trace",
    "validate_parameters",
]
