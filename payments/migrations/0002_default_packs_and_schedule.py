from decimal import Decimal

from django.db import migrations
from django.utils import timezone

PACKS = [
    ("starter", "Starter", 50, Decimal("5.00"), 1),
    ("standard", "Standard", 200, Decimal("15.00"), 2),
    ("studio", "Studio", 1000, Decimal("50.00"), 3),
]


def create(apps, schema_editor):
    CreditPack = apps.get_model("payments", "CreditPack")
    for code, name, credits, price, order in PACKS:
        CreditPack.objects.get_or_create(
            code=code,
            defaults={"name": name, "credits": credits, "price": price, "sort_order": order},
        )
    Schedule = apps.get_model("django_q", "Schedule")
    now = timezone.now()
    first_of_next_month = (now.replace(day=1) + timezone.timedelta(days=32)).replace(
        day=1, hour=0, minute=5, second=0, microsecond=0
    )
    Schedule.objects.get_or_create(
        name="monthly-free-credits",
        defaults={
            "func": "payments.tasks.credits_monthly_top_up",
            "schedule_type": "M",
            "next_run": first_of_next_month,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="monthly-free-credits").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
