"""Inputs shaped like the ones people send: phone photos, screenshots, scans, odd sizes.

Built from the bench corpus's real photos and scan (scaled to real camera and scanner sizes and
saved the way devices save them), or drawn like a phone's screen, so the tests meet what users
upload without keeping megabytes of images in the repository.
"""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# EXIF tag 0x0112: how a viewer must turn the stored pixels to show them upright.
ORIENTATION_TAG = 0x0112
ROTATED_90_CLOCKWISE = 6  # a phone held upright: the sensor's landscape pixels, turned on show


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def phone_photo(bench_dir: Path, *, size=(4032, 3024), orientation: int | None = None) -> bytes:
    """A 12 MP JPEG as a phone writes it: a real photo scaled to the sensor's size, quality 85,
    4:2:0 chroma, with an EXIF orientation when the phone was held upright."""
    with Image.open(bench_dir / "skimage_coffee.png") as source:
        photo = source.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION_TAG] = orientation
    return _encoded(photo, "JPEG", quality=85, subsampling=2, exif=exif.tobytes())


def photo_of_size(bench_dir: Path, width: int, height: int, *, fmt: str = "JPEG") -> bytes:
    """A real photo (the astronaut) stretched to any size, the way an export or crop leaves it."""
    with Image.open(bench_dir / "skimage_astronaut.png") as source:
        photo = source.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    return _encoded(photo, fmt, **({"quality": 90} if fmt == "JPEG" else {}))


def phone_screenshot(*, size=(1125, 2436)) -> bytes:
    """A phone screenshot (iPhone X size by default): status bar, a header, list rows of text,
    icons and a button, in flat colours with anti-aliased text, saved as PNG."""
    width, height = size
    screen = Image.new("RGB", size, (242, 242, 247))
    draw = ImageDraw.Draw(screen)
    font = ImageFont.load_default(size=max(12, width // 28))
    draw.rectangle((0, 0, width, height // 16), fill=(255, 255, 255))
    draw.text((width // 20, height // 60), "9:41", fill=(0, 0, 0), font=font)
    draw.rectangle((0, height // 16, width, height // 8), fill=(0, 122, 255))
    draw.text((width // 20, height // 13), "Conversions", fill=(255, 255, 255), font=font)
    row = height // 14
    for index in range(8):
        top = height // 8 + 20 + index * row
        draw.rectangle((0, top, width, top + row - 6), fill=(255, 255, 255))
        color = [(255, 59, 48), (52, 199, 89), (255, 149, 0), (88, 86, 214)][index % 4]
        draw.ellipse((width // 20, top + 20, width // 20 + row - 46, top + row - 26), fill=color)
        draw.text((width // 5, top + row // 3), f"Logo draft {index + 1}.png", fill=0, font=font)
    draw.rounded_rectangle(
        (width // 10, height - height // 8, width - width // 10, height - height // 16),
        radius=height // 40,
        fill=(0, 122, 255),
    )
    return _encoded(screen, "PNG")


def scanned_page(bench_dir: Path, *, size=(2480, 3508), quality: int = 70) -> bytes:
    """An A4 page at 300 dpi as an office scanner saves it: the corpus's scanned book page,
    scaled up, on slightly grey paper, as a JPEG with visible compression artefacts."""
    with Image.open(bench_dir / "skimage_page.png") as source:
        page = source.convert("L").resize(size, Image.Resampling.BICUBIC)
    paper = np.asarray(page, dtype=np.float32) * 0.92 + 12
    return _encoded(Image.fromarray(paper.clip(0, 255).astype(np.uint8)), "JPEG", quality=quality)


def strip(width: int, height: int) -> bytes:
    """A thin strip (a divider, a progress bar, a 1-pixel line) in two colours, as PNG."""
    image = Image.new("RGB", (width, height), (30, 30, 30))
    ImageDraw.Draw(image).rectangle((0, 0, width // 2, height // 2), fill=(220, 40, 40))
    return _encoded(image, "PNG")


def flat_art(width: int, height: int, seed: int = 0) -> bytes:
    """A few flat shapes on white at any size: the cheap content of the property-based tests."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x0, x1 = sorted(rng.integers(0, width, 2))
        y0, y1 = sorted(rng.integers(0, height, 2))
        draw.rectangle((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return _encoded(image, "PNG", compress_level=1)


def noise(width: int, height: int, seed: int = 7) -> bytes:
    """1-bit noise as PNG: a few bits a pixel to send, the most expensive picture to trace."""
    pixels = np.random.default_rng(seed).random((height, width)) > 0.5
    return _encoded(Image.fromarray(pixels), "PNG")
