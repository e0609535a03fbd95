import io

import pytest
from PIL import Image

from vectorize.engine import normalize_image, trace
from vectorize.engine.exports import FORMATS, export
from vectorize.engine.fidelity import ssim


@pytest.fixture(scope="module")
def traced(bench_dir):
    image = normalize_image((bench_dir / "emoji_1F309.png").read_bytes(), max_pixels=40_000_000)
    return image, trace(image.png, preset="clipart")


def test_it_scores_a_faithful_svg_high_and_an_empty_one_low(traced):
    image, result = traced
    picture = Image.open(io.BytesIO(image.png))

    faithful = ssim(result.svg, picture)
    empty = ssim('<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"/>', picture)

    assert faithful > 0.9
    assert empty < 0.8
    assert faithful == ssim(result.svg, picture)  # stable for a fixed input


@pytest.mark.parametrize(
    ("fmt", "magic"),
    [("pdf", b"%PDF-"), ("eps", b"%!PS-Adobe"), ("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<svg")],
)
def test_it_exports_every_format(traced, fmt, magic):
    _, result = traced

    data = export(result.svg, fmt, width=512, height=512)

    assert data.startswith(magic)
    if fmt == "png":
        assert Image.open(io.BytesIO(data)).size == (512, 512)


def test_it_refuses_an_unknown_format(traced):
    with pytest.raises(ValueError, match="choose one of svg, pdf, eps, png"):
        export(traced[1].svg, "gif", width=1, height=1)
    assert set(FORMATS) == {"svg", "pdf", "eps", "png"}
