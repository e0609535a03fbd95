"""Free work cannot starve paying users: caps per account, ?wait= that cannot hold every thread,
images that would not finish refused before they cost anything, a hard limit on tracing."""

import os
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.services import api_key_create
from payments.selectors import balance_for_user
from payments.services import credits_book
from vectorize import api as vectorize_api
from vectorize import engine
from vectorize.engine.isolation import run_isolated
from vectorize.models import Vectorization
from vectorize.tests import realworld
from vectorize.tests.helpers import run_together

URL = "/api/v1/vectorizations/"


def _upload(bench_dir, name="emoji_1F309.png"):
    return (bench_dir / name).open("rb")


def _assert_envelope(response, status_code, code):
    assert response.status_code == status_code, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return error


@pytest.mark.django_db
def test_it_caps_the_jobs_one_account_has_in_flight(api, bench_dir, user, settings):
    settings.MAX_JOBS_IN_FLIGHT = 2
    for _ in range(2):
        assert api.post(URL, {"image": _upload(bench_dir)}).status_code == 202
    before = balance_for_user(user=user)

    error = _assert_envelope(api.post(URL, {"image": _upload(bench_dir)}), 429, "too_many_jobs")

    assert error["message"].startswith("You have 2 conversions waiting or running;")
    assert "at most 2 can be at once" in error["message"]
    assert error["details"] == {"in_flight": 2, "limit": 2}
    assert balance_for_user(user=user) == before  # refused before it was charged
    assert Vectorization.objects.count() == 2
    # Finished jobs make room again.
    Vectorization.objects.update(status=Vectorization.Status.SUCCEEDED)
    assert api.post(URL, {"image": _upload(bench_dir)}).status_code == 202


@pytest.mark.django_db
def test_it_caps_free_previews_per_day(api, bench_dir, settings):
    settings.FREE_JOBS_PER_DAY = 2
    for _ in range(2):
        preview = api.post(URL, {"image": _upload(bench_dir), "mode": "preview"})
        assert preview.status_code == 202
    Vectorization.objects.update(status=Vectorization.Status.SUCCEEDED)

    refused = api.post(URL, {"image": _upload(bench_dir), "mode": "preview"})

    error = _assert_envelope(refused, 429, "free_limit_reached")
    assert "2 free previews" in error["message"]
    # Paid work is not held back by the free allowance.
    assert api.post(URL, {"image": _upload(bench_dir)}).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_one_account_cannot_pass_the_in_flight_cap_together(user, bench_dir, settings):
    settings.MAX_JOBS_IN_FLIGHT = 3
    _, key = api_key_create(user=user, name="burst")

    def send():
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        return client.post(URL, {"image": _upload(bench_dir)}).status_code

    results = run_together(send, 6)

    assert sorted(results) == [202, 202, 202, 429, 429, 429]
    assert Vectorization.objects.count() == 3


@pytest.mark.django_db
def test_an_image_that_would_not_finish_is_refused_before_it_costs_anything(api, user, media_root):
    # The reported case: a 5 MB PNG of 1-bit noise at 40 megapixels.
    data = realworld.noise(8000, 5000)
    assert len(data) < 6_000_000
    before = balance_for_user(user=user)

    response = api.post(URL, {"image": SimpleUploadedFile("noise.png", data)})

    error = _assert_envelope(response, 422, "too_complex")
    assert "too detailed to convert within our time limit" in error["message"]
    assert error["details"]["estimated_seconds"] > error["details"]["limit_seconds"] == 300
    assert balance_for_user(user=user) == before
    assert Vectorization.objects.count() == 0
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


@pytest.mark.django_db
def test_a_12_megapixel_photo_is_estimated_to_finish_and_accepted(api, bench_dir):
    data = realworld.phone_photo(bench_dir)

    response = api.post(URL, {"image": SimpleUploadedFile("IMG_0001.JPG", data)})

    assert response.status_code == 202, response.content


def _sleep(seconds):
    time.sleep(seconds)
    return "woke"


def _die():
    os._exit(9)


def _refuse():
    raise engine.ImageRejected("The stored image could not be read.", code="corrupt_input")


def test_an_isolated_run_is_stopped_at_its_limit():
    started = time.monotonic()
    with pytest.raises(engine.TraceTimedOut, match=r"longer than the 0\.5-second limit"):
        run_isolated(_sleep, 30, timeout=0.5)
    assert time.monotonic() - started < 5


def test_an_isolated_run_returns_its_result_and_keeps_its_errors():
    assert run_isolated(_sleep, 0, timeout=10) == "woke"
    with pytest.raises(engine.ImageRejected) as refused:
        run_isolated(_refuse, timeout=10)
    assert refused.value.code == "corrupt_input"  # the code survives the trip between processes


def test_an_isolated_run_that_dies_is_a_trace_failure_not_a_dead_caller():
    with pytest.raises(engine.TraceFailed, match="stopped on this image"):
        run_isolated(_die, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_an_account_holds_one_wait_at_a_time_and_the_rest_answer_at_once(user, bench_dir):
    _, key = api_key_create(user=user, name="waits")
    # Jobs that no cluster will run: a wait lasts its whole length.

    def send():
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        started = time.monotonic()
        response = client.post(f"{URL}?wait=3", {"image": _upload(bench_dir)})
        return response.status_code, response.get("X-Wait-Skipped"), time.monotonic() - started

    results = sorted(run_together(send, 3), key=lambda result: result[2])

    assert [status for status, _, _ in results] == [202, 202, 202]
    skipped = [result for result in results if result[1] == "true"]
    held = [result for result in results if result[1] is None]
    assert len(skipped) == 2 and len(held) == 1
    assert all(seconds < 2.5 for _, _, seconds in skipped)
    assert held[0][2] >= 3


@pytest.mark.django_db(transaction=True)
def test_waits_never_take_every_thread_of_a_web_process(bench_dir, django_user_model, monkeypatch):
    # Two threads of this process may wait; the third request of another account does not.
    monkeypatch.setattr(vectorize_api, "_process_waits", threading.BoundedSemaphore(2))
    keys = []
    for index in range(3):
        owner = django_user_model.objects.create_user(email=f"waiter{index}@example.com")
        credits_book(user=owner, delta=5, kind="staff", key=f"w{index}", reference="tests")
        keys.append(api_key_create(user=owner, name="w")[1])
    index = iter(range(3))
    lock = threading.Lock()

    def send():
        with lock:
            key = keys[next(index)]
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        response = client.post(f"{URL}?wait=3", {"image": _upload(bench_dir)})
        return response.get("X-Wait-Skipped")

    results = run_together(send, 3)

    assert sorted(results, key=str) == [None, None, "true"]
