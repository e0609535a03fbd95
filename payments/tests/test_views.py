import pytest
from django.urls import reverse

from payments.services import credits_refund_for_job
from vectorize import services
from vectorize.tests.factories import queued_job

pytestmark = pytest.mark.django_db


def test_the_credit_history_links_each_job_that_is_still_there(client, user, bench_dir):
    kept = queued_job(user, bench_dir, name="emoji_1F309.png")
    refunded = queued_job(user, bench_dir, name="logo_4chan.png")
    credits_refund_for_job(job=refunded)
    deleted = queued_job(user, bench_dir, name="logo_ruby.png")
    deleted_url = reverse("vectorize:detail", args=[deleted.pk])
    services.vectorization_delete(vectorization=deleted)
    client.force_login(user)

    page = client.get(reverse("payments:overview")).content.decode()

    def link(job, text):
        return f'<a href="{reverse("vectorize:detail", args=[job.pk])}">{text}</a>'

    assert f"Vectorization: {link(kept, 'emoji_1F309.png')}" in page
    assert f"Vectorization: {link(refunded, 'logo_4chan.png')}" in page
    assert f"Refund of a vectorization: {link(refunded, 'logo_4chan.png failed')}" in page
    assert "Vectorization: logo_ruby.png</td>" in page  # deleted: named, not linked
    # Deleted before it ran: its credit came back, and the refund says why.
    assert "Refund of a vectorization: logo_ruby.png deleted before it ran</td>" in page
    assert deleted_url not in page
    for job in (kept, refunded):  # ids only in links, not in the text
        assert str(job.pk) not in page.replace(reverse("vectorize:detail", args=[job.pk]), "")
    assert deleted_url.split("/")[-2] not in page
