from pathlib import Path

from django.core.management.base import BaseCommand

from benchmarks import engine as benchmark
from benchmarks import report as benchreport

SECTION = "engine-benchmark"
START, END = benchreport.markers(SECTION)


class Command(BaseCommand):
    help = (
        "Benchmark the engine on the image corpus: auto against vtracer's defaults and polygon "
        "mode, plus 1 vs 16 megapixel scaling; print the tables and write them into "
        "docs/BENCHMARKS.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--corpus", default=str(benchreport.DEFAULT_CORPUS))
        parser.add_argument("--output", default=str(benchreport.DEFAULT_PATH))
        parser.add_argument("--no-write", action="store_true", help="Print only.")

    def handle(self, *args, corpus, output, no_write, **options):
        corpus = Path(corpus)
        self.stderr.write(f"Tracing every image in {corpus} three ways...")
        quality = benchmark.markdown_table(benchmark.summarize(benchmark.measure(corpus, repeat=3)))
        self.stderr.write("Scaling runs at 1 and 16 megapixels...")
        scaling = benchmark.scaling_table(benchmark.scaling(corpus))
        self.stderr.write("Real-world uploads (phone photos, screenshots, scans, strips)...")
        real_world = benchmark.real_world_table(benchmark.real_world(corpus))
        section = "\n".join(
            [
                START,
                "## Engine: quality, size and speed",
                "",
                "Command: `make bench` (`python manage.py bench_engine`), "
                f"{benchreport.machine()}.",
                "",
                "Each image is normalised as an upload would be, then traced three ways in the "
                "same run: `auto` (VectorCraft's engine: analysis, preset, tracing, SVG clean-up), "
                "vtracer 0.6 defaults, and vtracer with `mode=polygon, path_precision=1`. SSIM "
                "compares a resvg render of each SVG with the input, both on white (RGB). Time is "
                "the best of three runs, from PNG bytes to SVG text; the fidelity report itself is "
                'not included. "worst time vs defaults" is the largest ratio over the kind\'s '
                "images.",
                "",
                quality,
                "",
                "Scaling: the artist's SVG rendered at 1024x1024 and 4096x4096 on white, each job "
                "(normalise + trace auto) in a fresh process; peak memory is that process's "
                "maximum resident size.",
                "",
                scaling,
                "",
                "Real-world uploads: inputs shaped like what people send (made by "
                "`vectorize/tests/realworld.py` from the corpus's photos and scan), each job "
                "(normalise + trace `auto`, then the fidelity report) in a fresh process. "
                "`estimate s` is the cost estimate the service makes before accepting an image "
                "(CPU seconds; over `JOB_TIMEOUT`, 300, it is refused), `seconds` normalising and "
                "tracing, `fidelity s` the report after it.",
                "",
                real_world,
                END,
            ]
        )
        self.stdout.write(section)
        if not no_write:
            benchreport.write_section(Path(output), SECTION, section)
            self.stderr.write(f"Wrote {output}")
