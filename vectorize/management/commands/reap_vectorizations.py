from django.core.management.base import BaseCommand

from vectorize import services


class Command(BaseCommand):
    help = (
        "Run the reaper once now (the cluster runs it every minute): re-queue jobs a dead worker "
        "or a lost broker message left behind, or fail and refund those out of attempts."
    )

    def handle(self, *args, **options):
        counts = services.vectorizations_reap()
        self.stdout.write(f"{counts['requeued']} re-queued, {counts['failed']} failed and refunded")
