import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as account_services
from idempotency.models import IdempotentRequest
from payments.selectors import balance_for_user
from vectorcraft.api import ReadThrottle
from vectorize import services
from vectorize.models import Batch, Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job
from vectorize.tests.helpers import bomb_png, run_together

pytestmark = pytest.mark.django_db
URL = "/api/v1/vectorizations/"


def _image(bench_dir, name="emoji_1F309.png"):
    return SimpleUploadedFile(name, (bench_dir / name).read_bytes(), content_type="image/png")


def _assert_envelope(response, status_code, code):
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_it_accepts_an_image_with_202_and_a_location(api, bench_dir, user):
    response = api.post(URL, {"image": _image(bench_dir), "preset": "logo", "filter_speckle": 6})

    assert response.status_code == 202
    job = Vectorization.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/vectorizations/{job.pk}/"
    body = response.json()
    assert (body["id"], body["status"], body["mode"]) == (str(job.pk), "queued", "production")
    assert body["options"] == {"filter_speckle": 6}
    assert (job.owner, job.preset) == (user, "logo")


def test_it_reports_a_finished_job_with_its_fidelity_and_links(api, bench_dir, user):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))

    body = api.get(f"{URL}{job.pk}/").json()

    assert body["status"] == "succeeded"
    assert body["fidelity"]["ssim"] > 0.9
    assert body["fidelity"]["svg_bytes"] > 0
    assert body["error"] is None
    assert set(body["links"]) == {"self", "svg", "pdf", "eps", "png"}
    pdf = api.get(body["links"]["pdf"])
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")


def test_it_answers_a_repeated_status_read_without_the_database(
    api, bench_dir, user, django_assert_num_queries
):
    job = queued_job(user, bench_dir)
    first = api.get(f"{URL}{job.pk}/")

    with django_assert_num_queries(0):
        again = api.get(f"{URL}{job.pk}/")

    assert again.json() == first.json()
    assert again.json()["links"] == {"self": f"http://testserver{URL}{job.pk}/"}


def test_it_shows_each_change_to_a_job_at_once(api, bench_dir, user, settings):
    job = queued_job(user, bench_dir)
    statuses = [api.get(f"{URL}{job.pk}/").json()["status"]]

    vectorization_process(str(job.pk))
    succeeded = api.get(f"{URL}{job.pk}/").json()
    services.vectorization_delete(vectorization=Vectorization.objects.get(pk=job.pk))
    deleted = api.get(f"{URL}{job.pk}/")

    assert statuses == ["queued"]
    assert succeeded["status"] == "succeeded"
    assert succeeded["fidelity"]["ssim"] > 0.9
    assert set(succeeded["links"]) == {"self", "svg", "pdf", "eps", "png"}
    _assert_envelope(deleted, 404, "not_found")


def test_it_shows_a_failure_and_a_requeue_at_once(api, bench_dir, user, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    job = queued_job(user, bench_dir)
    Vectorization.objects.filter(pk=job.pk).update(status="running", attempts=1)
    running = api.get(f"{URL}{job.pk}/").json()

    vectorization_process(str(job.pk))  # its one attempt was used: it fails
    failed = api.get(f"{URL}{job.pk}/").json()
    services.vectorization_requeue(vectorization=Vectorization.objects.get(pk=job.pk))
    requeued = api.get(f"{URL}{job.pk}/").json()

    assert running["status"] == "running"
    assert (failed["status"], failed["error"]["code"]) == ("failed", "gave_up")
    assert (requeued["status"], requeued["error"], requeued["attempts"]) == ("queued", None, 0)


def test_it_keeps_a_cached_job_from_other_users(api, bench_dir, user, other_user):
    job = queued_job(user, bench_dir)
    assert api.get(f"{URL}{job.pk}/").status_code == 200
    _, secret = account_services.api_key_create(user=other_user, name="other")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    _assert_envelope(other.get(f"{URL}{job.pk}/"), 404, "not_found")


def test_it_previews_a_scaled_down_copy(api, bench_dir):
    response = api.post(
        URL, {"image": _image(bench_dir, "skimage_astronaut.png"), "mode": "preview"}
    )

    job = Vectorization.objects.get()
    assert response.status_code == 202
    assert job.mode == "preview"
    assert job.width * job.height <= 250_000
    assert job.width < 512


def test_it_tests_an_image_without_creating_a_job(api, bench_dir):
    response = api.post(URL, {"image": _image(bench_dir), "mode": "test"})

    assert response.status_code == 200
    assert response.json() == {
        "mode": "test",
        "valid": True,
        "width": 512,
        "height": 512,
        "megapixels": 0.262,
        "source_format": "PNG",
        "credits": 1,
    }
    assert Vectorization.objects.count() == 0


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (SimpleUploadedFile("a.png", b""), None),
        (SimpleUploadedFile("a.png", b"plain text, not an image"), "unsupported_format"),
        (SimpleUploadedFile("a.png", b"%PDF-1.4\n%%EOF\n"), "unsupported_format"),
        (SimpleUploadedFile("a.png", bomb_png()), "too_many_pixels"),
    ],
    ids=["empty", "text", "pdf", "bomb"],
)
def test_it_refuses_bad_files_with_the_envelope(api, upload, reason):
    response = api.post(URL, {"image": upload})

    error = _assert_envelope(response, 400, "invalid" if reason is None else "invalid_image")
    if reason:
        assert error["details"]["reason"] == reason
    assert Vectorization.objects.count() == 0


