import pytest
from django.core.management import call_command
from django.db import connection

from accounts import services
from accounts.models import ApiKey
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def test_it_shows_a_new_key_once_and_lists_it_without_the_secret(client, user):
    client.force_login(user)

    created = client.post("/accounts/keys/", {"name": "build server"})
    listed = client.get("/accounts/profile/")

    secret = created.context["new_key"]["secret"]
    api_key = ApiKey.objects.get(user=user)
    assert secret.startswith(api_key.prefix + ".")
    assert secret.encode() in created.content
    assert created["Cache-Control"] == "no-store"
    assert secret.encode() not in listed.content
    assert api_key.prefix.encode() in listed.content
    assert b"build server" in listed.content


def test_it_stores_no_raw_key_anywhere_in_the_database(user):
    _, secret = services.api_key_create(user=user, name="ci")
    hidden_part = secret.split(".", 1)[1]

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, prefix, hashed_key, name FROM accounts_apikey")
        rows = cursor.fetchall()

    assert len(rows) == 1
    assert all(hidden_part not in str(value) for value in rows[0])
    assert rows[0][2].startswith("sha512$$")


@pytest.mark.parametrize(
    "headers",
    [
        lambda key: {"HTTP_AUTHORIZATION": f"Api-Key {key}"},
        lambda key: {"HTTP_X_API_KEY": key},
    ],
    ids=["authorization", "x-api-key"],
)
def test_it_authenticates_the_api_with_a_key(client, user, bench_dir, headers):
    queued_job(user, bench_dir)
    _, secret = services.api_key_create(user=user, name="ci")

    response = client.get("/api/v1/account/", **headers(secret))

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == user.email
    assert body["credits"] == 99  # 100 given to the test user, 1 spent on the job
    assert body["usage"]["jobs"] == 1
    assert ApiKey.objects.get().last_used_at is not None


def test_it_stops_a_revoked_key_at_once(client, user):
    api_key, secret = services.api_key_create(user=user, name="ci")
    assert client.get("/api/v1/account/", HTTP_X_API_KEY=secret).status_code == 200
    client.force_login(user)

    client.post(f"/accounts/keys/{api_key.prefix}/revoke/")
    client.logout()
    response = client.get("/api/v1/account/", HTTP_X_API_KEY=secret)

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Invalid or revoked API key.",
            "details": {},
        }
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Api-Key nope.nothing"},
        {"HTTP_X_API_KEY": "abcdefgh.wrongsecretwrongsecretwrongsecre"},
    ],
    ids=["none", "unknown", "wrong-secret"],
)
def test_it_answers_401_with_the_envelope(client, user, headers):
    services.api_key_create(user=user, name="ci")

    response = client.get("/api/v1/account/", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_it_keeps_other_users_keys_out_of_reach(client, user, other_user):
    api_key, _ = services.api_key_create(user=user, name="ci")
    client.force_login(other_user)

    response = client.post(f"/accounts/keys/{api_key.prefix}/revoke/")

    assert response.status_code == 404
    assert ApiKey.objects.get().revoked is False


def test_it_requires_a_key_name(client, user):
    client.force_login(user)

    response = client.post("/accounts/keys/", {"name": "  "})

    assert response.context["key_form"].errors == {"name": ["This field is required."]}
    assert ApiKey.objects.count() == 0


def test_it_creates_a_key_from_the_command_line(client, user, capsys):
    call_command("create_api_key", user.email, "--name", "deploy")

    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiKey.objects.get().name == "deploy"
    assert client.get("/api/v1/account/", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 200


def test_it_never_logs_a_key(client, user, caplog):
    _, secret = services.api_key_create(user=user, name="ci")

    with caplog.at_level("DEBUG"):
        client.get("/api/v1/account/", HTTP_X_API_KEY=secret)
        client.get("/api/v1/account/", HTTP_X_API_KEY=secret + "x")

    assert secret.split(".", 1)[1] not in caplog.text


def test_it_checks_the_secret_even_when_the_key_is_cached(client, user):
    api_key, secret = services.api_key_create(user=user, name="ci")
    assert client.get("/api/v1/account/", HTTP_X_API_KEY=secret).status_code == 200

    forged = f"{api_key.prefix}.{'x' * (len(secret) - len(api_key.prefix) - 1)}"
    response = client.get("/api/v1/account/", HTTP_X_API_KEY=forged)

    assert response.status_code == 401


def test_it_refuses_the_keys_of_a_deleted_account_at_once(
    client, user, django_capture_on_commit_callbacks
):
    _, secret = services.api_key_create(user=user, name="ci")
    assert client.get("/api/v1/account/", HTTP_X_API_KEY=secret).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        services.user_delete(user=user)

    assert client.get("/api/v1/account/", HTTP_X_API_KEY=secret).status_code == 401
