import time
from datetime import timedelta

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker

from payments.models import CreditEntry
from payments.selectors import balance_for_user
from vectorize import services
from vectorize.models import Vectorization
from vectorize.services import vectorization_enqueue
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job
from vectorize.tests.helpers import noise_png, wait_for

AGO = timedelta(hours=2)  # far past every time limit


@pytest.mark.django_db
def test_it_puts_a_job_whose_worker_died_back_in_the_queue_once(
    user, bench_dir, django_capture_on_commit_callbacks
):
    job = queued_job(user, bench_dir)
    Vectorization.objects.filter(pk=job.pk).update(
        status="running", attempts=1, started_at=timezone.now() - AGO
    )

    broker = get_broker()
    waiting = broker.queue_size()

    with django_capture_on_commit_callbacks(execute=True):
        first = services.vectorizations_reap()
    second = services.vectorizations_reap()

    assert first == {"requeued": 1, "failed": 0}
    assert broker.queue_size() == waiting + 1  # sent to the queue once
    assert Vectorization.objects.get(pk=job.pk).status == "queued"
    assert second == {"requeued": 0, "failed": 0}


@pytest.mark.django_db
def test_it_fails_and_refunds_a_job_that_used_its_attempts(user, bench_dir, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = queued_job(user, bench_dir)
    Vectorization.objects.filter(pk=job.pk).update(
        status="running", attempts=2, started_at=timezone.now() - AGO
    )
    charged = balance_for_user(user=user)

    services.vectorizations_reap()
    services.vectorizations_reap()

    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "gave_up")
    assert CreditEntry.objects.filter(user=user, kind="job_refund").count() == 1
    assert balance_for_user(user=user) == charged + 1


@pytest.mark.django_db
def test_it_sends_a_lost_queued_job_again_once_per_period(user, bench_dir):
    job = queued_job(user, bench_dir)
    sent_long_ago = timezone.now() - AGO
    Vectorization.objects.filter(pk=job.pk).update(enqueued_at=sent_long_ago)

    assert services.vectorizations_reap()["requeued"] == 1
    assert services.vectorizations_reap()["requeued"] == 0
    assert Vectorization.objects.get(pk=job.pk).enqueued_at > sent_long_ago


@pytest.mark.django_db
def test_it_leaves_healthy_jobs_alone(user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    queued_job(user, bench_dir, name="logo_ruby.png")  # just queued: not lost

    assert services.vectorizations_reap() == {"requeued": 0, "failed": 0}


@pytest.mark.django_db
def test_it_deletes_old_files_and_keeps_the_rows(client, user, bench_dir, media_root, settings):
    settings.RETENTION_DAYS = 30
    old = queued_job(user, bench_dir)
    vectorization_process(str(old.pk))
    Vectorization.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    recent = queued_job(user, bench_dir, name="logo_ruby.png")
    old.refresh_from_db()
    old_files = [media_root / old.input_file.name, media_root / old.output_file.name]

    assert services.vectorizations_expire_files() == 1
    assert services.vectorizations_expire_files() == 0

    old.refresh_from_db()
    assert not any(path.exists() for path in old_files)
    assert (old.status, old.input_file.name, old.output_file.name) == ("succeeded", "", "")
    assert old.metrics["ssim"] > 0.9 and old.files_deleted_at is not None
    assert (media_root / Vectorization.objects.get(pk=recent.pk).input_file.name).is_file()
    client.force_login(user)
    page = client.get(reverse("vectorize:detail", args=[old.pk]))
    assert b"were deleted on" in page.content
    assert client.get(reverse("vectorize:original", args=[old.pk])).status_code == 410
    assert client.get(reverse("vectorize:download", args=[old.pk])).status_code == 410


def _slow_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("noise.png", noise_png(600))


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_it_recovers_a_job_whose_worker_was_killed(user, qcluster):
    job = services.vectorization_create(
        owner=user, upload=_slow_image(), preset="photo", enqueue=False
    )
    vectorization_enqueue(job.pk)
    wait_for(
        lambda: Vectorization.objects.get(pk=job.pk).status == "running",
        timeout=60,
        message=qcluster.log_path.read_text(),
    )

    # The busiest child of the cluster is the worker tracing the image: kill it outright.
    children = psutil.Process(qcluster.pid).children(recursive=True)
    for child in children:
        child.cpu_percent()
    time.sleep(1)
    worker = max(children, key=lambda child: child.cpu_percent())
    worker.kill()
    worker.wait(10)
    time.sleep(1)
    assert Vectorization.objects.get(pk=job.pk).status == "running"  # nobody will finish it
    Vectorization.objects.filter(pk=job.pk).update(started_at=timezone.now() - AGO)

    assert services.vectorizations_reap() == {
        "requeued": 1,
        "failed": 0,
    }

    finished = wait_for(
        lambda: Vectorization.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
        timeout=120,
        message=qcluster.log_path.read_text(),
    )
    assert finished.status == "succeeded", finished.error_message
    assert finished.attempts == 2