def test_it_lists_each_bad_field(api, bench_dir):
    response = api.post(
        URL,
        {"image": _image(bench_dir), "preset": "nope", "filter_speckle": 999, "mode": "fast"},
    )

    error = _assert_envelope(response, 400, "invalid")
    assert set(error["details"]) == {"preset", "filter_speckle", "mode"}


def test_it_refuses_a_palette_that_is_not_hex(api, bench_dir):
    response = api.post(URL, {"image": _image(bench_dir), "palette": ["#fff", "orange"]})

    error = _assert_envelope(response, 400, "invalid_parameters")
    assert "palette" in error["details"]


def test_it_lists_newest_first_with_filters_and_pages(api, bench_dir, user, other_user):
    first = queued_job(user, bench_dir)
    second = queued_job(user, bench_dir, name="logo_ruby.png")
    vectorization_process(str(second.pk))
    queued_job(other_user, bench_dir)

    everything = api.get(URL).json()
    succeeded = api.get(URL, {"status": "succeeded"}).json()
    paged = api.get(URL, {"page_size": 1, "page": 2}).json()

    assert [job["id"] for job in everything["results"]] == [str(second.pk), str(first.pk)]
    assert everything["count"] == 2
    assert [job["id"] for job in succeeded["results"]] == [str(second.pk)]
    assert [job["id"] for job in paged["results"]] == [str(first.pk)]
    _assert_envelope(api.get(URL, {"status": "lost"}), 400, "invalid")


def test_it_answers_404_for_another_users_job_everywhere(api, bench_dir, other_user):
    job = queued_job(other_user, bench_dir)
    vectorization_process(str(job.pk))

    for response in (
        api.get(f"{URL}{job.pk}/"),
        api.get(f"{URL}{job.pk}/download/"),
        api.post(f"{URL}{job.pk}/rerun/", {"preset": "logo"}, format="json"),
        api.delete(f"{URL}{job.pk}/"),
        api.get(f"{URL}{uuid.uuid4()}/"),
    ):
        _assert_envelope(response, 404, "not_found")
    assert Vectorization.objects.filter(pk=job.pk).exists()


def test_it_downloads_only_finished_jobs_in_known_formats(api, bench_dir, user):
    job = queued_job(user, bench_dir)

    _assert_envelope(api.get(f"{URL}{job.pk}/download/"), 409, "not_ready")
    vectorization_process(str(job.pk))
    _assert_envelope(api.get(f"{URL}{job.pk}/download/", {"format": "gif"}), 400, "invalid_format")
    svg = api.get(f"{URL}{job.pk}/download/")
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"] == 'attachment; filename="emoji_1F309.svg"'


def test_it_reruns_on_the_same_input_without_an_upload(api, bench_dir, user):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))

    response = api.post(
        f"{URL}{job.pk}/rerun/", {"preset": "clipart", "max_colors": 4}, format="json"
    )

    assert response.status_code == 202
    rerun = Vectorization.objects.get(pk=response.json()["id"])
    assert (rerun.rerun_of, rerun.preset, rerun.options) == (job, "clipart", {"max_colors": 4})
    assert rerun.input_file.name != job.input_file.name
    assert rerun.input_file.read() == Vectorization.objects.get(pk=job.pk).input_file.read()


