import re

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "a long passphrase 7"


def _link(message, pattern: str) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(rf"http://testserver(/accounts/{pattern}/\S+)", text)
    assert match, text
    return match.group(1)


def test_it_signs_up_verifies_by_a_mailed_link_and_logs_in(client, smtp_inbox):
    response = client.post(
        "/accounts/signup/",
        {"email": "New.User@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get()
    assert user.email == "new.user@example.com"
    assert not EmailAddress.objects.get(user=user).verified
    # Mandatory verification: no session until the address is confirmed.
    assert client.get("/").context["user"].is_authenticated is False
    [message] = smtp_inbox.messages
    assert message["To"] == "new.user@example.com"
    assert message["Subject"] == "[VectorCraft] Please Confirm Your Email Address"
    assert message.get_body(("html",)) is not None
    assert "Confirm my address" in message.get_body(("html",)).get_content()

    link = _link(message, "confirm-email")
    assert client.get(link).status_code == 200
    confirmed = client.post(link)

    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    client.logout()
    login = client.post("/accounts/login/", {"login": "new.user@example.com", "password": PASSWORD})
    assert login.status_code == 302
    assert client.get("/").context["user"] == user


def _verified_user(email="ada@example.com", password=PASSWORD):
    user = User.objects.create_user(email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def test_it_resets_a_password_through_a_mailed_link(client, smtp_inbox):
    user = _verified_user()

    client.post("/accounts/password/reset/", {"email": user.email})

    [message] = smtp_inbox.messages
    assert message["Subject"] == "[VectorCraft] Password Reset Email"
    assert message.get_body(("html",)) is not None
    form_url = client.get(_link(message, "password/reset/key"), follow=True).redirect_chain[-1][0]
    done = client.post(
        form_url, {"password1": "a brand new secret 8", "password2": "a brand new secret 8"}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new secret 8")
    assert (
        client.post(
            "/accounts/login/", {"login": user.email, "password": "a brand new secret 8"}
        ).status_code
        == 302
    )


def test_it_refuses_a_second_account_for_the_same_address(client, smtp_inbox):
    _verified_user()

    client.post(
        "/accounts/signup/",
        {"email": "ADA@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert User.objects.count() == 1


def _failed_login(client, email, **headers):
    return client.post(
        "/accounts/login/", {"login": email, "password": "wrong password"}, **headers
    )


THROTTLED = b"Too many failed login attempts. Try again later."


def _throttled(response) -> bool:
    return response.status_code == 200 and THROTTLED in response.content


def test_it_throttles_failed_logins_from_one_address_only(client):
    _verified_user()
    responses = [
        _failed_login(client, f"user{n}@example.com", REMOTE_ADDR="203.0.113.5") for n in range(11)
    ]

    assert [_throttled(r) for r in responses] == [False] * 10 + [True]
    # Even the right password is refused from that address for now...
    assert _throttled(
        client.post(
            "/accounts/login/",
            {"login": "ada@example.com", "password": PASSWORD},
            REMOTE_ADDR="203.0.113.5",
        )
    )
    # ...while from another address it works.
    other = client.post(
        "/accounts/login/",
        {"login": "ada@example.com", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert other.status_code == 302


def test_it_ignores_a_forged_forwarded_for_without_trusted_proxies(client):
    for n in range(10):
        _failed_login(client, f"user{n}@example.com", REMOTE_ADDR="203.0.113.5")

    forged = _failed_login(
        client, "x@example.com", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.99"
    )

    assert _throttled(forged)


def test_it_takes_the_address_the_trusted_proxy_saw(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        _failed_login(
            client,
            f"user{n}@example.com",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )

    # The client writes its own X-Forwarded-For; the proxy appends the address it really saw.
    forged = _failed_login(
        client,
        "x@example.com",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.5",
    )
    other_client = _failed_login(
        client, "y@example.com", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )

    assert _throttled(forged)
    assert other_client.status_code == 200
    assert not _throttled(other_client)


def test_it_sends_the_admin_login_through_the_throttled_login(client):
    staff = _verified_user("staff@example.com")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])

    page = client.get("/admin/login/")
    side_door = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})

    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/?next=")
    assert side_door.status_code == 302  # redirected, the credentials are not even looked at
    assert client.get("/admin/").status_code == 302
    for n in range(10):
        _failed_login(client, f"user{n}@example.com", REMOTE_ADDR="203.0.113.5")
    throttled = client.post(
        "/accounts/login/?next=/admin/",
        {"login": staff.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.5",
    )
    assert _throttled(throttled)


def test_it_lets_staff_into_the_admin_after_logging_in(client):
    staff = _verified_user("staff@example.com")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])

    client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})

    assert client.get("/admin/").status_code == 200


def test_it_closes_sign_up_when_configured(client, settings):
    settings.ACCOUNT_ALLOW_SIGNUPS = False

    response = client.get("/accounts/signup/")

    assert b"Sign Up Closed" in response.content


def test_it_changes_the_email_address_after_the_new_one_is_confirmed(client, smtp_inbox):
    user = _verified_user()
    client.force_login(user)

    client.post("/accounts/email/", {"email": "ada.new@example.com", "action_add": ""})

    [message] = smtp_inbox.messages
    assert message["To"] == "ada.new@example.com"
    assert User.objects.get(pk=user.pk).email == "ada@example.com"  # not before confirmation
    client.post(_link(message, "confirm-email"))
    assert User.objects.get(pk=user.pk).email == "ada.new@example.com"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) == [
        "ada.new@example.com"
    ]


@pytest.mark.parametrize(
    "url",
    ["/accounts/email/", "/accounts/password/change/", "/accounts/login/", "/accounts/signup/"],
)
def test_it_renders_account_pages_in_the_site_layout(client, url):
    client.force_login(_verified_user())
    if url in ("/accounts/login/", "/accounts/signup/"):
        client.logout()

    response = client.get(url)

    assert response.status_code == 200
    assert b'class="site-header"' in response.content
    assert b'class="card narrow account-card"' in response.content


def test_it_mails_both_parts_when_someone_signs_up_with_a_taken_address(client, smtp_inbox):
    _verified_user()

    client.post(
        "/accounts/signup/",
        {"email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    [message] = smtp_inbox.messages
    assert message["To"] == "ada@example.com"
    assert "/accounts/password/reset/" in message.get_body(("plain",)).get_content()
    assert "Reset my password" in message.get_body(("html",)).get_content()


def test_it_lets_a_superuser_from_createsuperuser_log_in_at_once(client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "staff password 9")
    call_command("createsuperuser", "--noinput", "--email", "Boss@Example.com")

    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": "boss@example.com", "password": "staff password 9"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
