import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from vectorize.apps import IMAGE_BLOCKS_KEPT
from vectorize.engine import ImageRejected, normalize_image
from vectorize.tests.helpers import bomb_png, png_bytes

LIMIT = 40_000_000


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_it_accepts_every_allowed_format_as_a_clean_png(fmt):
    data = _saved(Image.new("RGB", (40, 30), (200, 30, 30)), fmt)

    image = normalize_image(data, max_pixels=LIMIT)

    decoded = Image.open(io.BytesIO(image.png))
    assert decoded.format == "PNG"
    assert (image.width, image.height, image.source_format) == (40, 30, fmt)
    assert decoded.mode == "RGB"


def test_it_strips_metadata():
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    source = Image.new("RGB", (20, 20), "white")
    data = _saved(source, "JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 128, comment=b"hello")

    image = normalize_image(data, max_pixels=LIMIT)

    assert b"SecretCam" not in image.png
    assert Image.open(io.BytesIO(image.png)).info == {}


def test_it_keeps_transparency_and_drops_an_opaque_alpha_channel():
    clear = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    opaque = Image.new("RGBA", (10, 10), (10, 20, 30, 255))

    assert normalize_image(png_bytes(clear), max_pixels=LIMIT).has_alpha is True
    assert normalize_image(png_bytes(opaque), max_pixels=LIMIT).has_alpha is False


def test_it_takes_the_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (8, 8), color) for color in ("red", "blue")]
    data = _saved(frames[0], "GIF", save_all=True, append_images=frames[1:])

    image = normalize_image(data, max_pixels=LIMIT)

    assert Image.open(io.BytesIO(image.png)).getpixel((0, 0)) == (255, 0, 0)


def test_it_applies_the_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _saved(Image.new("RGB", (40, 10), "white"), "JPEG", exif=exif.tobytes())

    image = normalize_image(data, max_pixels=LIMIT)

    assert (image.width, image.height) == (10, 40)


def _rejection(data: bytes, max_pixels: int = LIMIT) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        normalize_image(data, max_pixels=max_pixels)
    return caught.value


def test_it_rejects_zero_bytes():
    assert _rejection(b"").code == "empty_file"


def test_it_rejects_a_truncated_png(bench_dir):
    data = (bench_dir / "emoji_1F309.png").read_bytes()

    error = _rejection(data[: len(data) // 2])

    assert error.code == "corrupt_image"
    assert error.message == "The image is damaged or incomplete and cannot be read."


def test_it_rejects_text_renamed_png():
    error = _rejection(b"Hello, this is a text file, not an image.\n" * 10)

    assert error.code == "unsupported_format"
    assert "PNG, JPEG, WebP, GIF, BMP or TIFF" in error.message


@pytest.mark.parametrize(
    "data",
    [
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    ],
    ids=["eps", "pdf"],
)
def test_it_rejects_eps_and_pdf_renamed_png(data):
    assert _rejection(data).code == "unsupported_format"


def test_it_rejects_a_decompression_bomb_from_its_header():
    data = bomb_png(30000, 30000)
    assert len(data) < 1_000_000  # small on disk, 900 megapixels decoded

    error = _rejection(data)

    assert error.code == "too_many_pixels"
    assert error.message == "The image is too large: the limit is 40 megapixels."


def test_it_treats_pillows_bomb_warning_as_an_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # warn above 1000, error above 2000
    data = png_bytes(Image.new("RGB", (40, 40)))  # 1600 pixels: only a warning in Pillow

    assert _rejection(data, max_pixels=LIMIT).code == "too_many_pixels"


def test_it_rejects_more_pixels_than_the_configured_cap():
    data = png_bytes(Image.new("RGB", (101, 100)))

    assert _rejection(data, max_pixels=10_000).code == "too_many_pixels"


def test_it_reuses_the_memory_of_one_image_for_the_next():
    data = png_bytes(Image.new("RGBA", (600, 400), (20, 120, 200, 255)))
    normalize_image(data, max_pixels=LIMIT)
    before = Image.core.get_stats()["reused_blocks"]

    normalize_image(data, max_pixels=LIMIT)

    assert Image.core.get_blocks_max() == IMAGE_BLOCKS_KEPT
    assert Image.core.get_stats()["reused_blocks"] > before


def test_it_leaves_pillows_own_block_setting_alone_when_it_is_set():
    script = (
        "import django; django.setup(); from PIL import Image; print(Image.core.get_blocks_max())"
    )
    env = {**os.environ, "PILLOW_BLOCKS_MAX": "0", "DJANGO_SETTINGS_MODULE": "vectorcraft.settings"}

    shown = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )

    assert shown.stdout.strip() == "0"