def test_it_deletes_a_job(api, bench_dir, user, media_root):
    job = queued_job(user, bench_dir)

    response = api.delete(f"{URL}{job.pk}/")

    assert response.status_code == 204
    assert not Vectorization.objects.exists()


def test_it_queues_a_batch_and_reports_its_progress(api, bench_dir, user):
    response = api.post(
        f"{URL}batch/",
        {"images": [_image(bench_dir), _image(bench_dir, "logo_ruby.png")], "preset": "logo"},
    )

    assert response.status_code == 202
    body = response.json()
    assert (body["total"], body["done"], body["pending"]) == (2, 0, 2)
    batch = Batch.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/batches/{batch.pk}/"
    first = batch.vectorizations.order_by("created_at").first()
    vectorization_process(str(first.pk))
    progress = api.get(f"/api/v1/batches/{batch.pk}/").json()
    assert (progress["total"], progress["done"], progress["failed"], progress["pending"]) == (
        2,
        1,
        0,
        1,
    )


def test_it_refuses_a_batch_with_a_bad_file_as_a_whole(api, bench_dir):
    response = api.post(
        f"{URL}batch/",
        {"images": [_image(bench_dir), SimpleUploadedFile("x.png", b"nope")]},
    )

    error = _assert_envelope(response, 400, "invalid_image")
    assert list(error["details"]) == ["images[1]"]
    assert Vectorization.objects.count() == 0
    assert Batch.objects.count() == 0


def test_it_needs_authentication(client, bench_dir):
    _assert_envelope(client.get(URL), 401, "not_authenticated")
    _assert_envelope(client.post(URL, {"image": _image(bench_dir)}), 401, "not_authenticated")


