from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User
from vectorcraft.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API key for a user and print it on the last line (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="command line", help="A name for the key.")

    def handle(self, *args, email, name, **options):
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            raise CommandError(f"No account with the e-mail address {email}.") from None
        try:
            api_key, secret = services.api_key_create(user=user, name=name)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stderr.write(f"Created API key “{api_key.name}” ({api_key.prefix}…) for {user.email}.")
        self.stdout.write(secret)
