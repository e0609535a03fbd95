"""Database helpers the ORM lacks."""

from django.db import connections, router, transaction
from django.db.models import Model, QuerySet
from django.db.models.sql import UpdateQuery


def update_returning(queryset: QuerySet, **values) -> list[Model]:
    """`queryset.update(**values)`, returning the rows it changed as they are after it, read by
    the same statement (UPDATE … RETURNING: PostgreSQL, and SQLite from 3.35). Django's update()
    returns only a count, so reading a changed row back would take a second query.

    The UPDATE is the one Django builds for update(), so every filter and expression it takes
    works here; updates that Django splits over several tables (a parent model's fields) do not.
    """
    model = queryset.model
    using = queryset._db or router.db_for_write(model)  # the database update() would write to
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    if query.related_updates:
        raise ValueError("update_returning() updates the model's own table only.")
    statement, params = query.get_compiler(using).as_sql()
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(field.column) for field in model._meta.concrete_fields)
    rows = model._default_manager.db_manager(using).raw(f"{statement} RETURNING {columns}", params)
    with transaction.mark_for_rollback_on_error(using=using):
        return list(rows)
