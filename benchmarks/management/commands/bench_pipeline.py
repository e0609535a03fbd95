import contextlib
import http.client
import json
import shlex
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone
from urllib3 import encode_multipart_formdata

from accounts.models import User
from accounts.services import api_key_create
from benchmarks import localstack
from benchmarks import report as benchreport
from payments.services import credits_book
from vectorize import engine
from vectorize.engine.fidelity import fidelity_report
from vectorize.errors import VectorizeErrorCode
from vectorize.models import Vectorization

SECTION = "pipeline-benchmark"
WORKERS = 2
FINISHED = (Vectorization.Status.SUCCEEDED, Vectorization.Status.FAILED)
BENCH_EMAIL_PREFIX = "bench-"
CPU_PARTS = {
    "web": "web node (gunicorn)",
    "worker": "Q cluster",
    "postgresql": "PostgreSQL",
    "redis": "Redis",
    "client": "client (this command, posting and polling)",
}


@dataclass(frozen=True)
class RawJob:
    """One job of the raw engine: when it started and ended (epoch seconds, a clock every
    process shares), and the CPU seconds its process spent on each of the engine's steps."""

    started: float
    ended: float
    normalise_cpu: float
    trace_cpu: float  # tracing and the fidelity report


def _raw_job(data: bytes) -> RawJob:
    """What the stack does to one upload, without the stack: normalise, trace, fidelity report."""
    started, cpu_started = time.time(), time.process_time()
    image = engine.normalize_image(data, max_pixels=settings.MAX_IMAGE_PIXELS)
    normalised = time.process_time()
    result = engine.trace(image.png)
    result.metrics.update(fidelity_report(result.svg, image.png))
    return RawJob(started, time.time(), normalised - cpu_started, time.process_time() - normalised)


def stack_extra_cpu(cpu: dict) -> dict:
    """Where the stack's CPU beyond the raw engine's goes, from the CPU seconds of each part:
    the web node's beyond the engine's normalising (which it does for each upload), the Q
    cluster's beyond tracing and the fidelity report (which its workers do), and the services'.
    The raw engine's steps are timed inside its jobs; its processes' time outside them (taking
    a job and handing back its result) counts against the stack's extra, so the four add up to
    the stack's CPU less the raw engine's."""
    return {
        "web": cpu["web"] - cpu["raw_normalise"],
        "worker": cpu["worker"] - cpu["raw_trace"],
        "services": cpu["postgresql"] + cpu["redis"] + cpu["client"],
        "raw_outside_steps": -(cpu["raw"] - cpu["raw_normalise"] - cpu["raw_trace"]),
    }


