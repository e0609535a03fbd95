import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from vectorize.models import Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def test_it_shows_visitors_the_landing_page(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b"Create a free account" in response.content


def test_it_uploads_an_image_and_redirects_to_its_result_page(
    client, user, bench_dir, django_capture_on_commit_callbacks
):
    client.force_login(user)

    with (
        (bench_dir / "emoji_1F309.png").open("rb") as image,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        response = client.post("/", {"image": image, "preset": "auto"})

    job = Vectorization.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("vectorize:detail", args=[job.pk])
    assert (job.owner, job.original_filename, job.status) == (user, "emoji_1F309.png", "queued")
    assert len(callbacks) == 1
    page = client.get(response["Location"])
    assert b"Queued" in page.content
    assert reverse("vectorize:status", args=[job.pk]).encode() in page.content


def test_it_shows_a_bad_file_error_and_creates_nothing(client, user):
    client.force_login(user)

    upload = SimpleUploadedFile("notes.png", b"not an image at all", content_type="image/png")

    response = client.post("/", {"image": upload, "preset": "auto"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "image": [
            "notes.png: This file is not a supported image. "
            "Upload a PNG, JPEG, WebP, GIF, BMP or TIFF file."
        ]
    }
    assert Vectorization.objects.count() == 0


def test_it_reports_status_as_json(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    client.force_login(user)
    url = reverse("vectorize:status", args=[job.pk])
    assert client.get(url).json()["status"] == "queued"

    vectorization_process(str(job.pk))

    body = client.get(url).json()
    assert body["status"] == "succeeded"
    assert body["finished"] is True
    assert body["download_url"] == reverse("vectorize:download", args=[job.pk])


def test_it_downloads_the_svg_as_a_safe_attachment(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    client.force_login(user)

    response = client.get(reverse("vectorize:download", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == 'attachment; filename="emoji_1F309.svg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert b"".join(response.streaming_content).startswith(b"<svg")


def test_it_answers_404_for_a_download_before_the_svg_exists(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    client.force_login(user)

    assert client.get(reverse("vectorize:download", args=[job.pk])).status_code == 404


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("detail", "get"),
        ("status", "get"),
        ("download", "get"),
        ("preview", "get"),
        ("original", "get"),
        ("delete", "post"),
    ],
)
def test_it_answers_404_for_another_users_job_on_every_url(
    client, user, other_user, bench_dir, name, method
):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    client.force_login(other_user)

    response = getattr(client, method)(reverse(f"vectorize:{name}", args=[job.pk]))

    assert response.status_code == 404
    assert Vectorization.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize("name", ["detail", "status", "download", "original"])
def test_it_sends_visitors_to_log_in(client, user, bench_dir, name):
    job = queued_job(user, bench_dir)

    response = client.get(reverse(f"vectorize:{name}", args=[job.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_deletes_a_job_of_the_owner(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    client.force_login(user)

    response = client.post(reverse("vectorize:delete", args=[job.pk]))

    assert response.status_code == 302
    assert not Vectorization.objects.filter(pk=job.pk).exists()


def test_it_lists_only_the_users_jobs_with_an_empty_state(client, user, other_user, bench_dir):
    client.force_login(user)
    assert b"Nothing here yet." in client.get("/").content
    queued_job(other_user, bench_dir, name="logo_ruby.png")
    queued_job(user, bench_dir)

    content = client.get("/").content

    assert b"emoji_1F309.png" in content
    assert b"logo_ruby.png" not in content


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("pdf", "application/pdf", b"%PDF-"),
        ("eps", "application/postscript", b"%!PS-Adobe"),
        ("png", "image/png", b"\x89PNG"),
        ("svg", "image/svg+xml", b"<svg"),
    ],
)
def test_it_downloads_every_format_without_tracing_again(
    client, user, bench_dir, fmt, content_type, magic
):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    finished_at = Vectorization.objects.get(pk=job.pk).finished_at
    client.force_login(user)

    response = client.get(reverse("vectorize:download", args=[job.pk]), {"format": fmt})

    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="emoji_1F309.{fmt}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body.startswith(magic)
    assert Vectorization.objects.get(pk=job.pk).finished_at == finished_at


def test_it_refuses_an_unknown_download_format(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    client.force_login(user)

    response = client.get(reverse("vectorize:download", args=[job.pk]), {"format": "gif"})

    assert response.status_code == 400
    assert response.content == b"Unknown format. Choose one of: svg, pdf, eps, png."


def test_it_accepts_a_dropped_file_as_json(client, user, bench_dir):
    client.force_login(user)

    with (bench_dir / "logo_ruby.png").open("rb") as image:
        response = client.post(reverse("vectorize:upload"), {"image": image, "preset": "logo"})

    assert response.status_code == 201
    body = response.json()
    job = Vectorization.objects.get()
    assert (body["id"], body["status"], body["filename"]) == (
        str(job.pk),
        "queued",
        "logo_ruby.png",
    )
    assert body["status_url"] == reverse("vectorize:status", args=[job.pk])
    assert body["credits"] == 99  # the user's 100, less this job


def test_it_answers_a_bad_dropped_file_in_plain_words(client, user):
    client.force_login(user)
    upload = SimpleUploadedFile("notes.png", b"not an image", content_type="image/png")

    response = client.post(reverse("vectorize:upload"), {"image": upload, "preset": "auto"})

    assert response.status_code == 400
    assert response.json()["error"].startswith("This file is not a supported image.")
    assert "buy_url" not in response.json()
    assert Vectorization.objects.count() == 0


def test_it_points_a_dropped_file_without_credits_to_the_credits_page(
    client, django_user_model, bench_dir
):
    broke = django_user_model.objects.create_user(email="broke@example.com", password="x y z 12")
    client.force_login(broke)
    with open(bench_dir / "logo_ruby.png", "rb") as image:
        response = client.post(reverse("vectorize:upload"), {"image": image, "preset": "auto"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Not enough credits: this needs 1 and you have 0. Buy credits to go on.",
        "code": "insufficient_credits",
        "buy_url": reverse("payments:overview"),
    }
    assert Vectorization.objects.count() == 0


def test_it_converts_several_files_without_the_script(client, user, bench_dir):
    client.force_login(user)
    files = [(bench_dir / name).open("rb") for name in ("logo_ruby.png", "emoji_1F309.png")]

    response = client.post("/", {"image": files, "preset": "auto"})

    assert response.status_code == 302
    assert response["Location"] == reverse("vectorize:history")
    assert Vectorization.objects.count() == 2


def test_it_filters_and_pages_the_history(client, user, bench_dir):
    done = queued_job(user, bench_dir)
    vectorization_process(str(done.pk))
    queued_job(user, bench_dir, name="logo_ruby.png")
    client.force_login(user)

    everything = client.get(reverse("vectorize:history"))
    succeeded = client.get(reverse("vectorize:history"), {"status": "succeeded"})
    failed = client.get(reverse("vectorize:history"), {"status": "failed"})

    assert len(everything.context["page"].object_list) == 2
    assert [job.pk for job in succeeded.context["page"].object_list] == [done.pk]
    assert b"No failed conversions." in failed.content


def test_it_reruns_with_other_settings_from_the_result_page(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    client.force_login(user)

    response = client.post(
        reverse("vectorize:rerun", args=[job.pk]),
        {
            "preset": "poster",
            "path_mode": "polygon",
            "max_colors": "6",
            "advanced": "on",
            "filter_speckle": "9",
            "color_precision": "5",
            "layer_difference": "20",
            "corner_threshold": "50",
            "path_precision": "1",
        },
    )

    rerun = Vectorization.objects.exclude(pk=job.pk).get()
    assert response["Location"] == reverse("vectorize:detail", args=[rerun.pk])
    assert (rerun.rerun_of_id, rerun.preset) == (job.pk, "poster")
    assert rerun.options == {
        "mode": "polygon",
        "max_colors": 6,
        "filter_speckle": 9,
        "color_precision": 5,
        "layer_difference": 20,
        "corner_threshold": 50,
        "path_precision": 1,
    }


def test_it_ignores_the_sliders_unless_switched_on(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    client.force_login(user)

    client.post(
        reverse("vectorize:rerun", args=[job.pk]), {"preset": "logo", "filter_speckle": "99"}
    )

    assert Vectorization.objects.exclude(pk=job.pk).get().options == {}
