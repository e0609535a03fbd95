"""There is exactly one way in with a password: allauth's login, throttled and for confirmed
addresses only. Every URL the project serves is tried with a password to prove it."""

import base64
import json
import statistics
import time

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils.regex_helper import normalize

from accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "a long passphrase 7"


def _every_path(resolver=None, prefix=""):
    """(path, view) for every URL pattern of the project, with each parameter filled in."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        for template, params in normalize(entry.pattern.regex.pattern):
            part = template % {name: "1" for name in params}
            if isinstance(entry, URLResolver):
                yield from _every_path(entry, prefix + part)
            else:
                yield "/" + (prefix + part).lstrip("/"), entry.callback


def _view_module(callback) -> str:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or callback
    return view.__module__


def _credentials(email: str) -> list[dict]:
    """The field names a password form or API could take the account under."""
    return [
        {"login": email, "password": PASSWORD},
        {"username": email, "password": PASSWORD},
        {"email": email, "password": PASSWORD},
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    ]


def _doors_that_log_in(email: str) -> set[str]:
    basic = "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()
    opened = set()
    paths = sorted(set(_every_path()), key=lambda item: item[0])
    assert len(paths) > 40, "the walk must reach the whole URL configuration"
    for path, callback in paths:
        for fields in _credentials(email):
            for as_json in (False, True):
                client = Client(raise_request_exception=False)
                options = {"HTTP_AUTHORIZATION": basic}
                if as_json:
                    client.post(path, json.dumps(fields), "application/json", **options)
                else:
                    client.post(path, fields, **options)
                if client.session.get("_auth_user_id"):
                    opened.add(f"{path} ({_view_module(callback)})")
    return opened


def _user(email: str, *, verified: bool) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def test_only_allauths_login_accepts_a_password(settings):
    settings.ACCOUNT_RATE_LIMITS = False  # the walk posts the right password hundreds of times
    _user("ada@example.com", verified=True)

    opened = _doors_that_log_in("ada@example.com")

    login = reverse("account_login")
    assert opened == {f"{login} (allauth.account.views)"}


def test_no_door_lets_an_unconfirmed_address_in(settings):
    settings.ACCOUNT_RATE_LIMITS = False
    _user("farm@example.com", verified=False)

    assert _doors_that_log_in("farm@example.com") == set()


def test_the_api_takes_no_password(client):
    _user("ada@example.com", verified=True)
    basic = "Basic " + base64.b64encode(f"ada@example.com:{PASSWORD}".encode()).decode()

    response = client.get("/api/v1/account/", HTTP_AUTHORIZATION=basic)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_drfs_login_view_is_not_served(client):
    _user("ada@example.com", verified=True)

    credentials = {"username": "ada@example.com", "password": PASSWORD}
    response = client.post("/api/auth/login/", credentials)

    assert response.status_code == 404
    assert "_auth_user_id" not in client.session


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast, for tests) that counts the passwords it hashes."""

    hashed = 0

    def encode(self, password, salt):
        CountingHasher.hashed += 1
        return super().encode(password, salt)


def _sign_up(client, email: str):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_a_sign_up_with_a_registered_address_hashes_a_password_like_a_new_one(
    client, settings, smtp_inbox
):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    _user("taken@example.com", verified=True)

    CountingHasher.hashed = 0
    new = _sign_up(client, "new@example.com")
    hashed_for_new = CountingHasher.hashed
    CountingHasher.hashed = 0
    taken = _sign_up(Client(), "taken@example.com")

    assert hashed_for_new >= 1
    assert CountingHasher.hashed == hashed_for_new
    # The same answer and one mail each: nothing tells the two apart.
    assert (new.status_code, new["Location"]) == (taken.status_code, taken["Location"])
    assert len(smtp_inbox.messages) == 2


def test_a_sign_up_takes_as_long_for_a_registered_address_as_for_a_new_one(settings):
    # The real hasher (PBKDF2): its cost is what told the two apart, 0.03 s against 0.5 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    _user("taken@example.com", verified=True)

    def seconds(email: str) -> float:
        started = time.perf_counter()
        _sign_up(Client(), email)
        return time.perf_counter() - started

    new = statistics.median(seconds(f"new{index}@example.com") for index in range(3))
    taken = statistics.median(seconds("taken@example.com") for _ in range(3))

    assert 0.5 < taken / new < 2, (taken, new)
