# The model that vectorize created (vectorize 0002 and 0006), taken over with its table as it is.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("vectorize", "0007_idempotent_request_moves_to_its_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotentRequest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("key", models.CharField(max_length=255)),
                        (
                            "fingerprint",
                            models.CharField(
                                help_text="SHA-256 of the request's content.", max_length=64
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[("in_progress", "In progress"), ("done", "Done")],
                                default="in_progress",
                                max_length=16,
                            ),
                        ),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("body", models.JSONField(blank=True, null=True)),
                        ("location", models.CharField(blank=True, max_length=500)),
                        ("headers", models.JSONField(blank=True, default=dict)),
                        (
                            "created_at",
                            models.DateTimeField(
                                db_index=True, default=django.utils.timezone.now
                            ),
                        ),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "vectorize_idempotentrequest",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("owner", "key"), name="unique_idempotency_key_per_owner"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        )
    ]
