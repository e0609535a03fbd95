# IdempotentRequest moves to the idempotency app. Its table stays as it is (the model there keeps
# db_table "vectorize_idempotentrequest"): only Django's record of which app owns it changes.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("vectorize", "0006_idempotent_request_headers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotentRequest")],
            database_operations=[],
        )
    ]
