import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from payments import services
from payments.models import CreditAccount, CreditEntry
from payments.selectors import balance_for_user
from payments.tasks import credits_monthly_top_up
from vectorcraft.errors import ApplicationError
from vectorize import services as vectorize_services
from vectorize.models import Vectorization
from vectorize.tasks import vectorization_process
from vectorize.tests.factories import queued_job
from vectorize.tests.helpers import run_together

pytestmark = pytest.mark.django_db


def _drain(user, leave=0):
    services.credits_book(
        user=user,
        delta=leave - balance_for_user(user=user),
        kind="staff",
        key=f"drain:{user.pk}:{leave}",
        reference="tests",
    )


def test_it_books_each_key_once(user):
    before = balance_for_user(user=user)

    first, created = services.credits_book(user=user, delta=5, kind="staff", key="k1")
    again, created_again = services.credits_book(user=user, delta=5, kind="staff", key="k1")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert balance_for_user(user=user) == before + 5
    assert first.balance_after == before + 5


def test_it_refuses_a_debit_past_zero_and_changes_nothing(user):
    _drain(user, leave=1)

    with pytest.raises(ApplicationError) as caught:
        services.credits_book(
            user=user, delta=-2, kind="job", key="too-much", allow_overdraft=False
        )

    assert caught.value.code == "insufficient_credits"
    assert balance_for_user(user=user) == 1
    assert not CreditEntry.objects.filter(idempotency_key="too-much").exists()


def test_it_opens_the_account_with_a_users_first_booking():
    newcomer = User.objects.create_user(email="new@example.com", password=None)
    assert not CreditAccount.objects.filter(user=newcomer).exists()

    with pytest.raises(ApplicationError) as short:
        services.credits_book(
            user=newcomer, delta=-1, kind="job", key="first-debit", allow_overdraft=False
        )
    entry, created = services.credits_book(user=newcomer, delta=3, kind="staff", key="first")

    assert short.value.code == "insufficient_credits"
    assert (created, entry.balance_after) == (True, 3)
    assert CreditAccount.objects.get(user=newcomer).balance == 3
    assert list(CreditEntry.objects.filter(user=newcomer).values_list("delta", flat=True)) == [3]


def test_it_charges_production_jobs_and_not_previews(user, bench_dir):
    before = balance_for_user(user=user)

    queued_job(user, bench_dir)
    queued_job(user, bench_dir, mode="preview")

    assert balance_for_user(user=user) == before - 1
    assert CreditEntry.objects.filter(user=user, kind="job").count() == 1


@pytest.mark.django_db(transaction=True)  # the job's transaction is the outermost one
def test_it_charges_a_new_job_in_its_own_write_without_looking_for_an_earlier_charge(
    user, bench_dir
):
    data = (bench_dir / "logo_ruby.png").read_bytes()
    before = balance_for_user(user=user)

    with CaptureQueriesContext(connection) as queries:
        job = vectorize_services.vectorization_create(
            owner=user, upload=SimpleUploadedFile("a.png", data), enqueue=False
        )

    sql = [query["sql"] for query in queries.captured_queries]
    assert not [text for text in sql if text.startswith("SELECT") and "creditentry" in text]
    assert not [text for text in sql if "SAVEPOINT" in text]
    entry = CreditEntry.objects.get(idempotency_key=f"job:{job.pk}")
    assert (entry.delta, entry.balance_after) == (-1, before - 1)
    assert balance_for_user(user=user) == before - 1


def test_it_refuses_a_second_charge_for_the_same_job_and_changes_nothing(user, bench_dir):
    job = queued_job(user, bench_dir)
    charged = balance_for_user(user=user)

    with pytest.raises(IntegrityError), transaction.atomic():
        services.credits_debit_for_job(job=job, cost=1)

    assert balance_for_user(user=user) == charged
    assert CreditEntry.objects.filter(idempotency_key=f"job:{job.pk}").count() == 1


