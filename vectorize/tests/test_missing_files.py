"""A job whose files are gone, deleted by retention or lost from storage: a plain 410, the
figures kept, nothing charged, no worker error."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.selectors import balance_for_user
from vectorize import services
from vectorize.models import Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/vectorizations/"


@pytest.fixture
def finished(user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    job.refresh_from_db()
    assert job.status == Vectorization.Status.SUCCEEDED
    return job


def _expire(job, settings):
    settings.RETENTION_DAYS = 30
    Vectorization.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert services.vectorizations_expire_files() == 1


def _gone(response, words: str) -> str:
    assert response.status_code == 410, response.content
    error = response.json()["error"]
    assert error["code"] == "files_deleted"
    assert words in error["message"]
    return error["message"]


def test_the_api_says_an_expired_result_was_deleted_and_stops_linking_it(
    api, finished, user, settings
):
    before = api.get(f"{URL}{finished.pk}/").json()  # cached with its download links
    assert {"svg", "pdf"} <= set(before["links"]) and before["files_deleted_at"] is None

    _expire(finished, settings)
    after = api.get(f"{URL}{finished.pk}/").json()

    assert after["files_deleted_at"] is not None
    assert list(after["links"]) == ["self"]
    assert after["fidelity"] == before["fidelity"]
    for fmt in ("svg", "pdf", "eps", "png"):
        message = _gone(api.get(f"{URL}{finished.pk}/download/", {"format": fmt}), "deleted on")
        assert "30 days after upload" in message


def test_a_rerun_of_an_expired_job_is_refused_and_costs_nothing(api, finished, user, settings):
    _expire(finished, settings)
    balance = balance_for_user(user=user)

    response = api.post(f"{URL}{finished.pk}/rerun/", {"preset": "clipart"}, format="json")

    _gone(response, "Upload the image again")
    assert balance_for_user(user=user) == balance
    assert Vectorization.objects.count() == 1


def test_a_result_lost_from_storage_is_a_410_and_the_row_stays(api, client, finished, user):
    finished.output_file.storage.delete(finished.output_file.name)

    for fmt in ("svg", "pdf"):
        _gone(api.get(f"{URL}{finished.pk}/download/", {"format": fmt}), "missing from storage")
    client.force_login(user)
    page = client.get(reverse("vectorize:download", args=[finished.pk]))

    assert page.status_code == 410
    assert page["Content-Type"].startswith("text/plain")
    assert b"missing from storage" in page.content
    kept = Vectorization.objects.get(pk=finished.pk)
    assert (kept.status, kept.output_file.name) == ("succeeded", finished.output_file.name)
    assert kept.metrics == finished.metrics


def test_a_job_whose_input_is_lost_fails_with_its_credit_back(user, bench_dir):
    balance = balance_for_user(user=user)
    job = queued_job(user, bench_dir)
    assert balance_for_user(user=user) == balance - 1
    job.input_file.storage.delete(job.input_file.name)

    assert vectorization_process(str(job.pk)) == Vectorization.Status.FAILED

    job.refresh_from_db()
    assert (job.status, job.error_code, job.attempts) == ("failed", "files_deleted", 1)
    assert "missing from storage" in job.error_message
    assert balance_for_user(user=user) == balance


def test_the_pages_of_an_expired_job_keep_its_figures_and_offer_no_dead_links(
    client, finished, user, settings
):
    _expire(finished, settings)
    client.force_login(user)

    page = client.get(reverse("vectorize:detail", args=[finished.pk])).content.decode()
    history = client.get(reverse("vectorize:history")).content.decode()

    assert "were deleted on" in page and "Fidelity report" in page
    assert f"{finished.engine_ms} ms to trace" in page
    assert "Download SVG" not in page and "Trace again" not in page
    assert "Upload it again" in page
    assert reverse("vectorize:original", args=[finished.pk]) not in page
    assert reverse("vectorize:preview", args=[finished.pk]) not in history
    assert "Files deleted" in history
    for name in ("original", "preview", "download"):
        response = client.get(reverse(f"vectorize:{name}", args=[finished.pk]))
        assert response.status_code == 410
        assert b"deleted on" in response.content
