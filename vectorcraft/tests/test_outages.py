"""A service we depend on is down: 503 with Retry-After (the envelope in the API), never a crash.

The database case runs against a real PostgreSQL that is stopped and started again, in
vectorize/tests/test_stack.py; here Redis is a port nothing listens on.
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from benchmarks.localstack import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"


def test_the_api_answers_503_with_the_envelope_when_redis_is_down(user, redis_down):
    _, secret = account_services.api_key_create(user=user, name="tests")
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    response = api.get("/api/v1/vectorizations/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert "briefly unavailable" in error["message"]


def test_a_page_answers_503_in_plain_words_when_redis_is_down(client, user, redis_down):
    client.raise_request_exception = False

    # Logging in counts attempts in Redis (rate limits) and keeps the session there.
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "correct horse 1"}
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"Back in a moment" in response.content
    assert b"Nothing you sent was lost" in response.content


def test_an_unexpected_api_error_is_a_500_in_the_envelope(client, monkeypatch, user):
    from vectorize import api

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.VectorizationListCreateApi, "get", broken)
    client.raise_request_exception = False
    client.force_login(user)

    response = client.get("/api/v1/vectorizations/")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
