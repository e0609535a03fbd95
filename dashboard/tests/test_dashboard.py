import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import logger as q_logger

from dashboard import services
from dashboard.models import Incident
from vectorcraft.logging import ContextFilter, request_id
from vectorize.models import Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def test_it_keeps_the_dashboard_for_staff(client, user, admin_client):
    assert client.get("/dashboard/").status_code == 302  # visitors: to the login
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 302  # not staff: to the admin login
    assert client.get("/dashboard/panel/").status_code == 302

    response = admin_client.get("/dashboard/")

    assert response.status_code == 200
    assert b"Jobs per hour" in response.content


def test_it_shows_the_figures(admin_client, user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    queued_job(user, bench_dir, name="logo_ruby.png")

    summary = admin_client.get("/dashboard/panel/").context["summary"]

    assert summary["queue"]["queued"] == 1
    assert summary["jobs"]["total"] == 2
    assert summary["jobs"]["succeeded"] == 1
    assert summary["jobs"]["engine_ms"]["p50"] is not None
    assert summary["business"]["credits_used"] == 2
    assert summary["jobs"]["per_hour"][-1][1] == 2
    assert len(summary["jobs"]["per_day"]) == 30


def test_it_writes_one_job_in_whole_milliseconds(admin_client, user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))

    response = admin_client.get("/dashboard/panel/")

    waits = response.context["summary"]["jobs"]["queue_wait_ms"]
    assert isinstance(waits["p50"], int) and waits["p50"] == waits["p95"]
    assert "1 job, 1 succeeded" in response.content.decode()


def test_it_serves_prometheus_metrics_to_a_token_or_staff(
    client, settings, admin_client, user, bench_dir
):
    settings.METRICS_TOKEN = "scrape-me-please"
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))

    refused = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    scraped = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-please")

    assert (refused.status_code, wrong.status_code, scraped.status_code) == (401, 401, 200)
    text = scraped.content.decode()
    assert 'vectorcraft_jobs{status="succeeded"} 1.0' in text
    assert "vectorcraft_queue_depth 0.0" in text
    assert 'vectorcraft_credits_total{kind="job"} 1.0' in text
    assert 'vectorcraft_http_responses_total{code="4xx"}' in text
    assert admin_client.get("/metrics").status_code == 200


def _failed_jobs(user, bench_dir, count):
    for _ in range(count):
        job = queued_job(user, bench_dir)
        Vectorization.objects.filter(pk=job.pk).update(
            status="failed", error_code="trace_failed", finished_at=timezone.now()
        )


def test_it_mails_once_per_incident_and_again_on_recovery(user, bench_dir, settings, mailoutbox):
    settings.ADMINS = [("Staff", "staff@vectorcraft.local")]
    settings.ALERT_MIN_JOBS = 5
    _failed_jobs(user, bench_dir, 6)

    first = services.alerts_check()
    second = services.alerts_check()

    assert "failure_rate" in first["opened"]
    assert "failure_rate" not in second["opened"]
    alerts = [mail for mail in mailoutbox if "jobs failed" in mail.subject]
    assert len(alerts) == 1
    assert alerts[0].subject.startswith("[Django] Problem: 6 of the last 6 jobs failed")

    Vectorization.objects.update(finished_at=timezone.now() - timedelta(hours=1))
    recovered = services.alerts_check()

    assert "failure_rate" in recovered["closed"]
    assert [mail.subject for mail in mailoutbox if mail.subject.startswith("[Django] Recovered")]
    incident = Incident.objects.get(key="failure_rate")
    assert incident.closed_at is not None


def test_it_alerts_when_the_queue_stalls(user, bench_dir, settings):
    settings.ALERT_QUEUE_AGE_SECONDS = 600
    job = queued_job(user, bench_dir)
    Vectorization.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert "queue_stuck" in services.problems_now()


def test_it_tags_responses_and_log_lines_with_a_request_id(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="abc123")

    assert response["X-Request-ID"] == "abc123"
    assert len(client.get("/health/live")["X-Request-ID"]) == 32


def test_it_writes_json_log_lines_with_the_request_id(settings):
    from pythonjsonlogger.json import JsonFormatter

    config = settings.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(config["format"], rename_fields=config["rename_fields"])
    record = logging.LogRecord("vectorize", logging.INFO, __file__, 1, "job done", None, None)
    token = request_id.set("req-42")
    try:
        ContextFilter().filter(record)
    finally:
        request_id.reset(token)

    line = json.loads(formatter.format(record))

    assert (line["level"], line["logger"], line["message"]) == ("INFO", "vectorize", "job done")
    assert (line["request_id"], line["job_id"]) == ("req-42", "-")


def test_it_writes_the_q_clusters_log_lines_through_the_console_handler_once():
    # (pytest adds its own capturing handlers, which have no name.)
    assert [handler.name for handler in q_logger.handlers if handler.name] == ["console"]
    assert not q_logger.propagate
