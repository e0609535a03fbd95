import pytest

from vectorize.models import Vectorization
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def test_it_lists_jobs_with_filters_and_search(admin_client, user, other_user, bench_dir):
    queued_job(user, bench_dir, name="emoji_1F309.png")
    queued_job(other_user, bench_dir, name="logo_ruby.png")

    everything = admin_client.get("/admin/vectorize/vectorization/")
    searched = admin_client.get("/admin/vectorize/vectorization/", {"q": "bob@example.com"})
    filtered = admin_client.get("/admin/vectorize/vectorization/", {"status__exact": "failed"})

    assert everything.status_code == 200
    assert everything.context["cl"].result_count == 2
    assert [job.original_filename for job in searched.context["cl"].result_list] == [
        "logo_ruby.png"
    ]
    assert filtered.context["cl"].result_count == 0


def test_it_shows_a_job(admin_client, user, bench_dir):
    job = queued_job(user, bench_dir)

    response = admin_client.get(f"/admin/vectorize/vectorization/{job.pk}/change/")

    assert response.status_code == 200
    assert b"emoji_1F309.png" in response.content


def test_it_deletes_jobs_with_their_files(
    admin_client, user, bench_dir, media_root, django_capture_on_commit_callbacks
):
    jobs = [queued_job(user, bench_dir), queued_job(user, bench_dir, name="logo_ruby.png")]
    inputs = [media_root / job.input_file.name for job in jobs]
    assert all(path.exists() for path in inputs)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/vectorize/vectorization/",
            {
                "action": "delete_selected",
                "_selected_action": [str(job.pk) for job in jobs],
                "post": "yes",
            },
        )

    assert response.status_code == 302
    assert not Vectorization.objects.exists()
    assert not any(path.exists() for path in inputs)
