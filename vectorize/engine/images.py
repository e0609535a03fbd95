"""Checks untrusted image bytes and re-encodes them as a clean PNG.

Only this module decodes what users send. vtracer has a decoder of its own; it only ever sees
the PNG made here.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from vectorize.engine.errors import ImageRejected

# Pillow format names; Image.open tries only these decoders, so an EPS or PDF (which would need
# Ghostscript) or any other format is never even parsed.
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
ALLOWED_FORMATS_TEXT = "PNG, JPEG, WebP, GIF, BMP or TIFF"
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
# What Pillow raises from damaged data varies by plug-in.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError)


@dataclass(frozen=True)
class NormalizedImage:
    png: bytes
    width: int
    height: int
    source_format: str
    has_alpha: bool

    @property
    def pixels(self) -> int:
        return self.width * self.height


# The tracer fails on images millions of pixels long (a 3,000,000 x 13 strip): no real picture
# is longer than this on a side, and within it every shape traces (a 1 x 100,000 line does).
MAX_SIDE = 100_000


def normalize_image(data: bytes, *, max_pixels: int, max_side: int = MAX_SIDE) -> NormalizedImage:
    """Return `data` as a metadata-free RGB or RGBA PNG, or raise ImageRejected saying why."""
    if not data:
        raise ImageRejected("The file is empty.", code="empty_file")
    # Pillow's decompression-bomb check only warns below twice its limit; here a warning is a
    # refusal, like the error above it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels(max_pixels) from error
        except (UnidentifiedImageError, *_DECODE_ERRORS) as error:
            raise ImageRejected(
                f"This file is not a supported image. Upload a {ALLOWED_FORMATS_TEXT} file.",
                code="unsupported_format",
            ) from error
        with image:
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageRejected("The image has no pixels.", code="empty_image")
            # Checked from the header, before a single pixel is decoded.
            if width * height > max_pixels:
                raise _too_many_pixels(max_pixels, width, height)
            if max(width, height) > max_side:
                raise ImageRejected(
                    f"The image is too long ({width} x {height}): a side may be at most "
                    f"{max_side:,} pixels.",
                    code="side_too_long",
                    details={"max_side": max_side, "width": width, "height": height},
                )
            source_format = image.format or "unknown"
            try:
                image.seek(0)  # GIF and TIFF: the first frame only
                image.load()
                converted = _to_rgb_or_rgba(_upright(image))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
                raise _too_many_pixels(max_pixels) from error
            except _DECODE_ERRORS as error:
                raise ImageRejected(
                    "The image is damaged or incomplete and cannot be read.",
                    code="corrupt_image",
                ) from error

    # A fresh image: no EXIF, ICC profile, text chunks or other metadata is carried over.
    converted.info = {}
    buffer = io.BytesIO()
    converted.save(buffer, format="PNG", compress_level=6)
    return NormalizedImage(
        png=buffer.getvalue(),
        width=converted.width,
        height=converted.height,
        source_format=source_format,
        has_alpha=converted.mode == "RGBA",
    )


def _too_many_pixels(max_pixels: int, width: int = 0, height: int = 0) -> ImageRejected:
    size = f" ({width} x {height})" if width else ""
    return ImageRejected(
        f"The image is too large{size}: the limit is {max_pixels / 1_000_000:g} megapixels.",
        code="too_many_pixels",
        details={"max_pixels": max_pixels, "width": width, "height": height},
    )


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, so a phone photo is traced the way it is seen."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image  # unreadable EXIF is not worth refusing the picture for


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getextrema() == (255, 255):
        return rgba.convert("RGB")  # an alpha channel that is opaque everywhere says nothing
    return rgba


def size_within(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """width x height, scaled down keeping its shape to at most `max_pixels` (unchanged if it
    fits); no side below one pixel."""
    if width * height <= max_pixels:
        return width, height
    scale = (max_pixels / (width * height)) ** 0.5
    return max(1, int(width * scale)), max(1, int(height * scale))


def downscale(image: NormalizedImage, *, max_pixels: int) -> NormalizedImage:
    """The image scaled down (keeping its shape) to at most `max_pixels`; unchanged if smaller."""
    if image.pixels <= max_pixels:
        return image
    size = size_within(image.width, image.height, max_pixels)
    with Image.open(io.BytesIO(image.png)) as picture:
        smaller = picture.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    smaller.save(buffer, format="PNG", compress_level=6)
    return NormalizedImage(
        png=buffer.getvalue(),
        width=size[0],
        height=size[1],
        source_format=image.source_format,
        has_alpha=image.has_alpha,
    )
