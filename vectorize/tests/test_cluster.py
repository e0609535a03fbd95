"""End to end: an upload goes through a real `qcluster` process on the configured database."""

import xml.etree.ElementTree as ET

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import api_key_create
from vectorize import services
from vectorize.models import Vectorization
from vectorize.services import vectorization_enqueue
from vectorize.tests import realworld
from vectorize.tests.factories import queued_job
from vectorize.tests.helpers import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]


def _finished(pk):
    job = Vectorization.objects.get(pk=pk)
    return job if job.is_finished else None


def test_it_vectorizes_an_upload_in_a_real_cluster(client, user, bench_dir, qcluster):
    client.force_login(user)
    with (bench_dir / "emoji_1F309.png").open("rb") as image:
        response = client.post("/", {"image": image, "preset": "auto"})
    assert response.status_code == 302
    job = Vectorization.objects.get()

    job = wait_for(
        lambda: _finished(job.pk),
        timeout=60,
        message=f"job not finished; cluster log:\n{qcluster.log_path.read_text()}",
    )

    assert job.status == Vectorization.Status.SUCCEEDED, job.error_message
    assert job.attempts == 1
    download = client.get(reverse("vectorize:download", args=[job.pk]))
    svg = b"".join(download.streaming_content).decode()
    assert ET.fromstring(svg).get("viewBox") == "0 0 512 512"
    status = client.get(reverse("vectorize:status", args=[job.pk])).json()
    assert status["status"] == "succeeded"


def test_it_fails_a_damaged_job_and_keeps_working(user, bench_dir, qcluster):
    damaged = queued_job(user, bench_dir, name="logo_ruby.png")
    # The stored input is damaged after it was accepted (a disk fault, a bad copy).
    with damaged.input_file.open("wb") as stored:
        stored.write(b"\x89PNG\r\n\x1a\n broken")
    healthy = queued_job(user, bench_dir, name="emoji_1F309.png")

    for job in (damaged, healthy):
        vectorization_enqueue(job.pk)
    wait_for(
        lambda: Vectorization.objects.filter(status__in=Vectorization.FINISHED).count() == 2,
        timeout=60,
        message=f"jobs not finished; cluster log:\n{qcluster.log_path.read_text()}",
    )

    damaged.refresh_from_db()
    healthy.refresh_from_db()
    assert (damaged.status, damaged.error_code) == ("failed", "trace_failed")
    assert damaged.error_message == "The stored image could not be read."
    assert healthy.status == "succeeded"


def test_it_holds_an_api_submission_until_the_cluster_finishes_it(user, bench_dir, qcluster):
    _, key = api_key_create(user=user, name="wait")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)

    with (bench_dir / "logo_ruby.png").open("rb") as image:
        response = client.post("/api/v1/vectorizations/?wait=30", {"image": image})

    assert response.status_code == 200, qcluster.log_path.read_text()
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["fidelity"]["ssim"] > 0.9
    assert response["Location"].endswith(f"/api/v1/vectorizations/{body['id']}/")


@pytest.mark.qcluster_env(Q_MAX_RSS_MB="1")
def test_it_replaces_a_worker_whose_memory_grew_past_the_limit_and_goes_on(
    user, bench_dir, qcluster
):
    jobs = [queued_job(user, bench_dir, name=name) for name in ("logo_ruby.png", "emoji_1F309.png")]

    for job in jobs:
        vectorization_enqueue(job.pk)
    wait_for(
        lambda: Vectorization.objects.filter(status="succeeded").count() == 2,
        timeout=90,
        message=f"jobs not finished; cluster log:\n{qcluster.log_path.read_text()}",
    )

    # Every worker peaks past 1 MB: each is replaced after its job, and the next one takes over.
    wait_for(
        lambda: qcluster.log_path.read_text().count("recycled worker") >= 2,
        timeout=10,
        message=f"workers not replaced; cluster log:\n{qcluster.log_path.read_text()}",
    )
    assert [job.attempts for job in Vectorization.objects.all()] == [1, 1]


def test_photos_over_1024_pixels_and_a_phone_screenshot_convert_in_a_real_cluster(
    user, bench_dir, qcluster
):
    # Sizes whose fidelity comparison once raised: the jobs sat `running` for the reaper.
    uploads = {
        "IMG_2048.jpg": realworld.photo_of_size(bench_dir, 2048, 1365),
        "screenshot.png": realworld.phone_screenshot(),
        "divider.png": realworld.strip(5000, 10),
    }
    jobs = [
        services.vectorization_create(
            owner=user, upload=SimpleUploadedFile(name, data), preset="poster"
        )
        for name, data in uploads.items()
    ]

    wait_for(
        lambda: Vectorization.objects.filter(status__in=Vectorization.FINISHED).count() == 3,
        timeout=120,
        message=f"jobs not finished; cluster log:\n{qcluster.log_path.read_text()}",
    )

    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.attempts) == ("succeeded", 1), (
            job.original_filename,
            job.error_message,
        )
        assert 0 < job.metrics["ssim"] <= 1


@pytest.mark.qcluster_env(Q_CLUSTER_NAME="previews")
def test_previews_have_a_queue_and_workers_of_their_own(user, bench_dir, qcluster):
    # Only the preview cluster runs: a preview is traced, a paid job waits for its own workers.
    paid = services.vectorization_create(
        owner=user,
        upload=SimpleUploadedFile("paid.png", (bench_dir / "logo_ruby.png").read_bytes()),
    )
    preview = services.vectorization_create(
        owner=user,
        upload=SimpleUploadedFile("free.png", (bench_dir / "logo_ruby.png").read_bytes()),
        mode="preview",
    )

    wait_for(
        lambda: _finished(preview.pk),
        timeout=60,
        message=f"preview not finished; cluster log:\n{qcluster.log_path.read_text()}",
    )

    assert Vectorization.objects.get(pk=preview.pk).status == "succeeded"
    assert Vectorization.objects.get(pk=paid.pk).status == "queued"


@pytest.mark.qcluster_env(JOB_TIMEOUT="2", ISOLATE_ABOVE_PIXELS="1000")
def test_a_job_past_the_time_limit_is_stopped_failed_once_refunded_and_the_worker_goes_on(
    user, bench_dir, qcluster
):
    from payments.selectors import balance_for_user

    before = balance_for_user(user=user)
    # A photo of 2 megapixels takes several seconds to trace: past this cluster's 2-second limit.
    slow = services.vectorization_create(
        owner=user,
        upload=SimpleUploadedFile("slow.jpg", realworld.photo_of_size(bench_dir, 1800, 1200)),
        preset="photo",
    )
    quick = services.vectorization_create(
        owner=user, upload=SimpleUploadedFile("strip.png", realworld.strip(40, 30))
    )

    wait_for(
        lambda: Vectorization.objects.filter(status__in=Vectorization.FINISHED).count() == 2,
        timeout=60,
        message=f"jobs not finished; cluster log:\n{qcluster.log_path.read_text()}",
    )

    slow.refresh_from_db()
    assert (slow.status, slow.error_code, slow.attempts) == ("failed", "timed_out", 1)
    assert "longer than the 2-second limit" in slow.error_message
    assert Vectorization.objects.get(pk=quick.pk).status == "succeeded"
    assert balance_for_user(user=user) == before - 1  # the slow job's credit came back
    assert "reincarnated worker" not in qcluster.log_path.read_text()
