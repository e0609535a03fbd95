"""What a request can go wrong with before or after a job exists: a deleted job that never ran,
a full disk, a batch short of credits, and bodies past the limits. Each costs nothing."""

import json
import os
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from payments.models import CreditEntry
from payments.selectors import balance_for_user
from payments.services import credits_book
from vectorize.models import Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests import realworld
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/vectorizations/"


def _files(root):
    return [path for path in root.rglob("*") if path.is_file()]


def _assert_envelope(response, status_code, code):
    assert response.status_code == status_code, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return error


def test_deleting_a_job_that_never_ran_gives_its_credit_back(api, user, bench_dir):
    job = queued_job(user, bench_dir)
    assert balance_for_user(user=user) == 99

    assert api.delete(f"{URL}{job.pk}/").status_code == 204

    assert balance_for_user(user=user) == 100
    refund = CreditEntry.objects.get(kind="job_refund")
    assert refund.reference.endswith("deleted before it ran")


def test_deleting_a_finished_job_keeps_its_charge(api, user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))

    assert api.delete(f"{URL}{job.pk}/").status_code == 204

    assert balance_for_user(user=user) == 99
    assert not CreditEntry.objects.filter(kind="job_refund").exists()


def test_a_batch_short_of_credits_says_what_it_needs_and_leaves_nothing(
    api, user, bench_dir, media_root
):
    credits_book(user=user, delta=-97, kind="staff", key="down-to-3", reference="tests")
    images = [(bench_dir / "emoji_1F309.png").open("rb") for _ in range(5)]

    response = api.post(f"{URL}batch/", {"images": images})

    error = _assert_envelope(response, 402, "insufficient_credits")
    assert "these 5 images need 5 and you have 3" in error["message"]
    assert (error["details"]["needed"], error["details"]["balance"]) == (5, 3)
    assert balance_for_user(user=user) == 3
    assert Vectorization.objects.count() == 0
    assert _files(media_root) == []


def test_an_oversized_upload_is_a_413_with_the_envelope(api, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    upload = SimpleUploadedFile("big.png", b"\0" * 2000)

    error = _assert_envelope(api.post(URL, {"image": upload}), 413, "file_too_large")

    assert error["details"]["max_bytes"] == 1000


def test_a_body_past_djangos_memory_limit_gets_the_envelope_not_an_html_page(api, user, bench_dir):
    job = queued_job(user, bench_dir)
    body = json.dumps({"preset": "logo", "padding": "x" * 3_000_000})

    response = api.post(f"{URL}{job.pk}/rerun/", body, content_type="application/json")

    _assert_envelope(response, 413, "request_too_large")


def test_too_many_form_fields_get_the_envelope(api, bench_dir):
    fields = {f"field{index}": "1" for index in range(1100)}
    fields["image"] = (bench_dir / "emoji_1F309.png").open("rb")

    response = api.post(URL, fields)

    _assert_envelope(response, 400, "too_many_fields")


@pytest.fixture
def full_disk(tmp_path, settings):
    """MEDIA_ROOT on a real file system of 256 KB (a tmpfs mounted for the test)."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs needs root (CI and the dev machines run as root)")
    mount = tmp_path / "media"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    settings.MEDIA_ROOT = str(mount)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_media_disk_refuses_an_upload_with_507_and_leaves_nothing(
    api, user, bench_dir, full_disk, client
):
    photo = realworld.photo_of_size(bench_dir, 640, 480, fmt="PNG")  # over 256 KB as a PNG
    assert len(photo) > 256 * 1024

    response = api.post(URL, {"image": SimpleUploadedFile("photo.png", photo)})

    error = _assert_envelope(response, 507, "storage_full")
    assert "out of storage space" in error["message"]
    assert "Nothing was charged" in error["message"]
    assert _files(full_disk) == []  # not even an empty file
    assert Vectorization.objects.count() == 0
    assert balance_for_user(user=user) == 100
    # Readiness says so, naming the part.
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    media = ready.json()["checks"]["media_storage"]
    assert media["status"] == "unavailable"
    assert "Media storage is almost full" in media["message"]
