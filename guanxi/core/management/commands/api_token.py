from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from guanxi.core.tokens import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = (
        "Create a new API token for a user and print it (shown once; only its hash is stored), "
        "or with --revoke PREFIX revoke the user's active token with that prefix. Both are audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--revoke", metavar="PREFIX", help="revoke the active token whose prefix is this")

    def handle(self, *args, username, name, revoke=None, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        if "\x00" in name or "\x00" in (revoke or ""):
            raise CommandError("Names and prefixes cannot contain NUL characters.")
        if revoke is not None:
            prefix = revoke.strip().rstrip("…")
            matches = list(user.api_tokens.filter(revoked_at__isnull=True, prefix=prefix)[:2])
            if not matches:
                raise CommandError(f"{username} has no active token with prefix {prefix!r}.")
            if len(matches) > 1:
                raise CommandError(f"More than one active token has prefix {prefix!r}; revoke it on the profile page.")
            api_token_revoke(actor=None, token=matches[0], via="command")
            self.stdout.write(f"Revoked {matches[0]}.")
            return
        _token, raw = api_token_create(actor=None, user=user, name=name[:100], via="command")
        self.stdout.write(raw)
