from django.db import migrations
from django.utils import timezone

SCHEDULES = [
    # name, function, schedule type, minutes
    ("reap-stuck-vectorizations", "vectorize.tasks.vectorizations_reap", "I", 1),
    ("expire-old-files", "vectorize.tasks.vectorizations_expire_files", "D", None),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, schedule_type, minutes in SCHEDULES:
        Schedule.objects.get_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": schedule_type,
                "minutes": minutes,
                "next_run": timezone.now(),
                "repeats": -1,
            },
        )


def remove(apps, schema_editor):
    names = [name for name, *_ in SCHEDULES]
    apps.get_model("django_q", "Schedule").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("vectorize", "0003_housekeeping"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
