"""The benchmark and load-test commands: their own bookkeeping, and the locustfile against a
live server."""

import json

import pytest
from django.core.management import CommandError

from accounts.models import User
from accounts.services import api_key_create
from benchmarks.management.commands.bench_pipeline import Command as BenchPipeline
from benchmarks.management.commands.bench_pipeline import (
    _raw_job,
    settle_leftovers,
    stack_extra_cpu,
    worker_idle,
)
from benchmarks.management.commands.loadtest import STATUS, locust_run, per_endpoint
from benchmarks.report import DEFAULT_CORPUS
from payments.services import credits_book
from vectorize.models import Vectorization
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def test_the_pipeline_benchmark_settles_its_own_leftovers_and_refuses_anyone_elses(user, bench_dir):
    bench_user = User.objects.create_user(email="bench-1@example.com", password=None)
    credits_book(user=bench_user, delta=5, kind="staff", key="bench-leftovers")
    leftover = queued_job(bench_user, bench_dir)
    finished = queued_job(bench_user, bench_dir)
    Vectorization.objects.filter(pk=finished.pk).update(status="succeeded")

    assert settle_leftovers() == 1
    leftover.refresh_from_db()
    assert (leftover.status, leftover.error_code) == ("failed", "gave_up")
    assert Vectorization.objects.get(pk=finished.pk).status == "succeeded"

    queued_job(user, bench_dir)
    with pytest.raises(CommandError, match="1 unfinished jobs that are not the benchmark's"):
        settle_leftovers()


def test_the_pipeline_benchmark_splits_idle_workers_into_gaps_and_the_tail():
    # Two workers from t=0: one runs jobs at 1-3 and 3.5-6, the other 0-2 and 2-4. The last job
    # starts at 3.5: before that, worker one waits 1 s and then 0.5 s (1.5 s between jobs); the
    # other is busy all 3.5 s. After it, the other worker has 0.5 s of its job left, then idles
    # 2 s while the last job runs to 6 (the tail).
    jobs = [(1.0, 3.0), (3.5, 6.0), (0.0, 2.0), (2.0, 4.0)]

    between, tail = worker_idle(jobs, start=0.0, workers=2)

    assert (between, tail) == pytest.approx((1.5, 2.0))


def test_the_pipeline_benchmarks_raw_job_times_each_engine_step(bench_dir):
    data = (bench_dir / "logo_ruby.png").read_bytes()

    job = _raw_job(data)

    assert job.ended >= job.started
    assert job.normalise_cpu > 0
    assert job.trace_cpu > job.normalise_cpu  # tracing and the fidelity report cost more


def test_the_pipeline_benchmark_splits_the_stacks_extra_cpu_by_part():
    # CPU seconds: the raw engine spent 30 in its processes, 2 normalising and 27 tracing (1
    # taking jobs and handing back results); the stack 36: web 3, cluster 30, services 3.
    cpu = {
        "raw": 30.0,
        "raw_normalise": 2.0,
        "raw_trace": 27.0,
        "web": 3.0,
        "worker": 30.0,
        "postgresql": 1.5,
        "redis": 0.5,
        "client": 1.0,
    }

    extra = stack_extra_cpu(cpu)

    assert extra == pytest.approx(
        {"web": 1.0, "worker": 3.0, "services": 3.0, "raw_outside_steps": -1.0}
    )
    assert sum(extra.values()) == pytest.approx(36.0 - 30.0)


def test_the_pipeline_benchmark_records_the_arguments_it_was_given_beyond_the_defaults():
    command = BenchPipeline()
    defaults = {"corpus": str(DEFAULT_CORPUS), "rounds": 2, "repeats": 5, "delay_jobs": 30}

    assert command._command(**defaults) == "`make bench` (`python manage.py bench_pipeline`)"
    assert command._command(**{**defaults, "repeats": 8, "delay_jobs": 10}) == (
        '`make bench BENCH_ARGS="--repeats 8 --delay-jobs 10"` '
        "(`python manage.py bench_pipeline --repeats 8 --delay-jobs 10`)"
    )
    assert command._command(**{**defaults, "corpus": "/data/my images"}) == (
        "`make bench BENCH_ARGS=\"--corpus '/data/my images'\"` "
        "(`python manage.py bench_pipeline --corpus '/data/my images'`)"
    )


def test_the_load_test_counts_429s_apart_from_errors(live_server, settings, bench_dir, tmp_path):
    """The real locustfile against a live server whose read limit it soon reaches: every read
    past the limit is a 429 in the report, none is an error, and the rate served leaves them out."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"read": "5/min", "submit": "60/min"},
    }
    accounts = []
    for number in range(2):
        owner = User.objects.create_user(email=f"load-{number}@example.com", password=None)
        credits_book(user=owner, delta=10, kind="staff", key=f"load:{owner.pk}")
        job = queued_job(owner, bench_dir)
        accounts.append({"key": api_key_create(user=owner, name="load")[1], "job_ids": [job.pk]})
    (tmp_path / "images").mkdir()
    accounts_file = tmp_path / "accounts.json"
    accounts_file.write_text(json.dumps(accounts, default=str))

    run = locust_run(
        live_server.url, "StatusProbe", users=2, seconds=2, work=tmp_path, accounts=accounts_file
    )
    rows, served = per_endpoint(run)

    [status, total] = rows
    name, requests, rate, *_, limited, errors = status
    assert name == STATUS
    assert total[1:2] + total[-2:] == [requests, limited, errors]
    assert errors == 0
    assert limited > 0
    # Each key's 5 reads a minute are served (10 if its minute turned during the run).
    assert 10 <= requests - limited <= 20
    # The table shows req/s to one decimal.
    assert served[STATUS] == pytest.approx(float(rate) * (requests - limited) / requests, rel=0.01)
