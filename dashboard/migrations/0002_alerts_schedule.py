from django.db import migrations
from django.utils import timezone


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name="alerts-check",
        defaults={
            "func": "dashboard.tasks.alerts_check",
            "schedule_type": "I",
            "minutes": 1,
            "next_run": timezone.now(),
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="alerts-check").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
