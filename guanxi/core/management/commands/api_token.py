from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from guanxi.core.models import ApiToken


class Command(BaseCommand):
    help = "Create a new API token for a user and print it (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        _token, raw = ApiToken.issue(user=user, name=name[:100])
        self.stdout.write(raw)
