"""Presets and vtracer parameters: names users understand, mapped to validated vtracer settings."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from vectorize.engine.errors import InvalidParameters
from vectorize.engine.palette import parse_hex, to_hex


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]
    help: str

    def clean(self, value: object) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise ValueError(f"must be one of: {', '.join(self.values)}")
        return value


@dataclass(frozen=True)
class Number:
    minimum: float
    maximum: float
    help: str
    integer: bool = True

    def clean(self, value: object) -> int | float:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if self.integer and not number.is_integer():
            raise ValueError("must be a whole number")
        if not self.minimum <= number <= self.maximum:
            raise ValueError(f"must be between {self.minimum:g} and {self.maximum:g}")
        return int(number) if self.integer else number


# Every vtracer 0.6 parameter, with the range this service accepts.
PARAMETERS: dict[str, Choice | Number] = {
    "colormode": Choice(("color", "binary"), "Trace in colour, or in black and white."),
    "hierarchical": Choice(
        ("stacked", "cutout"), "Stack shapes on top of each other, or cut holes in them."
    ),
    "mode": Choice(
        ("spline", "polygon", "none"), "Curves, straight lines, or pixel-exact outlines."
    ),
    "filter_speckle": Number(0, 128, "Ignore specks smaller than this many pixels."),
    "color_precision": Number(
        1, 8, "Significant bits per colour channel; more keeps more colours."
    ),
    "layer_difference": Number(
        0, 255, "Colour difference between layers; more gives fewer layers."
    ),
    "corner_threshold": Number(0, 180, "Minimum angle (degrees) that counts as a corner."),
    "length_threshold": Number(3.5, 10, "Minimum segment length before curves are fitted.", False),
    "max_iterations": Number(1, 50, "Curve-fitting iterations."),
    "splice_threshold": Number(0, 180, "Minimum angle change (degrees) that splits a curve."),
    "path_precision": Number(0, 8, "Decimal places kept in path coordinates."),
}


@dataclass(frozen=True)
class HexPalette:
    help: str
    max_colors: int = 64

    def clean(self, value: object) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError(f"must be a list of 1 to {self.max_colors} hex colours")
        # "#fff,#000" and ["#fff", "#000"] alike (form fields often arrive comma-separated).
        items = [part for item in value for part in str(item).split(",") if part.strip()]
        if not 1 <= len(items) <= self.max_colors:
            raise ValueError(f"must be a list of 1 to {self.max_colors} hex colours")
        colors = []
        for item in items:
            text = str(item).strip().lower()
            if not _HEX_COLOR.fullmatch(text):
                raise ValueError(f"{item!r} is not a hex colour like #1a2b3c")
            colors.append(to_hex(parse_hex(text)))
        return colors


_HEX_COLOR = re.compile(r"#?(?:[0-9a-f]{3}|[0-9a-f]{6})")

# Options of VectorCraft's own, applied around vtracer.
COLOR_OPTIONS: dict[str, Number | HexPalette] = {
    "max_colors": Number(2, 256, "Reduce the image to at most this many colours first."),
    "palette": HexPalette("Map every shape to the nearest of these colours (brand colours)."),
}

VTRACER_DEFAULTS = {
    "colormode": "color",
    "hierarchical": "stacked",
    "mode": "spline",
    "filter_speckle": 4,
    "color_precision": 6,
    "layer_difference": 16,
    "corner_threshold": 60,
    "length_threshold": 4.0,
    "max_iterations": 10,
    "splice_threshold": 45,
    "path_precision": 8,
}

# Each preset is complete, so a job records exactly what it was traced with. Polygon mode with
# the compact path writer gives higher fidelity at a fraction of spline mode's bytes on the
# corpus (docs/BENCHMARKS.md); spline stays for the poster look.
PRESETS: dict[str, dict] = {
    "photo": {
        **VTRACER_DEFAULTS,
        "mode": "polygon",
        "filter_speckle": 4,
        "color_precision": 7,
        "layer_difference": 16,
        "path_precision": 1,
    },
    "poster": {
        **VTRACER_DEFAULTS,
        "filter_speckle": 6,
        "color_precision": 5,
        "layer_difference": 24,
        "path_precision": 1,
    },
    "clipart": {
        **VTRACER_DEFAULTS,
        "mode": "polygon",
        "filter_speckle": 4,
        "color_precision": 6,
        "layer_difference": 16,
        "path_precision": 1,
    },
    "logo": {
        **VTRACER_DEFAULTS,
        "mode": "polygon",
        "filter_speckle": 4,
        "color_precision": 6,
        "layer_difference": 16,
        "path_precision": 1,
    },
    "lineart": {
        **VTRACER_DEFAULTS,
        "colormode": "binary",
        "filter_speckle": 4,
        "path_precision": 1,
    },
    "pixelart": {
        **VTRACER_DEFAULTS,
        "mode": "none",
        "filter_speckle": 0,
        "color_precision": 8,
        "layer_difference": 0,
        "path_precision": 0,
    },
}
AUTO = "auto"
PRESET_NAMES = (AUTO, *PRESETS)
PRESET_DESCRIPTIONS = {
    AUTO: "Looks at the image and picks the best settings.",
    "photo": "Photographs and images with smooth shading.",
    "poster": "Illustrations with a limited set of colours and some shading.",
    "clipart": "Flat-colour drawings, icons and emoji.",
    "logo": "Logos and brand marks: few colours, crisp edges.",
    "lineart": "Black-and-white drawings, scans and signatures.",
    "pixelart": "Pixel art, kept pixel-exact.",
}


def validate_parameters(preset: str, overrides: Mapping[str, object] | None = None) -> dict:
    """Check a preset name and parameter overrides; return the cleaned overrides.

    Raises InvalidParameters with one message per bad field.
    """
    problems: dict[str, str] = {}
    if preset not in PRESET_NAMES:
        problems["preset"] = f"must be one of: {', '.join(PRESET_NAMES)}"
    cleaned = {}
    for name, value in (overrides or {}).items():
        spec = PARAMETERS.get(name) or COLOR_OPTIONS.get(name)
        if spec is None:
            problems[name] = "is not a vectorization parameter"
            continue
        try:
            cleaned[name] = spec.clean(value)
        except ValueError as error:
            problems[name] = str(error)
    if problems:
        listing = "; ".join(f"{field} {problem}" for field, problem in problems.items())
        raise InvalidParameters(f"Invalid settings: {listing}.", details=problems)
    return cleaned


def resolve_parameters(preset: str, overrides: Mapping[str, object] | None = None) -> dict:
    """The full vtracer settings for a concrete (non-auto) preset with overrides applied."""
    cleaned = validate_parameters(preset, overrides)
    if preset == AUTO:
        raise InvalidParameters("'auto' is resolved from the image; use choose_preset first.")
    vtracer_overrides = {name: value for name, value in cleaned.items() if name in PARAMETERS}
    return {**PRESETS[preset], **vtracer_overrides}
