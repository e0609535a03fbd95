import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from vectorize.engine import (
    PRESETS,
    InvalidParameters,
    TraceFailed,
    normalize_image,
    trace,
    validate_parameters,
)
from vectorize.engine.fidelity import render_png
from vectorize.engine.parameters import VTRACER_DEFAULTS
from vectorize.engine.svg import format_number, rewrite_path_data
from vectorize.engine.tracing import run_vtracer
from vectorize.tests.helpers import png_bytes, render_similarity

SVG_NS = "{http://www.w3.org/2000/svg}"
BLANK_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"/>'


def _normalized(bench_dir, name):
    return normalize_image((bench_dir / name).read_bytes(), max_pixels=40_000_000)


@pytest.mark.parametrize(
    ("name", "min_similarity"),
    [
        ("emoji_1F309.png", 0.98),
        ("logo_ruby.png", 0.98),
        ("logo_podman.png", 0.97),
        ("skimage_coffee.png", 0.93),
    ],
)
def test_it_traces_bench_images_into_valid_svg_that_resembles_the_input(
    bench_dir, name, min_similarity
):
    image = _normalized(bench_dir, name)

    result = trace(image.png)

    root = ET.fromstring(result.svg)
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == f"0 0 {image.width} {image.height}"
    assert (root.get("width"), root.get("height")) == (str(image.width), str(image.height))
    paths = root.findall(f"{SVG_NS}path")
    assert len(paths) == result.metrics["path_count"] > 0
    assert "transform" not in result.svg
    similarity = render_similarity(result.svg, image.png)
    blank = render_similarity(BLANK_SVG.format(w=image.width, h=image.height), image.png)
    assert similarity >= min_similarity
    assert similarity - blank >= 0.02  # far closer than an empty picture


def test_it_rounds_coordinates_to_the_path_precision(bench_dir):
    image = _normalized(bench_dir, "logo_ruby.png")

    result = trace(image.png, preset="poster", overrides={"path_precision": 1})

    numbers = re.findall(r"-?\d*\.\d+", " ".join(re.findall(r' d="([^"]*)"', result.svg)))
    assert numbers, "expected some fractional coordinates at precision 1"
    assert all(len(number.split(".")[1]) <= 1 for number in numbers)


def test_it_records_metrics(bench_dir):
    image = _normalized(bench_dir, "emoji_1F309.png")

    result = trace(image.png, preset="logo")

    assert result.preset == "logo"
    assert result.parameters == PRESETS["logo"]
    assert result.metrics["svg_bytes"] == len(result.svg.encode())
    assert result.metrics["node_count"] > result.metrics["path_count"]
    assert 1 <= result.metrics["color_count"] <= result.metrics["path_count"]
    assert result.metrics["engine_ms"] >= 0


def test_it_moves_translated_paths_and_writes_numbers_compactly():
    data, points = rewrite_path_data("M0 0 L10.26 -0.04 C1 2 3 4 5 6 Z", 2, 3, 1)

    assert data == "M2 3H12.3C3 5 5 7 7 9z"
    assert points == 5


@pytest.mark.parametrize(
    ("value", "precision", "text"),
    [(0.5, 2, ".5"), (-0.5, 1, "-.5"), (-0.04, 1, "0"), (12.0, 3, "12"), (3.14159, 2, "3.14")],
)
def test_it_formats_numbers_in_their_shortest_form(value, precision, text):
    assert format_number(value, precision) == text


def test_it_turns_a_vtracer_panic_into_trace_failed(bench_dir):
    image = _normalized(bench_dir, "logo_ruby.png")

    # color_precision 0 makes vtracer 0.6 panic in Rust (a pyo3 PanicException, a BaseException).
    with pytest.raises(TraceFailed) as caught:
        run_vtracer(image.png, {**PRESETS["logo"], "color_precision": 0})

    assert "could not process" in caught.value.message
    assert "assertion failed" in caught.value.details["engine_message"]


def test_it_rejects_unknown_presets_and_out_of_range_parameters():
    with pytest.raises(InvalidParameters) as caught:
        validate_parameters("sketchy", {"filter_speckle": 500, "mode": "wavy", "colour": 1})

    assert caught.value.details == {
        "preset": "must be one of: auto, photo, poster, clipart, logo, lineart, pixelart",
        "filter_speckle": "must be between 0 and 128",
        "mode": "must be one of: spline, polygon, none",
        "colour": "is not a vectorization parameter",
    }


