"""Engine benchmark over the image corpus: `auto` against two vtracer reference settings.

Plain Python: `python -m vectorize.engine.benchmark ../shared/bench/public`, or
`manage.py bench_engine` (which `make bench` calls) to also write docs/BENCHMARKS.md.
"""

import io
import json
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import vtracer
from PIL import Image

from vectorize.engine.fidelity import ssim
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


def main(argv: list[str]) -> None:
    corpus = Path(argv[1] if len(argv) > 1 else "../shared/bench/public")
    print(markdown_table(summarize(measure(corpus))))


if __name__ == "__main__":
    main(sys.argv)
