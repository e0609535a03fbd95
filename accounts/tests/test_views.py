import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_it_signs_up_a_new_user_and_logs_them_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "New.User@Example.com",
            "password1": "a long passphrase 7",
            "password2": "a long passphrase 7",
        },
    )

    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "new.user@example.com"
    assert client.get("/").context["user"] == user


def test_it_refuses_a_duplicate_email(client, user):
    response = client.post(
        "/accounts/signup/",
        {
            "email": user.email,
            "password1": "a long passphrase 7",
            "password2": "a long passphrase 7",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "User with this E-mail address already exists."
    ]
    assert User.objects.count() == 1


def test_it_logs_in_with_email_and_password(client, user):
    response = client.post(
        "/accounts/login/", {"username": user.email, "password": "correct horse 1"}
    )

    assert response.status_code == 302
    assert client.get("/").context["user"] == user
