import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import api_key_create
from benchmarks import localstack
from benchmarks import report as benchreport
from payments.services import credits_book
from vectorize import services

SECTION = "load-test"
LOCUSTFILE = Path(__file__).resolve().parents[2] / "locustfile.py"
LOCUST = Path(sys.executable).with_name("locust")
STATUS = "GET /api/v1/vectorizations/{id}/"
LIVE = "GET /health/live"
THROTTLED = "throttled (429)"


class Command(BaseCommand):
    help = (
        "Load test (`make loadtest`): start gunicorn and a Q cluster in production mode on this "
        "PostgreSQL and Redis, run locust headless on loopback (mixed load, then /health/live and "
        "job status alone), print the figures and write them into docs/BENCHMARKS.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--seconds", type=int, default=60, help="Length of the mixed load.")
        parser.add_argument(
            "--probe-seconds", type=int, default=20, help="Length of each one-endpoint run."
        )
        parser.add_argument("--corpus", default=str(benchreport.DEFAULT_CORPUS))
        parser.add_argument("--output", default=str(benchreport.DEFAULT_PATH))
        parser.add_argument("--no-write", action="store_true", help="Print only.")

    def handle(self, *args, users, seconds, probe_seconds, corpus, output, no_write, **options):
        benchreport.require_postgres_and_redis()
        database = settings.DATABASES["default"]
        work = Path(tempfile.mkdtemp(prefix="vectorcraft-loadtest-"))
        try:
            images = self._small_images(Path(corpus), work / "images")
            accounts = self._seed(users, images, work)
            self.stderr.write("Collecting static files for production mode...")
            static_root = work / "static"
            env = localstack.production_env(
                database_url=localstack.database_url(database),
                redis_url=settings.REDIS_URL,
                static_root=static_root,
                media_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)},
            )
            localstack.collect_static(env)
            stack = localstack.Stack(work / "nodes", env)
            try:
                url = stack.start_web("web")
                stack.start_cluster("worker")
                stack.wait_ready(url)
                runs = {}
                for name, user_class, length in (
                    ("live", "LiveProbe", probe_seconds),
                    ("status", "StatusProbe", probe_seconds),
                    ("mixed", "Visitor", seconds),
                ):
                    # Each run starts with the rate limits' budgets full: the status probe
                    # spends the keys' reads for the minute, which the mixed load would
                    # otherwise meet as 429s.
                    cache.delete_pattern("throttle_*")
                    runs[name] = self._locust(url, user_class, users, length, work, accounts)
            finally:
                stack.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        section = _report(runs, users=users, seconds=seconds, probe_seconds=probe_seconds)
        self.stdout.write(section)
        if not no_write:
            benchreport.write_section(Path(output), SECTION, section)
            self.stderr.write(f"Wrote {output}")

    def _small_images(self, corpus: Path, folder: Path) -> list[Path]:
        folder.mkdir(parents=True)
        manifest = json.loads((corpus / "manifest.json").read_text())
        small = [
            corpus / entry["file"]
            for entry in manifest
            if entry.get("kind") in ("clipart", "logo") and entry["file"].endswith(".png")
        ][:12]
        if not small:
            raise CommandError(f"No clipart or logo PNGs in {corpus}.")
        for path in small:
            shutil.copy(path, folder / path.name)
        return [folder / path.name for path in small]

    def _seed(self, users: int, images: list[Path], work: Path) -> Path:
        """One account per simulated user, with credits, a key and one finished job to fetch."""
        self.stderr.write(f"Creating {users} accounts, each with a finished job...")
        cache.clear()  # rate-limit counters of an earlier run
        run = work.name.rsplit("-", 1)[-1]
        accounts = []
        for number in range(users):
            user = User.objects.create_user(email=f"load-{run}-{number}@example.com", password=None)
            credits_book(user=user, delta=10_000, kind="staff", key=f"load:{user.pk}")
            image = images[number % len(images)]
            job = services.vectorization_create(
                owner=user,
                upload=SimpleUploadedFile(image.name, image.read_bytes()),
                enqueue=False,
            )
            services.vectorization_run(vectorization_id=job.pk)
            accounts.append({"key": api_key_create(user=user, name="load")[1], "job_ids": [
                str(job.pk)
            ]})  # fmt: skip
        path = work / "accounts.json"
        path.write_text(json.dumps(accounts))
        return path

    def _locust(self, url, user_class, users, seconds, work, accounts) -> dict:
        self.stderr.write(f"locust: {users} {user_class} users for {seconds} s against {url}")
        return locust_run(
            url, user_class, users=users, seconds=seconds, work=work, accounts=accounts
        )