def test_it_refunds_a_failed_job_exactly_once_however_often_it_is_retried(
    user, bench_dir, settings
):
    settings.JOB_MAX_ATTEMPTS = 2
    job = queued_job(user, bench_dir)
    charged = balance_for_user(user=user)
    # Two workers died on it; the next delivery gives up, later deliveries find it finished.
    Vectorization.objects.filter(pk=job.pk).update(status="running", attempts=2)

    for _ in range(3):
        vectorization_process(str(job.pk))

    assert Vectorization.objects.get(pk=job.pk).status == "failed"
    assert CreditEntry.objects.filter(user=user, kind="job_refund").count() == 1
    assert balance_for_user(user=user) == charged + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_accepts_exactly_one_of_two_concurrent_jobs_with_credit_for_one(bench_dir):
    user = User.objects.create_user(email="race@example.com", password="x")
    services.credits_book(user=user, delta=1, kind="staff", key="one-credit")
    data = (bench_dir / "logo_ruby.png").read_bytes()

    def submit():
        try:
            vectorize_services.vectorization_create(
                owner=user, upload=SimpleUploadedFile("a.png", data), enqueue=False
            )
        except ApplicationError as error:
            return error.code
        return "accepted"

    outcomes = run_together(submit, 2)

    assert sorted(outcomes) == ["accepted", "insufficient_credits"]
    assert balance_for_user(user=user) == 0
    assert Vectorization.objects.filter(owner=user).count() == 1


def test_it_welcomes_a_new_account_with_free_credits(client, settings):
    settings.SIGNUP_CREDITS = 10
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"

    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a long passphrase 7",
            "password2": "a long passphrase 7",
        },
    )

    assert balance_for_user(user=User.objects.get(email="new@example.com")) == 10


def test_it_tops_every_account_up_once_a_month(user, other_user, settings):
    settings.MONTHLY_FREE_CREDITS = 10
    _drain(user, leave=3)
    rich = balance_for_user(user=other_user)

    assert credits_monthly_top_up() == 1
    assert credits_monthly_top_up() == 0

    assert balance_for_user(user=user) == 10
    assert balance_for_user(user=other_user) == rich


def test_it_grants_credits_from_the_command_line(user, capsys):
    before = balance_for_user(user=user)

    call_command("grant_credits", user.email, "25", "--reason", "conference prize")

    entry = CreditEntry.objects.filter(user=user, kind="staff").latest("id")
    assert (entry.delta, entry.reference) == (25, "conference prize (command line)")
    assert balance_for_user(user=user) == before + 25
    assert (
        capsys.readouterr().out.strip() == f"+25 credits for {user.email}; balance {before + 25}."
    )


def test_it_lets_staff_adjust_credits_in_the_admin_with_a_reason(admin_client, admin_user, user):
    before = balance_for_user(user=user)

    response = admin_client.post(
        "/admin/payments/creditentry/adjust/",
        {"email": user.email, "delta": "-4", "reason": "duplicate upload", "nonce": "n1"},
    )
    admin_client.post(
        "/admin/payments/creditentry/adjust/",
        {"email": user.email, "delta": "-4", "reason": "duplicate upload", "nonce": "n1"},
    )

    assert response.status_code == 302
    entry = CreditEntry.objects.get(user=user, kind="staff", created_by=admin_user)
    assert (entry.delta, entry.note) == (-4, "duplicate upload")
    assert balance_for_user(user=user) == before - 4


def test_it_keeps_the_ledger_read_only_in_the_admin(admin_client, user):
    entry = CreditEntry.objects.filter(user=user).first()

    admin_client.post(f"/admin/payments/creditentry/{entry.pk}/change/", {"delta": "1000"})
    delete = admin_client.post(f"/admin/payments/creditentry/{entry.pk}/delete/", {"post": "yes"})

    assert CreditEntry.objects.get(pk=entry.pk).delta == entry.delta  # every field is read-only
    assert delete.status_code == 403
