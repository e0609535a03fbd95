import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from vectorize import engine, services
from vectorize.models import Vectorization, output_upload_to
from vectorize.services import running
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db
Status = Vectorization.Status


def test_it_traces_a_queued_job_and_stores_the_svg(user, bench_dir):
    job = queued_job(user, bench_dir)

    assert vectorization_process(str(job.pk)) == "succeeded"

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.attempts == 1
    assert job.created_at <= job.started_at <= job.finished_at
    assert job.used_preset in engine.PRESETS
    assert job.parameters == {**engine.PRESETS[job.used_preset]}
    svg = job.output_file.read().decode()
    assert ET.fromstring(svg).get("viewBox") == "0 0 512 512"
    assert job.output_bytes == len(svg.encode()) == job.metrics["svg_bytes"]
    assert job.engine_ms == job.metrics["engine_ms"]
    assert 0.9 < job.metrics["ssim"] <= 1
    assert job.metrics["path_count"] > 0 and job.metrics["node_count"] > job.metrics["path_count"]
    assert job.output_file.name.startswith("outputs/")


def test_it_takes_and_finishes_a_job_with_guarded_updates_and_no_lock(user, bench_dir):
    job = queued_job(user, bench_dir)

    with CaptureQueriesContext(connection) as queries:
        services.vectorization_run(vectorization_id=job.pk)

    sql = [query["sql"] for query in queries.captured_queries]
    # Taken by an UPDATE guarded on its state, which reads the row back, and its result recorded
    # by an UPDATE guarded on its still running: no transaction, no row lock.
    assert len(sql) == 2, sql
    assert sql[0].startswith('UPDATE "vectorize_vectorization" SET "status"'), sql[0]
    assert "queued" in sql[0].split("WHERE", 1)[1]
    assert '"output_file"' in sql[0].split("RETURNING", 1)[1]
    assert sql[1].startswith('UPDATE "vectorize_vectorization" SET "output_file"'), sql[1]
    assert "running" in sql[1].split("WHERE", 1)[1]
    assert not any("FOR UPDATE" in text or "SAVEPOINT" in text for text in sql)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.SUCCEEDED, 1)


def _traced(job):
    """The engine's result for a job, as its worker would have it."""
    with job.input_file.open("rb") as stored:
        return engine.trace(stored.read())


def test_a_job_deleted_while_it_was_traced_leaves_no_output_behind(user, bench_dir, media_root):
    job = queued_job(user, bench_dir)
    job = running._claim(job.pk)
    result = _traced(job)
    Vectorization.objects.filter(pk=job.pk).delete()

    assert running._finish_succeeded(job, result) is None

    assert not (media_root / output_upload_to(job, "x")).exists()


def test_a_job_failed_while_it_was_traced_keeps_its_failure(user, bench_dir, media_root):
    job = queued_job(user, bench_dir)
    job = running._claim(job.pk)
    result = _traced(job)
    # The reaper gave up on it meanwhile (and refunded it).
    Vectorization.objects.filter(pk=job.pk).update(status=Status.FAILED, error_code="gave_up")

    current = running._finish_succeeded(job, result)

    assert (current.status, current.error_code, current.output_file.name) == (
        Status.FAILED,
        "gave_up",
        "",
    )
    assert not (media_root / output_upload_to(job, "x")).exists()


def test_a_job_queued_again_while_it_was_traced_keeps_the_file_for_its_next_run(
    user, bench_dir, media_root
):
    job = queued_job(user, bench_dir)
    job = running._claim(job.pk)
    result = _traced(job)
    # The reaper queued it again meanwhile; its next run writes the same file.
    Vectorization.objects.filter(pk=job.pk).update(status=Status.QUEUED)

    current = running._finish_succeeded(job, result)

    assert (current.status, current.output_file.name) == (Status.QUEUED, "")
    assert (media_root / output_upload_to(job, "x")).exists()
    assert services.vectorization_run(vectorization_id=job.pk).status == Status.SUCCEEDED
    assert len(list((media_root / "outputs").rglob("*.svg"))) == 1


def test_it_does_nothing_when_run_again(user, bench_dir, media_root):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    first = Vectorization.objects.get(pk=job.pk)
    files_before = sorted(p for p in media_root.rglob("*") if p.is_file())

    vectorization_process(str(job.pk))

    again = Vectorization.objects.get(pk=job.pk)
    assert (again.attempts, again.finished_at, again.output_file.name) == (
        first.attempts,
        first.finished_at,
        first.output_file.name,
    )
    assert sorted(p for p in media_root.rglob("*") if p.is_file()) == files_before


def _past_the_broker_retry():
    return timezone.now() - timedelta(seconds=settings.Q_CLUSTER["retry"])


def test_a_second_message_for_a_job_being_traced_leaves_it_to_its_worker(user, bench_dir):
    job = queued_job(user, bench_dir)
    started = timezone.now() - timedelta(seconds=5)
    Vectorization.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, attempts=1, started_at=started
    )

    assert vectorization_process(str(job.pk)) == "running"

    job.refresh_from_db()
    assert (job.status, job.attempts, job.started_at) == (Status.RUNNING, 1, started)
    assert not job.output_file


def test_it_replaces_the_output_of_a_run_whose_worker_died(user, bench_dir, media_root):
    job = queued_job(user, bench_dir)
    # A worker died mid-run: the row says running and a partial output file is on disk. The broker
    # hands the message out again once its retry period (longer than the time limit) is over.
    Vectorization.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, attempts=1, started_at=_past_the_broker_retry()
    )
    job.refresh_from_db()
    partial = media_root / output_upload_to(job, "x")
    partial.parent.mkdir(parents=True)
    partial.write_text("<svg partial")

    vectorization_process(str(job.pk))

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.attempts == 2
    assert job.output_file.name == output_upload_to(job, "x")
    assert partial.read_text().startswith("<svg xmlns")
    assert len(list((media_root / "outputs").rglob("*.svg"))) == 1


def test_it_gives_up_after_the_configured_attempts(user, bench_dir, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = queued_job(user, bench_dir)
    Vectorization.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, attempts=2, started_at=_past_the_broker_retry()
    )

    assert vectorization_process(str(job.pk)) == "failed"

    job.refresh_from_db()
    assert job.error_code == "gave_up"
    assert job.error_message.startswith("This image could not be processed: the worker stopped 2")
    assert not job.output_file


def test_it_turns_a_real_vtracer_panic_into_a_failed_job(user, bench_dir, monkeypatch):
    # Let an out-of-range value past validation, as a bug there would, so vtracer really panics.
    monkeypatch.setitem(
        engine.PARAMETERS, "color_precision", engine.parameters.Number(0, 8, "widened")
    )
    job = queued_job(user, bench_dir, preset="logo", options={"color_precision": 0})

    assert vectorization_process(str(job.pk)) == "failed"

    job.refresh_from_db()
    assert job.error_code == "trace_failed"
    assert job.error_message == (
        "The tracing engine could not process this image with these settings. Try another preset."
    )
    assert job.finished_at is not None


def test_it_ignores_a_job_deleted_before_it_ran(user, bench_dir):
    job = queued_job(user, bench_dir)
    job_id = str(job.pk)
    services.vectorization_delete(vectorization=job)

    assert vectorization_process(job_id) is None
