import contextlib
import json
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import psutil
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from accounts.models import User
from accounts.services import api_key_create
from payments.services import credits_book
from vectorize import benchreport, engine, localstack
from vectorize.engine.fidelity import fidelity_report
from vectorize.models import Vectorization

SECTION = "pipeline-benchmark"
WORKERS = 2
FINISHED = (Vectorization.Status.SUCCEEDED, Vectorization.Status.FAILED)


def _raw_job(data: bytes) -> int:
    """What the stack does to one upload, without the stack: normalise, trace, fidelity report."""
    image = engine.normalize_image(data, max_pixels=settings.MAX_IMAGE_PIXELS)
    result = engine.trace(image.png)
    result.metrics.update(fidelity_report(result.svg, image.png))
    return len(result.svg)


class Command(BaseCommand):
    help = (
        "Pipeline benchmark (part of `make bench`): N jobs through gunicorn and a 2-worker Q "
        "cluster in production mode on PostgreSQL and Redis, against the raw engine in 2 "
        "processes on the same images; then the queued-to-running delay on the ORM and Redis "
        "brokers. Writes docs/BENCHMARKS.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--corpus", default=str(benchreport.DEFAULT_CORPUS))
        parser.add_argument("--rounds", type=int, default=2, help="Times the corpus is sent.")
        parser.add_argument("--delay-jobs", type=int, default=30, help="Jobs per broker.")
        parser.add_argument("--output", default=str(benchreport.DEFAULT_PATH))
        parser.add_argument("--no-write", action="store_true", help="Print only.")

    def handle(self, *args, corpus, rounds, delay_jobs, output, no_write, **options):
        benchreport.require_postgres_and_redis()
        corpus = Path(corpus)
        manifest = json.loads((corpus / "manifest.json").read_text())
        uploads = [(entry["file"], (corpus / entry["file"]).read_bytes()) for entry in manifest]
        uploads = uploads * rounds
        kinds = sorted({entry["kind"] for entry in manifest})

        self.stderr.write(f"Raw engine: {len(uploads)} jobs in {WORKERS} processes...")
        raw_seconds = _raw_engine(uploads)
        work = Path(tempfile.mkdtemp(prefix="vectorcraft-bench-"))
        try:
            key = _bench_account()
            self.stderr.write(f"Stack: {len(uploads)} jobs through the API...")
            stack_seconds, failed, cpu, redis_delays = self._through_stack(
                work, key, uploads, delay_jobs
            )
            self.stderr.write(f"ORM broker: {delay_jobs} jobs one at a time...")
            orm_delays = self._delays_only(work, key, uploads[0], delay_jobs)
        finally:
            shutil.rmtree(work, ignore_errors=True)

        n = len(uploads)
        ratio = raw_seconds / stack_seconds
        start, end = benchreport.markers(SECTION)
        section = "\n".join(
            [
                start,
                "## Pipeline: the deployed stack against the raw engine",
                "",
                "Command: `make bench` (`python manage.py bench_pipeline`), "
                f"{benchreport.machine()}.",
                "",
                f"{n} jobs: the corpus ({len(manifest)} images: {', '.join(kinds)}) sent "
                f"{rounds} times. **Stack**: gunicorn and a Q cluster with {WORKERS} workers in "
                "production mode on PostgreSQL, the Redis broker and file storage; the jobs are "
                "posted to the API from 4 client threads, timed from the first post to the last "
                "job finished. **Raw engine**: the same images through the same engine steps "
                "(normalise, trace `auto`, fidelity report) in a pool of "
                f"{WORKERS} processes, in the same run.",
                "",
                benchreport.markdown_table(
                    ["path", "jobs", "seconds", "jobs/s", "failed"],
                    [
                        ["raw engine", n, f"{raw_seconds:.1f}", f"{n / raw_seconds:.2f}", 0],
                        ["stack", n, f"{stack_seconds:.1f}", f"{n / stack_seconds:.2f}", failed],
                    ],
                ),
                "",
                f"- Stack throughput / raw engine throughput: **{ratio:.2f}x** (goal >= 0.9x).",
                f"- CPU used during the stack run: web node {cpu['web']:.1f} s "
                f"({cpu['web'] / n * 1000:.0f} ms a job), Q cluster {cpu['worker']:.1f} s "
                f"({cpu['worker'] / n * 1000:.0f} ms a job); the raw engine used at most "
                f"{raw_seconds * WORKERS:.1f} s ({raw_seconds * WORKERS / n * 1000:.0f} ms a job: "
                "its wall time on both cores).",
                "",
                f"Queued to running: {delay_jobs} small jobs (`{uploads[0][0]}`) posted one at a "
                "time on an idle cluster, each after the one before finished; the delay is the "
                "job's `started_at` (the worker took it) minus `enqueued_at` (just before the "
                "message was sent). The ORM broker polls every `Q_POLL` = 0.2 s.",
                "",
                benchreport.markdown_table(
                    ["broker", "jobs", "median ms", "p95 ms", "max ms"],
                    [_delay_row("orm", orm_delays), _delay_row("redis", redis_delays)],
                ),
                "",
                f"- Median delay on Redis: **{statistics.median(redis_delays):.0f} ms** "
                "(goal <= 50 ms).",
                end,
            ]
        )
        self.stdout.write(section)
        if not no_write:
            benchreport.write_section(Path(output), SECTION, section)
            self.stderr.write(f"Wrote {output}")

    def _stack(self, work: Path, broker: str) -> tuple[localstack.Stack, str]:
        env = localstack.production_env(
            database_url=localstack.database_url(settings.DATABASES["default"]),
            redis_url=settings.REDIS_URL,
            static_root=work / "static",
            media_env={"MEDIA_ROOT": str(work / "media")},
        )
        env.update({"Q_BROKER": broker, "Q_WORKERS": str(WORKERS), "API_SUBMIT_RATE": "100000/min"})
        stack = localstack.Stack(work / f"nodes-{broker}", env)
        url = stack.start_web("web")
        stack.start_cluster("worker")
        stack.wait_ready(url)
        return stack, url

    def _through_stack(self, work, key, uploads, delay_jobs):
        stack, url = self._stack(work, "redis")
        try:
            post = _poster(url, key)
            nodes = {"web": stack.processes["web"], "worker": stack.processes["worker"]}
            cpu_before = {name: _cpu_seconds(process) for name, process in nodes.items()}
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                ids = list(pool.map(post, uploads))
            _wait_finished(ids)
            seconds = time.monotonic() - started
            cpu = {name: _cpu_seconds(nodes[name]) - cpu_before[name] for name in nodes}
            failed = Vectorization.objects.filter(
                pk__in=ids, status=Vectorization.Status.FAILED
            ).count()
            delays = _delays(post, uploads[0], delay_jobs)
        finally:
            stack.stop()
        return seconds, failed, cpu, delays

    def _delays_only(self, work, key, upload, delay_jobs):
        stack, url = self._stack(work, "orm")
        try:
            return _delays(_poster(url, key), upload, delay_jobs)
        finally:
            stack.stop()


