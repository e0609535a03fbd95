import pytest

from accounts import services
from accounts.models import ApiKey, User
from vectorize.models import Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def test_it_shows_email_credits_and_usage(client, user, bench_dir):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    client.force_login(user)

    response = client.get("/accounts/profile/")

    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary["email"] == user.email
    assert summary["credits"] == 99  # 100 given to the test user, 1 spent on the job
    assert (summary["usage"]["jobs"], summary["usage"]["succeeded"]) == (1, 1)
    assert b"No keys yet." in response.content


def test_it_deletes_an_account_with_its_files(
    client, user, other_user, bench_dir, media_root, django_capture_on_commit_callbacks
):
    job = queued_job(user, bench_dir)
    vectorization_process(str(job.pk))
    job.refresh_from_db()
    others = queued_job(other_user, bench_dir, name="logo_ruby.png")
    services.api_key_create(user=user, name="ci")
    user_files = [media_root / job.input_file.name, media_root / job.output_file.name]
    assert all(path.is_file() for path in user_files)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/delete/", {"password": "correct horse 1"})

    assert response.status_code == 302
    assert not any(path.exists() for path in user_files)
    assert (media_root / others.input_file.name).is_file()
    assert list(Vectorization.objects.values_list("owner", flat=True)) == [other_user.pk]
    assert ApiKey.objects.count() == 0
    gone = User.objects.get(pk=user.pk)
    assert (gone.email, gone.is_active, gone.has_usable_password()) == (
        f"deleted-{user.pk}@deleted.invalid",
        False,
        False,
    )
    assert client.get("/").context["user"].is_authenticated is False


def test_it_asks_for_the_password_before_deleting(client, user, bench_dir):
    queued_job(user, bench_dir)
    client.force_login(user)

    response = client.post("/accounts/delete/", {"password": "not it"})

    assert response.context["delete_form"].errors == {"password": ["That is not your password."]}
    assert Vectorization.objects.count() == 1
    assert User.objects.get(pk=user.pk).is_active
