"""Engine benchmark over the image corpus: `auto` against two vtracer reference settings.

Plain Python: `python -m benchmarks.engine ../shared/bench/public`, or
`manage.py bench_engine` (which `make bench` calls) to also write docs/BENCHMARKS.md.
"""

import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import vtracer
from PIL import Image

from vectorize.engine.cost import estimate_seconds
from vectorize.engine.fidelity import fidelity_report, render_png, ssim
from vectorize.engine.images import normalize_image
from vectorize.engine.tracing import trace

KINDS = ("clipart", "logo", "photo", "scan", "graphic")


@dataclass(frozen=True)
class Method:
    name: str
    run: object  # callable: png bytes -> svg text


def _vtracer_defaults(png: bytes) -> str:
    return vtracer.convert_raw_image_to_svg(png, img_format="png")


def _vtracer_polygon(png: bytes) -> str:
    return vtracer.convert_raw_image_to_svg(png, img_format="png", mode="polygon", path_precision=1)


def _auto(png: bytes) -> str:
    return trace(png, preset="auto").svg


METHODS = (
    Method("auto", _auto),
    Method("vtracer defaults", _vtracer_defaults),
    Method("polygon, path_precision=1", _vtracer_polygon),
)


@dataclass(frozen=True)
class Measurement:
    file: str
    kind: str
    method: str
    ssim: float
    svg_bytes: int
    original_bytes: int | None
    seconds: float


def measure(corpus: Path, repeat: int = 1) -> list[Measurement]:
    manifest = json.loads((corpus / "manifest.json").read_text())
    results = []
    for entry in manifest:
        image = normalize_image((corpus / entry["file"]).read_bytes(), max_pixels=40_000_000)
        picture = Image.open(io.BytesIO(image.png))
        picture.load()
        original = entry.get("original_svg")
        original_bytes = (corpus / original).stat().st_size if original else None
        for method in METHODS:
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                svg = method.run(image.png)
                timings.append(time.perf_counter() - started)
            results.append(
                Measurement(
                    file=entry["file"],
                    kind=entry["kind"],
                    method=method.name,
                    ssim=ssim(svg, picture),
                    svg_bytes=len(svg.encode()),
                    original_bytes=original_bytes,
                    seconds=min(timings),
                )
            )
    return results


def summarize(results: list[Measurement]) -> list[dict]:
    groups = defaultdict(list)
    for row in results:
        groups[(row.kind, row.method)].append(row)
    defaults_time = {row.file: row.seconds for row in results if row.method == "vtracer defaults"}
    rows = []
    for kind in KINDS:
        for method in METHODS:
            members = groups.get((kind, method.name))
            if not members:
                continue
            ratios = [m.svg_bytes / m.original_bytes for m in members if m.original_bytes]
            time_ratios = [m.seconds / defaults_time[m.file] for m in members]
            rows.append(
                {
                    "kind": kind,
                    "method": method.name,
                    "n": len(members),
                    "mean_ssim": statistics.fmean(m.ssim for m in members),
                    "mean_kb": statistics.fmean(m.svg_bytes for m in members) / 1024,
                    "median_vs_original": statistics.median(ratios) if ratios else None,
                    "mean_ms": statistics.fmean(m.seconds for m in members) * 1000,
                    "max_time_vs_defaults": max(time_ratios),
                }
            )
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| kind | method | n | mean SSIM | mean SVG KB | median bytes vs original SVG "
        "| mean ms | worst time vs defaults |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row["median_vs_original"]
        lines.append(
            f"| {row['kind']} | {row['method']} | {row['n']} | {row['mean_ssim']:.3f} "
            f"| {row['mean_kb']:.1f} | {'-' if ratio is None else f'{ratio:.2f}x'} "
            f"| {row['mean_ms']:.0f} | {row['max_time_vs_defaults']:.2f}x |"
        )
    return "\n".join(lines)


SCALING_IMAGES = ("emoji_1F309.orig.svg", "logo_ruby.orig.svg")
SCALING_SIDES = (1024, 4096)  # 1 and 16 megapixels


def job_cost(path: Path) -> dict:
    """Time and peak memory of one job (normalise + trace auto + fidelity report) in this
    process, from the file as uploaded."""
    estimate = estimate_seconds(normalize_image(path.read_bytes(), max_pixels=40_000_000).png)
    started = time.perf_counter()
    image = normalize_image(path.read_bytes(), max_pixels=40_000_000)
    result = trace(image.png, preset="auto")
    traced = time.perf_counter()
    report = fidelity_report(result.svg, image.png)
    return {
        "estimate_seconds": estimate,
        "seconds": traced - started,
        "fidelity_seconds": time.perf_counter() - traced,
        "peak_mb": _peak_rss_mb(),
        "megapixels": image.pixels / 1_000_000,
        "width": image.width,
        "height": image.height,
        "preset": result.preset,
        "ssim": report["ssim"],
        "svg_kb": len(result.svg.encode()) / 1024,
    }


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries
    that across exec, so a job started from a large benchmark process would report the parent's
    resident size at the fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def estimate_only(path: Path) -> dict:
    """The cost estimate alone, for an input the service refuses (tracing it would take hours)."""
    image = normalize_image(path.read_bytes(), max_pixels=40_000_000)
    return {
        "estimate_seconds": estimate_seconds(image.png),
        "width": image.width,
        "height": image.height,
    }


