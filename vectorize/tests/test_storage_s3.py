"""MEDIA_STORAGE=s3: uploads and outputs in a bucket on a real S3 API (moto's server, localhost)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import bucket_keys
from payments.selectors import balance_for_user
from vectorize import engine, services
from vectorize.models import Vectorization
from vectorize.services import running
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def _objects(client, bucket) -> dict[str, bytes]:
    return {
        key: client.get_object(Bucket=bucket, Key=key)["Body"].read()
        for key in bucket_keys(client, bucket)
    }


def test_it_keeps_the_input_and_output_in_the_bucket_and_nothing_on_disk(
    s3_media, media_root, user, bench_dir
):
    client, bucket = s3_media

    job = queued_job(user, bench_dir)
    assert bucket_keys(client, bucket) == [job.input_file.name]

    services.vectorization_run(vectorization_id=job.pk)

    job.refresh_from_db()
    assert job.status == Vectorization.Status.SUCCEEDED
    stored = _objects(client, bucket)
    assert sorted(stored) == sorted([job.input_file.name, job.output_file.name])
    assert stored[job.output_file.name].startswith(b"<svg")
    # The input is the re-encoded PNG the engine traced.
    assert stored[job.input_file.name].startswith(b"\x89PNG")
    assert not media_root.exists()


def test_it_serves_downloads_through_the_owner_checked_views(
    s3_media, client, user, other_user, bench_dir
):
    s3, bucket = s3_media
    job = queued_job(user, bench_dir)
    services.vectorization_run(vectorization_id=job.pk)
    job.refresh_from_db()
    in_bucket = s3.get_object(Bucket=bucket, Key=job.output_file.name)["Body"].read()

    client.force_login(user)
    svg = client.get(reverse("vectorize:download", args=[job.pk]), {"format": "svg"})
    pdf = client.get(reverse("vectorize:download", args=[job.pk]), {"format": "pdf"})
    client.force_login(other_user)
    someone_else = client.get(reverse("vectorize:download", args=[job.pk]), {"format": "svg"})

    assert svg.status_code == 200
    assert b"".join(svg.streaming_content) == in_bucket
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert someone_else.status_code == 404


def test_a_retried_job_replaces_its_output_under_the_same_name(s3_media, user, bench_dir):
    client, bucket = s3_media
    job = queued_job(user, bench_dir)
    services.vectorization_run(vectorization_id=job.pk)
    job.refresh_from_db()
    first_name = job.output_file.name

    Vectorization.objects.filter(pk=job.pk).update(status=Vectorization.Status.RUNNING)
    result = engine.trace(client.get_object(Bucket=bucket, Key=job.input_file.name)["Body"].read())
    running._finish_succeeded(Vectorization.objects.get(pk=job.pk), result)

    job.refresh_from_db()
    assert job.output_file.name == first_name
    assert bucket_keys(client, bucket) == sorted([job.input_file.name, first_name])


def test_deleting_a_job_deletes_its_objects(
    s3_media, user, bench_dir, django_capture_on_commit_callbacks
):
    client, bucket = s3_media
    keep = queued_job(user, bench_dir, name="logo_4chan.png")
    job = queued_job(user, bench_dir)
    services.vectorization_run(vectorization_id=job.pk)

    with django_capture_on_commit_callbacks(execute=True):
        services.vectorization_delete(vectorization=Vectorization.objects.get(pk=job.pk))

    assert bucket_keys(client, bucket) == [keep.input_file.name]


def test_retention_deletes_old_objects_and_keeps_the_rows(s3_media, user, bench_dir):
    client, bucket = s3_media
    job = queued_job(user, bench_dir)
    services.vectorization_run(vectorization_id=job.pk)

    expired = services.vectorizations_expire_files(now=timezone.now() + timedelta(days=400))

    assert expired == 1
    assert bucket_keys(client, bucket) == []
    assert Vectorization.objects.filter(pk=job.pk).exists()


def test_an_object_lost_from_the_bucket_is_a_410_or_a_refunded_failure(
    s3_media, client, user, bench_dir
):
    s3, bucket = s3_media
    done = queued_job(user, bench_dir)
    services.vectorization_run(vectorization_id=done.pk)
    done.refresh_from_db()
    waiting = queued_job(user, bench_dir, name="logo_4chan.png")
    balance = balance_for_user(user=user)
    s3.delete_object(Bucket=bucket, Key=done.output_file.name)
    s3.delete_object(Bucket=bucket, Key=waiting.input_file.name)

    client.force_login(user)
    download = client.get(reverse("vectorize:download", args=[done.pk]), {"format": "pdf"})
    services.vectorization_run(vectorization_id=waiting.pk)

    assert download.status_code == 410
    assert b"missing from storage" in download.content
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error_code) == ("failed", "files_deleted")
    assert balance_for_user(user=user) == balance + 1
