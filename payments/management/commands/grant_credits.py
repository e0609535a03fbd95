import uuid

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from payments import services
from vectorcraft.errors import ApplicationError


class Command(BaseCommand):
    help = "Grant (or, with a negative number, remove) credits with a ledger entry and a reason."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("credits", type=int)
        parser.add_argument("--reason", required=True)

    def handle(self, *args, email, credits, reason, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No account with the e-mail address {email}.")
        try:
            entry = services.credits_adjust(
                user=user,
                delta=credits,
                staff=None,
                reason=f"{reason} (command line)",
                key=f"command:{uuid.uuid4().hex}",
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"{entry.delta:+d} credits for {user.email}; balance {entry.balance_after}."
        )