def _job_in_fresh_process(path: Path, mode: str = "--job") -> dict:
    output = subprocess.run(  # noqa: S603 (our own module, fixed arguments)
        [sys.executable, "-m", "benchmarks.engine", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def scaling(corpus: Path) -> list[dict]:
    """Each original SVG rendered at 1 and 16 megapixels, each job run in a fresh process so its
    peak memory is its own."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in SCALING_IMAGES:
            svg = (corpus / name).read_text()
            for side in SCALING_SIDES:
                png_path = Path(folder) / f"{side}.png"
                png_path.write_bytes(render_png(svg, side, side, background="white"))
                rows.append({"image": name, "side": side, **_job_in_fresh_process(png_path)})
    return rows


def real_world(corpus: Path) -> list[dict]:
    """Uploads as people send them (phone photos, screenshots, scans, odd sizes, strips, an
    image at the pixel limit), each job in a fresh process so its peak memory is its own."""
    # Imported here: the generators draw on the corpus and are shared with the tests.
    from vectorize.tests import realworld

    inputs = {
        "12 MP phone photo, JPEG, EXIF rotated": realworld.phone_photo(
            corpus, orientation=realworld.ROTATED_90_CLOCKWISE
        ),
        "phone screenshot, PNG": realworld.phone_screenshot(),
        "A4 scan at 300 dpi, JPEG q70": realworld.scanned_page(corpus),
        "photo 2048x1365, JPEG": realworld.photo_of_size(corpus, 2048, 1365),
        "photo 1100x733, WebP": realworld.photo_of_size(corpus, 1100, 733, fmt="WEBP"),
        "strip 5000x10, PNG": realworld.strip(5000, 10),
        "strip 1x1025, PNG": realworld.strip(1, 1025),
        "flat art at the 40 MP limit, PNG": realworld.flat_art(8000, 5000),
        "1-bit noise at 2 MP, PNG": realworld.noise(1414, 1414),
    }
    # Refused by the estimate (it would run for hours): estimated only.
    refused = {"1-bit noise at the 40 MP limit, PNG": realworld.noise(8000, 5000)}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, data in [*inputs.items(), *refused.items()]:
            path = Path(folder) / "upload"
            path.write_bytes(data)
            mode = "--estimate" if name in refused else "--job"
            measured = _job_in_fresh_process(path, mode)
            rows.append({"input": name, "upload_kb": len(data) / 1024, **measured})
    return rows


def real_world_table(rows: list[dict]) -> str:
    lines = [
        "| input | upload KB | size | preset | estimate s | seconds | fidelity s | peak MB "
        "| SSIM | SVG KB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        size = f"{row['width']}x{row['height']}"
        estimate = f"{row['estimate_seconds']:.1f}"
        if "seconds" not in row:
            lines.append(
                f"| {row['input']} | {row['upload_kb']:.0f} | {size} | - | {estimate} "
                "| refused (too_complex) | - | - | - | - |"
            )
            continue
        lines.append(
            f"| {row['input']} | {row['upload_kb']:.0f} | {size} | {row['preset']} | {estimate} "
            f"| {row['seconds']:.2f} | {row['fidelity_seconds']:.2f} | {row['peak_mb']:.0f} "
            f"| {row['ssim']:.3f} | {row['svg_kb']:.0f} |"
        )
    return "\n".join(lines)


def scaling_table(rows: list[dict]) -> str:
    lines = [
        "| image | size | megapixels | seconds | ms per megapixel | peak memory MB |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['image']} | {row['side']}x{row['side']} | {row['megapixels']:.1f} "
            f"| {row['seconds']:.2f} | {row['seconds'] * 1000 / row['megapixels']:.0f} "
            f"| {row['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[1] in ("--job", "--estimate"):
        measure_one = job_cost if argv[1] == "--job" else estimate_only
        print(json.dumps(measure_one(Path(argv[2]))))
        return
    corpus = Path(argv[1] if len(argv) > 1 else "../shared/bench/public")
    print(markdown_table(summarize(measure(corpus))))
    print()
    print(scaling_table(scaling(corpus)))
    print()
    print(real_world_table(real_world(corpus)))


if __name__ == "__main__":
    main(sys.argv)
