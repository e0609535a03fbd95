from django.conf import settings
from django.db import migrations, models

# Django's AlterField would drop and re-add the foreign key to drop its index, and re-adding it
# checks every row under a lock: here only the index goes, and the constraint is left alone.
INDEX = "vectorize_vectorization_owner_id_36113099"


class Migration(migrations.Migration):
    dependencies = [
        ("vectorize", "0004_housekeeping_schedules"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="vectorization",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="vectorizations",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "vectorize_vectorization" ("owner_id")',
                ),
            ],
        ),
    ]