def test_it_cleans_numbers_given_as_text():
    assert validate_parameters("logo", {"filter_speckle": "8", "length_threshold": "4.5"}) == {
        "filter_speckle": 8,
        "length_threshold": 4.5,
    }


def test_it_traces_line_art_in_black_and_white_from_gray_levels():
    # Pure blue is dark: vtracer's own binary mode reads only the red channel and would miss it.
    image = Image.new("RGB", (64, 64), "white")
    image.paste((0, 0, 255), (16, 16, 48, 48))
    normalized = normalize_image(png_bytes(image), max_pixels=10_000)

    result = trace(normalized.png, preset="lineart")

    assert result.metrics["path_count"] >= 1
    assert render_similarity(result.svg, png_bytes(image.convert("L").point(lambda v: v))) > 0.9


def test_it_picks_flat_art_presets_for_a_logo_and_photo_for_a_photo(bench_dir):
    assert trace(_normalized(bench_dir, "logo_ruby.png").png).preset in ("logo", "clipart")
    assert trace(_normalized(bench_dir, "skimage_astronaut.png").png).preset == "photo"


def test_it_imports_without_django():
    code = (
        "import sys, vectorize.engine\n"
        "loaded = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_it_uses_only_the_given_palette(bench_dir):
    image = _normalized(bench_dir, "emoji_1F309.png")
    brand = ["#112233", "#ffcc00", "#ffffff"]

    result = trace(image.png, preset="clipart", overrides={"palette": ["#123", "#FFCC00", "fff"]})

    fills = set(re.findall(r'fill="([^"]+)"', result.svg))
    expanded = {f"#{c[1] * 2}{c[2] * 2}{c[3] * 2}" if len(c) == 4 else c for c in fills}
    assert expanded <= set(brand)
    assert result.parameters["palette"] == brand


def test_it_reduces_to_at_most_max_colors(bench_dir):
    image = _normalized(bench_dir, "skimage_coffee.png")

    result = trace(image.png, preset="photo", overrides={"max_colors": 4})

    assert result.metrics["color_count"] <= 4
    assert result.parameters["max_colors"] == 4


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"palette": ["#12345g"]}, "palette"),
        ({"palette": []}, "palette"),
        ({"max_colors": 1}, "max_colors"),
        ({"max_colors": 257}, "max_colors"),
    ],
)
def test_it_rejects_bad_color_options(overrides, problem):
    with pytest.raises(InvalidParameters) as caught:
        validate_parameters("auto", overrides)

    assert list(caught.value.details) == [problem]


def test_it_keeps_a_transparent_background_transparent(bench_dir):
    image = _normalized(bench_dir, "emoji_1F309.png")
    assert image.has_alpha

    result = trace(image.png)

    rendered = Image.open(io.BytesIO(render_png(result.svg, image.width, image.height)))
    assert rendered.convert("RGBA").getpixel((2, 2))[3] == 0
    assert rendered.convert("RGBA").getpixel((256, 256))[3] == 255


def test_it_maps_presets_to_their_documented_settings():
    assert PRESETS["photo"] == {
        **VTRACER_DEFAULTS,
        "mode": "polygon",
        "color_precision": 7,
        "path_precision": 1,
    }
    assert PRESETS["logo"]["mode"] == PRESETS["clipart"]["mode"] == "polygon"
    assert PRESETS["lineart"]["colormode"] == "binary"
    assert PRESETS["pixelart"]["mode"] == "none"
    assert PRESETS["poster"]["mode"] == "spline"
    assert set(PRESETS) == {"photo", "poster", "clipart", "logo", "lineart", "pixelart"}


def test_it_splits_faint_line_art_at_its_own_gray_levels():
    # Light gray pencil on off-white: a fixed threshold of 128 would see no ink at all.
    image = Image.new("RGB", (64, 64), (235, 235, 235))
    image.paste((170, 170, 170), (8, 28, 56, 36))
    normalized = normalize_image(png_bytes(image), max_pixels=10_000)

    result = trace(normalized.png, preset="lineart")

    assert result.metrics["path_count"] >= 1
    rendered = Image.open(io.BytesIO(render_png(result.svg, 64, 64))).convert("RGBA")
    assert rendered.getpixel((32, 32))[3] == 255  # the stroke is drawn
    assert rendered.getpixel((2, 2))[3] == 0  # the paper is not