def test_it_works_for_a_logged_in_browser_session_with_csrf(bench_dir, user):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)

    assert browser.get(URL).status_code == 200
    refused = browser.post(URL, {"image": _image(bench_dir)})
    _assert_envelope(refused, 403, "permission_denied")
    page = browser.get(URL, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"Vectorization List Create" in page.content  # DRF's browsable API page


def test_it_replays_an_idempotent_request_without_a_second_job(api, bench_dir, user):
    first = api.post(URL, {"image": _image(bench_dir)}, HTTP_IDEMPOTENCY_KEY="job-1")
    again = api.post(URL, {"image": _image(bench_dir)}, HTTP_IDEMPOTENCY_KEY="job-1")

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    # The replay is the first answer again, every header that says what it did included.
    for header in ("Location", "X-Credits-Charged", "X-Credits-Remaining"):
        assert again[header] == first[header], header
    assert (first["X-Credits-Charged"], first["X-Credits-Remaining"]) == ("1", "99")
    assert Vectorization.objects.count() == 1
    assert balance_for_user(user=user) == 99  # charged once


def test_it_refuses_a_reused_key_for_a_different_request(api, bench_dir):
    api.post(URL, {"image": _image(bench_dir)}, HTTP_IDEMPOTENCY_KEY="job-1")

    changed = api.post(
        URL, {"image": _image(bench_dir, "logo_ruby.png")}, HTTP_IDEMPOTENCY_KEY="job-1"
    )

    _assert_envelope(changed, 422, "idempotency_key_reused")
    assert Vectorization.objects.count() == 1


def test_it_refuses_a_duplicate_while_the_first_is_in_flight(api, bench_dir, user):
    # The first request holds the key (as it would while its upload is being processed).
    api.post(URL, {"image": _image(bench_dir)}, HTTP_IDEMPOTENCY_KEY="job-1")
    IdempotentRequest.objects.filter(key="job-1").update(state="in_progress")

    duplicate = api.post(URL, {"image": _image(bench_dir)}, HTTP_IDEMPOTENCY_KEY="job-1")

    _assert_envelope(duplicate, 409, "request_in_progress")
    assert Vectorization.objects.count() == 1


def test_it_lets_a_refused_request_be_retried_with_its_key(api, bench_dir):
    refused = api.post(URL, {"image": SimpleUploadedFile("x.png", b"no")}, HTTP_IDEMPOTENCY_KEY="k")
    accepted = api.post(URL, {"image": _image(bench_dir)}, HTTP_IDEMPOTENCY_KEY="k")

    assert refused.status_code == 400
    assert accepted.status_code == 202


@pytest.fixture
def clock(monkeypatch):
    """The read rate limit's clock, moved by hand."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(ReadThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def test_it_throttles_reads_with_retry_after(api, settings, clock):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"read": "3/min", "submit": "60/min"},
    }

    codes = [api.get(URL).status_code for _ in range(4)]
    limited = api.get(URL)
    submit_still_open = api.post(URL, {})

    assert codes == [200, 200, 200, 429]
    assert submit_still_open.status_code == 400  # a separate budget: refused for its content
    error = _assert_envelope(limited, 429, "throttled")
    assert 0 < int(limited["Retry-After"]) <= 60
    assert error["message"].startswith("Request was throttled.")


def test_it_opens_the_next_window_when_retry_after_has_passed(api, settings, clock):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"read": "2/min", "submit": "60/min"},
    }
    codes = [api.get(URL).status_code for _ in range(3)]
    retry_after = int(api.get(URL)["Retry-After"])

    clock[0] += retry_after - 1
    still_limited = api.get(URL).status_code
    clock[0] += 1
    reopened = [api.get(URL).status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert still_limited == 429
    assert reopened == [200, 200, 429]


def test_it_serves_the_openapi_schema_and_docs(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {
        "/api/v1/account/",
        "/api/v1/vectorizations/",
        "/api/v1/vectorizations/batch/",
        "/api/v1/vectorizations/{vectorization_id}/",
        "/api/v1/vectorizations/{vectorization_id}/download/",
        "/api/v1/vectorizations/{vectorization_id}/rerun/",
        "/api/v1/batches/{batch_id}/",
    } <= set(paths)
    assert "429" in paths["/api/v1/vectorizations/"]["post"]["responses"]
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_it_allows_configured_origins_only(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    allowed = api.get(URL, HTTP_ORIGIN="https://app.example.com")
    other = api.get(URL, HTTP_ORIGIN="https://evil.example.net")

    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_creates_one_job_for_concurrent_duplicates(bench_dir, user):
    _, secret = account_services.api_key_create(user=user, name="race")

    def send():
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=secret)
        return client.post(
            URL, {"image": _image(bench_dir)}, HTTP_IDEMPOTENCY_KEY="same"
        ).status_code

    results = run_together(send, 4)

    # Exactly one job; the others were either refused as in flight or given the first answer.
    assert Vectorization.objects.count() == 1
    assert len(results) == 4
    assert set(results) <= {202, 409}
    assert 202 in results


def test_it_charges_a_credit_per_production_job_and_says_so(api, bench_dir, user):
    production = api.post(URL, {"image": _image(bench_dir)})
    preview = api.post(URL, {"image": _image(bench_dir), "mode": "preview"})

    assert (production["X-Credits-Charged"], production["X-Credits-Remaining"]) == ("1", "99")
    assert (preview["X-Credits-Charged"], preview["X-Credits-Remaining"]) == ("0", "99")


def test_it_tells_the_balance_after_the_charge_without_reading_it_again(api, bench_dir, user):
    with CaptureQueriesContext(connection) as queries:
        response = api.post(URL, {"image": _image(bench_dir)})

    assert response["X-Credits-Remaining"] == "99"
    balance_reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and '"payments_creditaccount"' in query["sql"]
    ]
    assert not balance_reads, balance_reads  # the charge's UPDATE returns the new balance


def test_it_refuses_a_job_without_credits_with_402_and_keeps_nothing(
    api, bench_dir, user, media_root
):
    from payments.services import credits_book

    credits_book(user=user, delta=-100, kind="staff", key="drain", reference="tests")

    response = api.post(URL, {"image": _image(bench_dir)})

    error = _assert_envelope(response, 402, "insufficient_credits")
    assert error["details"] == {
        "needed": 1,
        "balance": 0,
        "buy_url": "http://testserver/credits/",  # where to buy them
    }
    assert Vectorization.objects.count() == 0
    assert [path for path in media_root.rglob("*") if path.is_file()] == []
    assert api.post(URL, {"image": _image(bench_dir), "mode": "preview"}).status_code == 202