def locust_run(url, user_class, *, users, seconds, work: Path, accounts: Path) -> dict:
    """Run one of benchmarks/locustfile.py's user classes headless; locust's CSV rows of it: its
    "stats" (one per endpoint, then "Aggregated") and its "failures"."""
    prefix = work / user_class
    command = [
        str(LOCUST),
        "--locustfile", str(LOCUSTFILE),
        "--headless",
        "--users", str(users),
        "--spawn-rate", str(users),
        "--run-time", f"{seconds}s",
        "--host", url,
        "--csv", str(prefix),
        "--only-summary",
        "--stop-timeout", "10",
        "--loglevel", "WARNING",
        user_class,
    ]  # fmt: skip
    env = {
        **os.environ,
        "LOADTEST_ACCOUNTS": str(accounts),
        "LOADTEST_IMAGES": str(work / "images"),
    }
    # locust exits 1 when any request failed, 429s included: the report sorts them out.
    subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv") as stats, open(f"{prefix}_failures.csv") as failures:
        return {
            "stats": list(csv.DictReader(stats)),
            "failures": list(csv.DictReader(failures)),
        }


def per_endpoint(run: dict) -> tuple[list[list], dict]:
    """A run's table rows (endpoint, requests, req/s, p50, p95, p99, 429s, errors; the total
    last) and each endpoint's rate of requests served, 429s and errors left out (req/s)."""
    throttled = Counter()
    for row in run["failures"]:
        # locust records the failure as the exception's repr: CatchResponseError('...').
        if THROTTLED in row["Error"]:
            throttled[row["Name"]] += int(row["Occurrences"])
    rows, total, served = [], None, {}
    for row in run["stats"]:
        name = row["Name"]
        requests, failures = int(row["Request Count"]), int(row["Failure Count"])
        limited = sum(throttled.values()) if name == "Aggregated" else throttled[name]
        served[name] = float(row["Requests/s"]) * (requests - failures) / max(requests, 1)
        entry = [
            name,
            requests,
            f"{float(row['Requests/s']):.1f}",
            row["50%"],
            row["95%"],
            row["99%"],
            limited,
            failures - limited,
        ]
        if name == "Aggregated":
            total = entry
        else:
            rows.append(entry)
    return [*rows, total], served


def _report(runs: dict, *, users: int, seconds: int, probe_seconds: int) -> str:
    header = ["endpoint", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "429s", "errors"]
    mixed_rows, _ = per_endpoint(runs["mixed"])
    live_rows, live_rates = per_endpoint(runs["live"])
    status_rows, status_rates = per_endpoint(runs["status"])
    ratio = status_rates[STATUS] / live_rates[LIVE]
    errors = sum(row[7] for rows in (mixed_rows, live_rows, status_rows) for row in rows[-1:])
    start, end = benchreport.markers(SECTION)
    return "\n".join(
        [
            start,
            "## Load test: one web node under 100 users",
            "",
            f"Command: `make loadtest` (`python manage.py loadtest`), {benchreport.machine()}. "
            "gunicorn (`gunicorn.conf.py` defaults: gthread, 2 x cores + 1 processes, 4 threads) "
            "and a Q cluster (2 workers) in production mode on PostgreSQL and Redis, with "
            "locust on the same machine over loopback, so load generator, web and workers "
            "share the two cores.",
            "",
            f"Mixed load: {users} users for {seconds} s, each waiting 0.5-1.5 s between "
            "requests: job status polls (10), page views (3), job lists (2), SVG downloads (2), "
            "submits of small PNGs (1), /health/live (1).",
            "",
            benchreport.markdown_table(header, mixed_rows),
            "",
            f"Job status against /health/live, each alone before the mixed load: {users} users "
            f"without pauses for {probe_seconds} s each, one after the other on the same server, "
            "each user with an account of its own under the production rate limits.",
            "",
            benchreport.markdown_table(header, live_rows[:-1] + status_rows[:-1]),
            "",
            f"- Job-status GET rate / /health/live rate: **{ratio:.2f}** (goal >= 0.5): "
            f"{status_rates[STATUS]:,.0f} against {live_rates[LIVE]:,.0f} requests served a "
            "second (429s and errors left out).",
            f"- Errors other than 429 over all runs: **{errors}** (goal 0).",
            end,
        ]
    )
