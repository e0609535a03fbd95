import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from payments.models import CreditAccount
from vectorcraft.db import update_returning
from vectorize.models import Vectorization

pytestmark = pytest.mark.django_db


def test_it_updates_and_returns_the_changed_rows_in_one_statement(user, other_user):
    accounts = CreditAccount.objects.filter(user=user)

    with CaptureQueriesContext(connection) as queries:
        changed = update_returning(accounts, balance=F("balance") + 5)

    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("UPDATE")
    assert [(account.user_id, account.balance) for account in changed] == [(user.pk, 105)]
    assert isinstance(changed[0], CreditAccount)
    assert CreditAccount.objects.get(user=user).balance == 105
    assert CreditAccount.objects.get(user=other_user).balance == 100


def test_it_returns_nothing_and_changes_nothing_when_no_row_matches(user):
    short = CreditAccount.objects.filter(user=user, balance__gte=1000)

    assert update_returning(short, balance=F("balance") - 1000) == []
    assert CreditAccount.objects.get(user=user).balance == 100


def test_a_failed_update_marks_the_surrounding_transaction_for_rollback(user):
    with transaction.atomic():
        with pytest.raises(DatabaseError):
            update_returning(CreditAccount.objects.filter(user=user), balance=None)
        assert transaction.get_rollback()


def test_every_model_change_of_every_installed_app_has_its_migration():
    # Exits with an error when a model differs from what the migrations build. Libraries too:
    # `migrate` would warn of theirs at every upgrade, as it did for django-paypal's IPN ids
    # under the project's BigAutoField.
    call_command("makemigrations", check=True, dry_run=True, stdout=io.StringIO())


def test_a_job_has_one_index_for_its_owner():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Vectorization._meta.db_table)
    owner_indexes = [
        columns
        for columns in (c["columns"] for c in constraints.values() if c["index"])
        if columns[0] == "owner_id"
    ]
    # The owner's job list (newest first) and every lookup by owner share one index.
    assert owner_indexes == [["owner_id", "created_at"]]