def _cpu_seconds(process) -> float:
    """User + system CPU of a node's process and every process it started."""
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for member in tree:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def _raw_engine(uploads) -> float:
    with ProcessPoolExecutor(WORKERS) as pool:
        list(pool.map(_raw_job, [uploads[0][1]] * WORKERS))  # warm the processes up
        started = time.monotonic()
        list(pool.map(_raw_job, [data for _, data in uploads]))
        return time.monotonic() - started


def _bench_account() -> str:
    user = User.objects.create_user(email=f"bench-{time.time_ns()}@example.com", password=None)
    credits_book(user=user, delta=1_000_000, kind="staff", key=f"bench:{user.pk}")
    return api_key_create(user=user, name="bench")[1]


def _poster(url: str, key: str):
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"

    def post(upload) -> str:
        name, data = upload
        response = session.post(
            f"{url}/api/v1/vectorizations/", files={"image": (name, data)}, timeout=120
        )
        if response.status_code != 202:
            raise CommandError(f"{name}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()["id"]

    return post


def _wait_finished(ids, timeout: float = 1800) -> None:
    def finished():
        close_old_connections()
        return Vectorization.objects.filter(pk__in=ids, status__in=FINISHED).count() == len(ids)

    localstack.wait_for(finished, timeout=timeout, interval=0.05, message="jobs did not finish")


def _delays(post, upload, count: int) -> list[float]:
    delays = []
    for _ in range(count):
        job_id = post(upload)
        _wait_finished([job_id])
        job = Vectorization.objects.get(pk=job_id)
        delays.append((job.started_at - job.enqueued_at).total_seconds() * 1000)
    return delays


def _delay_row(broker: str, delays: list[float]) -> list:
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return [
        broker,
        len(delays),
        f"{statistics.median(delays):.0f}",
        f"{p95:.0f}",
        f"{ordered[-1]:.0f}",
    ]