def worker_idle(
    jobs: list[tuple[float, float]], *, start: float, workers: int
) -> tuple[float, float]:
    """Where a run's workers had no job, from each job's (started, ended) and the run's start,
    all in seconds: (worker-seconds idle while jobs were still to start, worker-seconds idle
    after the last job started). The first is the gaps between jobs (and before the first); the
    second is the tail, when there was nothing left to hand out while the last jobs ran."""
    end = max(ended for _, ended in jobs)
    last_start = max(started for started, _ in jobs)
    busy_before = sum(min(ended, last_start) - started for started, ended in jobs)
    busy_after = sum(max(0.0, ended - last_start) for _, ended in jobs)
    return (
        workers * (last_start - start) - busy_before,
        workers * (end - last_start) - busy_after,
    )


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
        parser.add_argument(
            "--repeats", type=int, default=5, help="Raw and stack runs, taken in turn."
        )
        parser.add_argument("--delay-jobs", type=int, default=30, help="Jobs per broker.")
        parser.add_argument("--output", default=str(benchreport.DEFAULT_PATH))
        parser.add_argument("--no-write", action="store_true", help="Print only.")

    def handle(self, *args, corpus, rounds, repeats, delay_jobs, output, no_write, **options):
        benchreport.require_postgres_and_redis()
        settled = settle_leftovers()
        if settled:
            self.stderr.write(f"Marked {settled} jobs left by an interrupted run as failed.")
        corpus = Path(corpus)
        manifest = json.loads((corpus / "manifest.json").read_text())
        uploads = [(entry["file"], (corpus / entry["file"]).read_bytes()) for entry in manifest]
        uploads = uploads * rounds
        kinds = sorted({entry["kind"] for entry in manifest})

        work = Path(tempfile.mkdtemp(prefix="vectorcraft-bench-"))
        try:
            key = _bench_account()
            runs, failed, cpu, redis_delays, idle = self._raw_and_stack(
                work, key, uploads, repeats, delay_jobs
            )
            self.stderr.write(f"ORM broker: {delay_jobs} jobs one at a time...")
            orm_delays = self._delays_only(work, key, uploads[0], delay_jobs)
        finally:
            shutil.rmtree(work, ignore_errors=True)

        n = len(uploads)
        raw_seconds = sum(raw for raw, _ in runs)
        stack_seconds = sum(stack for _, stack in runs)
        ratio = raw_seconds / stack_seconds
        jobs = n * len(runs)
        stack_cpu = sum(cpu[name] for name in CPU_PARTS)
        extra = {part: seconds / jobs * 1000 for part, seconds in stack_extra_cpu(cpu).items()}
        command = self._command(
            corpus=str(corpus), rounds=rounds, repeats=repeats, delay_jobs=delay_jobs
        )
        start, end = benchreport.markers(SECTION)
        section = "\n".join(
            [
                start,
                "## Pipeline: the deployed stack against the raw engine",
                "",
                f"Command: {command}, {benchreport.machine()}.",
                "",
                f"{n} jobs a run: the corpus ({len(manifest)} images: {', '.join(kinds)}) sent "
                f"{rounds} times. **Stack**: gunicorn and a Q cluster with {WORKERS} workers in "
                "production mode on PostgreSQL, the Redis broker and file storage; the jobs are "
                "posted to the API one after another, in the raw engine's order, timed from "
                "the first post to the last job's `finished_at`. **Raw engine**: the same images "
                "through the same engine steps (normalise, trace `auto`, fidelity report) in a "
                f"pool of {WORKERS} processes. Both are measured warm: each first gets the same "
                "jobs once, untimed (a process's first pass through large images is slower, about "
                "15% here, while its memory allocator settles). Then they take turns, "
                f"{len(runs)} runs each, so a drift in the machine's speed weighs on both alike; "
                "each idles while the other runs.",
                "",
                benchreport.markdown_table(
                    ["run", "jobs", "raw engine s", "stack s", "stack / raw throughput"],
                    [
                        [number, n, f"{raw:.1f}", f"{stack:.1f}", f"{raw / stack:.2f}x"]
                        for number, (raw, stack) in enumerate(runs, start=1)
                    ]
                    + [
                        [
                            "all",
                            n * len(runs),
                            f"{raw_seconds:.1f}",
                            f"{stack_seconds:.1f}",
                            f"{ratio:.2f}x",
                        ]
                    ],
                ),
                "",
                f"- Stack throughput / raw engine throughput, all runs: **{ratio:.2f}x** "
                f"(goal >= 0.9x); {n * len(runs) / stack_seconds:.2f} against "
                f"{n * len(runs) / raw_seconds:.2f} jobs/s; {failed} stack jobs failed.",
                "",
                "CPU used, all on the same 2 cores:",
                "",
                benchreport.markdown_table(
                    ["part", "CPU s", "ms a job"],
                    [
                        [label, f"{cpu[name]:.1f}", f"{cpu[name] / jobs * 1000:.0f}"]
                        for name, label in CPU_PARTS.items()
                    ]
                    + [
                        ["stack, all", f"{stack_cpu:.1f}", f"{stack_cpu / jobs * 1000:.0f}"],
                        [
                            f"raw engine ({WORKERS} processes)",
                            f"{cpu['raw']:.1f}",
                            f"{cpu['raw'] / jobs * 1000:.0f}",
                        ],
                        *(
                            [label, f"{cpu[name]:.1f}", f"{cpu[name] / jobs * 1000:.0f}"]
                            for name, label in (
                                ("raw_normalise", "... normalising, timed in its jobs"),
                                ("raw_trace", "... tracing and the fidelity report, the same"),
                            )
                        ),
                    ],
                ),
                "",
                f"- The stack's CPU beyond the raw engine's, {sum(extra.values()):.0f} ms a job: "
                f"the web node beyond normalising {extra['web']:.0f}, the Q cluster beyond "
                f"tracing and the fidelity report {extra['worker']:.0f}, PostgreSQL, Redis and "
                f"the client {extra['services']:.0f}, less the raw engine's processes' time "
                f"outside those steps ({-extra['raw_outside_steps']:.0f}).",
                "",
                "Workers without a job, over all runs, from each job's start and end (the "
                "stack's `started_at` and `finished_at`, the raw engine's own stamps). *Between "
                "jobs*: while jobs were still to start (for the stack, recording a job and taking "
                "the next, and the wait for the first upload); *at the end*: while the last jobs "
                "ran, with nothing left to hand out.",
                "",
                benchreport.markdown_table(
                    [
                        "path",
                        "run s",
                        "worker s",
                        "idle between jobs s",
                        "idle at the end s",
                        "idle share",
                    ],
                    [
                        _idle_row(label, seconds, idle[path])
                        for path, label, seconds in (
                            ("raw", "raw engine", raw_seconds),
                            ("stack", "stack", stack_seconds),
                        )
                    ],
                ),
                "",
                f"Queued to running: {delay_jobs} small jobs (`{uploads[0][0]}`) posted one at a "
                "time on an idle cluster, each after the one before finished; the delay is the "
                "job's `started_at` (the worker took it) minus `enqueued_at` (stamped by the "
                "write that queued it, before its commit and the message). The ORM broker polls "
                "every `Q_POLL` = 0.2 s.",
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

    def _command(self, **given) -> str:
        """The recording's command, with the arguments given beyond their defaults."""
        parser = self.create_parser("manage.py", "bench_pipeline")
        arguments = " ".join(
            f"--{name.replace('_', '-')} {shlex.quote(str(value))}"
            for name, value in given.items()
            if value != parser.get_default(name)
        )
        if not arguments:
            return "`make bench` (`python manage.py bench_pipeline`)"
        return (
            f'`make bench BENCH_ARGS="{arguments}"` (`python manage.py bench_pipeline {arguments}`)'
        )

    def _stack(self, work: Path, broker: str) -> tuple[localstack.Stack, str]:
        env = localstack.production_env(
            database_url=localstack.database_url(settings.DATABASES["default"]),
            redis_url=settings.REDIS_URL,
            static_root=work / "static",
            media_env={"MEDIA_ROOT": str(work / "media")},
        )
        env.update(
            {
                "Q_BROKER": broker,
                "Q_WORKERS": str(WORKERS),
                # One account sends the whole corpus at once: no rate or in-flight cap applies.
                "API_SUBMIT_RATE": "100000/min",
                "MAX_JOBS_IN_FLIGHT": "100000",
            }
        )
        stack = localstack.Stack(work / f"nodes-{broker}", env)
        url = stack.start_web("web")
        stack.start_cluster("worker")
        stack.wait_ready(url)
        return stack, url

    def _raw_and_stack(self, work, key, uploads, repeats, delay_jobs):
        """The raw engine and the stack in turn, `repeats` times each, so that a drift in the
        machine's speed weighs on both alike. Both are measured warm: each first gets the
        uploads once, untimed (a process's first pass through large images is slower, as its
        memory allocator settles). The stack idles, at almost no cost, while the raw engine
        runs, and the other way round."""
        stack, url = self._stack(work, "redis")
        raw = _RawEngine()
        try:
            client = _Client(url, key)
            nodes = {"web": stack.processes["web"], "worker": stack.processes["worker"]}
            self.stderr.write(f"Warming up: {len(uploads)} jobs through each, untimed...")
            raw.run(uploads)
            _post_all(client, uploads)
            runs, failed = [], 0
            cpu = dict.fromkeys(["raw", "raw_normalise", "raw_trace", *CPU_PARTS], 0.0)
            idle = {"raw": [], "stack": []}  # worker_idle of each run
            for repeat in range(1, repeats + 1):
                self.stderr.write(f"Raw engine, run {repeat}: {len(uploads)} jobs...")
                raw_seconds, raw_cpu, raw_idle, raw_steps = raw.run(uploads)
                cpu["raw"] += raw_cpu
                for step, seconds in raw_steps.items():
                    cpu[step] += seconds
                self.stderr.write(f"Stack, run {repeat}: {len(uploads)} jobs through the API...")
                before = _stack_cpu_seconds(nodes)
                stack_seconds, ids, stack_idle = _post_all(client, uploads)
                runs.append((raw_seconds, stack_seconds))
                idle["raw"].append(raw_idle)
                idle["stack"].append(stack_idle)
                after = _stack_cpu_seconds(nodes)
                for name in CPU_PARTS:
                    cpu[name] += after[name] - before[name]
                failed += Vectorization.objects.filter(
                    pk__in=ids, status=Vectorization.Status.FAILED
                ).count()
            delays = _delays(client, uploads[0], delay_jobs)
        finally:
            raw.close()
            stack.stop()
        return runs, failed, cpu, delays, idle

    def _delays_only(self, work, key, upload, delay_jobs):
        stack, url = self._stack(work, "orm")
        try:
            return _delays(_Client(url, key), upload, delay_jobs)
        finally:
            stack.stop()


def settle_leftovers() -> int:
    """Jobs still queued or running from an earlier, interrupted run would be sent to the
    workers again by the reaper in the middle of the timed runs: mark them failed (the number
    marked). Unfinished jobs of anyone but the benchmark's accounts stop the benchmark."""
    unfinished = Vectorization.objects.exclude(status__in=FINISHED)
    settled = unfinished.filter(owner__email__startswith=BENCH_EMAIL_PREFIX).update(
        status=Vectorization.Status.FAILED,
        error_code=VectorizeErrorCode.GAVE_UP,
        error_message="Left unfinished by an interrupted benchmark run.",
        finished_at=timezone.now(),
    )
    others = unfinished.count()
    if others:
        raise CommandError(
            f"This database holds {others} unfinished jobs that are not the benchmark's: the "
            "stack's reaper would send them to the workers during the timed runs. Run the "
            "benchmark on a database of its own (`make bench` uses vectorcraft_bench)."
        )
    return settled


def _cpu_of(processes) -> float:
    """User + system CPU of the processes, with that of their children that have exited and
    been waited for (a worker the cluster replaced): one that is gone itself counts nothing."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _cpu_seconds(process) -> float:
    """User + system CPU of a node's process and every process it started."""
    try:
        root = psutil.Process(process.pid)
        return _cpu_of([root, *root.children(recursive=True)])
    except psutil.Error:
        return 0.0


def _stack_cpu_seconds(nodes: dict) -> dict:
    """CPU seconds so far of each node (by name) and of each service and the client."""
    return {
        **{name: _cpu_seconds(process) for name, process in nodes.items()},
        **_service_cpu_seconds(),
    }


def _service_cpu_seconds() -> dict:
    """User + system CPU of PostgreSQL's and Redis's processes (a backend that has exited counts
    in its postmaster), and of this process (the client posting the jobs), on this machine."""
    services = {"postgresql": [], "redis": []}
    for process in psutil.process_iter(["name"]):
        name = {"postgres": "postgresql", "redis-server": "redis"}.get(process.info["name"])
        if name:
            services[name].append(process)
    totals = {name: _cpu_of(processes) for name, processes in services.items()}
    own = psutil.Process().cpu_times()
    totals["client"] = own.user + own.system
    return totals


class _RawEngine:
    """The raw engine: a pool of WORKERS processes kept for every run."""

    def __init__(self):
        # The pool's processes are this process's own children started from here on; the nodes
        # are children too, started before (their workers are grandchildren).
        self.nodes = {child.pid for child in psutil.Process().children()}
        self.pool = ProcessPoolExecutor(WORKERS)

    def run(self, uploads) -> tuple[float, float, tuple[float, float], dict]:
        """(wall seconds, CPU seconds of the pool's processes, worker_idle, CPU seconds of each
        engine step in the jobs, by its name in the CPU table) for the uploads."""
        cpu_before = self._cpu_seconds()
        started, started_at = time.monotonic(), time.time()  # the jobs stamp the shared clock
        jobs = list(self.pool.map(_raw_job, [data for _, data in uploads]))
        seconds = time.monotonic() - started
        idle = worker_idle(
            [(job.started, job.ended) for job in jobs], start=started_at, workers=WORKERS
        )
        steps = {
            "raw_normalise": sum(job.normalise_cpu for job in jobs),
            "raw_trace": sum(job.trace_cpu for job in jobs),
        }
        return seconds, self._cpu_seconds() - cpu_before, idle, steps

    def _cpu_seconds(self) -> float:
        children = psutil.Process().children()
        return _cpu_of(child for child in children if child.pid not in self.nodes)

    def close(self):
        self.pool.shutdown()


class _Client:
    """Posts uploads to the API and returns each job's id.

    A light client, as it shares the cores with the stack: one connection, and each image's
    multipart body encoded once. `close()` after a batch: the web node drops a connection left
    idle for a few seconds (gunicorn's keepalive), as it is while the raw engine runs."""

    def __init__(self, url: str, key: str):
        self.address = urlsplit(url)
        self.key = key
        self.bodies = {}
        self.connection = None

    def post(self, upload) -> str:
        name, data = upload
        if name not in self.bodies:
            self.bodies[name] = encode_multipart_formdata({"image": (name, data)})
        body, content_type = self.bodies[name]
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                self.address.hostname, self.address.port, timeout=120
            )
        self.connection.request(
            "POST",
            "/api/v1/vectorizations/",
            body=body,
            headers={"Authorization": f"Api-Key {self.key}", "Content-Type": content_type},
        )
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 202:
            raise CommandError(f"{name}: HTTP {response.status} {payload[:200]!r}")
        return json.loads(payload)["id"]

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _post_all(client: _Client, uploads) -> tuple[float, list[str], tuple[float, float]]:
    """Post the uploads one after another, in the order the raw engine takes them; (seconds from
    the first post to the last job's finished_at, the job ids, worker_idle of the run).

    One client is enough to keep the queue full (a post takes the web node a fraction of a job's
    time), and the jobs queue in the raw engine's order. From several client threads, a large
    image's longer post let the small one after it pass, so the largest images, which come last
    in the corpus, queued in an order of their own and the stack's last job ended later after
    the other worker went idle than the raw engine's."""
    started = timezone.now()
    try:
        ids = [client.post(upload) for upload in uploads]
    finally:
        client.close()
    _wait_finished(ids)
    # The end is the last job's finished_at, not when a poll saw it.
    stamps = list(Vectorization.objects.filter(pk__in=ids).values_list("started_at", "finished_at"))
    end = max(finished for _, finished in stamps)
    # A job failed before a worker took it has no start, and no place in the workers' time.
    jobs = [
        (job_started.timestamp(), finished.timestamp())
        for job_started, finished in stamps
        if job_started
    ]
    idle = worker_idle(jobs, start=started.timestamp(), workers=WORKERS)
    return (end - started).total_seconds(), ids, idle


def _bench_account() -> str:
    user = User.objects.create_user(
        email=f"{BENCH_EMAIL_PREFIX}{time.time_ns()}@example.com", password=None
    )
    credits_book(user=user, delta=1_000_000, kind="staff", key=f"bench:{user.pk}")
    return api_key_create(user=user, name="bench")[1]


def _wait_finished(ids, timeout: float = 1800, interval: float = 0.5) -> None:
    def finished():
        close_old_connections()
        return Vectorization.objects.filter(pk__in=ids, status__in=FINISHED).count() == len(ids)

    localstack.wait_for(finished, timeout=timeout, interval=interval, message="jobs did not finish")


def _delays(client: _Client, upload, count: int) -> list[float]:
    delays = []
    try:
        for _ in range(count):
            job_id = client.post(upload)
            _wait_finished([job_id], interval=0.05)
            job = Vectorization.objects.get(pk=job_id)
            delays.append((job.started_at - job.enqueued_at).total_seconds() * 1000)
    finally:
        client.close()
    return delays


def _idle_row(label: str, seconds: float, idle: list[tuple[float, float]]) -> list:
    """A path's row: its run seconds and worker_idle of each run, added up."""
    worker_seconds = WORKERS * seconds
    between = sum(gaps for gaps, _ in idle)
    tail = sum(end for _, end in idle)
    return [
        label,
        f"{seconds:.1f}",
        f"{worker_seconds:.1f}",
        f"{between:.2f}",
        f"{tail:.2f}",
        f"{(between + tail) / worker_seconds:.1%}",
    ]


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
