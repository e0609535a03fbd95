import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from vectorcraft.errors import ApplicationError
from vectorize import services
from vectorize.models import Vectorization
from vectorize.tests.factories import queued_job, upload_from
from vectorize.tests.helpers import bomb_png

pytestmark = pytest.mark.django_db


def _stored_files(media_root):
    return sorted(p for p in media_root.rglob("*") if p.is_file()) if media_root.exists() else []


def test_it_stores_a_normalized_png_under_a_random_name(user, bench_dir, media_root):
    job = services.vectorization_create(
        owner=user, upload=upload_from(bench_dir / "logo_ruby.png", "../../etc/My Logo.png")
    )

    assert job.status == Vectorization.Status.QUEUED
    assert job.original_filename == "My Logo.png"
    assert (job.width, job.height, job.source_format) == (512, 512, "PNG")
    stored = _stored_files(media_root)
    assert stored == [media_root / job.input_file.name]
    assert job.input_file.name.startswith("uploads/")
    assert "Logo" not in job.input_file.name
    assert Image.open(stored[0]).format == "PNG"


def test_it_queues_the_job_after_commit(user, bench_dir, django_capture_on_commit_callbacks):
    before = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        job = services.vectorization_create(
            owner=user, upload=upload_from(bench_dir / "logo_ruby.png")
        )

    assert len(callbacks) == 1
    assert before <= Vectorization.objects.get(pk=job.pk).enqueued_at <= timezone.now()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_file"),
        (b"just some text", "unsupported_format"),
        (b"%PDF-1.4\n%%EOF\n", "unsupported_format"),
    ],
)
def test_it_creates_nothing_for_a_bad_file(user, media_root, data, reason):
    with pytest.raises(ApplicationError) as caught:
        services.vectorization_create(owner=user, upload=SimpleUploadedFile("x.png", data))

    assert caught.value.code == "invalid_image"
    assert caught.value.extra["reason"] == reason
    assert Vectorization.objects.count() == 0
    assert _stored_files(media_root) == []


def test_it_refuses_a_bomb_before_storing_anything(user, media_root):
    with pytest.raises(ApplicationError) as caught:
        services.vectorization_create(owner=user, upload=SimpleUploadedFile("b.png", bomb_png()))

    assert caught.value.extra["reason"] == "too_many_pixels"
    assert Vectorization.objects.count() == 0
    assert _stored_files(media_root) == []


def test_it_refuses_an_oversized_file(user, settings, media_root):
    settings.MAX_UPLOAD_BYTES = 1_048_576
    buffer = io.BytesIO()
    Image.effect_noise((1200, 1200), 120).save(buffer, "PNG")  # noise barely compresses
    assert buffer.tell() > 1_048_576

    with pytest.raises(ApplicationError) as caught:
        services.vectorization_create(
            owner=user, upload=SimpleUploadedFile("big.png", buffer.getvalue())
        )

    assert caught.value.code == "file_too_large"
    assert caught.value.message.endswith("the limit is 1 MB.")
    assert Vectorization.objects.count() == 0


def test_it_refuses_invalid_parameters_with_each_field(user, bench_dir, media_root):
    with pytest.raises(ApplicationError) as caught:
        queued_job(user, bench_dir, preset="nope", options={"corner_threshold": 999})

    assert caught.value.code == "invalid_parameters"
    assert set(caught.value.extra) == {"preset", "corner_threshold"}
    assert _stored_files(media_root) == []


def test_it_deletes_a_job_with_its_files(
    user, bench_dir, media_root, django_capture_on_commit_callbacks
):
    job = queued_job(user, bench_dir)
    services.vectorization_run(vectorization_id=job.pk)
    assert len(_stored_files(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        services.vectorization_delete(vectorization=Vectorization.objects.get(pk=job.pk))

    assert Vectorization.objects.count() == 0
    assert _stored_files(media_root) == []
