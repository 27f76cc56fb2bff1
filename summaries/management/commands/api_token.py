"""manage.py api_token create USERNAME [--name N] [--read-only] | list USERNAME | revoke USERNAME ID."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from summaries.models import ApiToken
from summaries.tokens import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Make, list or revoke personal API tokens. `create` prints the token once, alone on its last line."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="make a token for USERNAME")
        create.add_argument("username")
        create.add_argument("--name", default="", help="a label shown on the account page")
        create.add_argument("--read-only", action="store_true", help="refused on every write (403)")
        listing = actions.add_parser("list", help="the user's active tokens (never the secrets)")
        listing.add_argument("username")
        revoke = actions.add_parser("revoke", help="revoke one of the user's tokens by id")
        revoke.add_argument("username")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, action: str, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if action == "create":
            created = api_token_create(user=user, name=options["name"], read_only=options["read_only"])
            access = "read-only" if created.token.read_only else "read and write"
            self.stdout.write(f"API token {created.token.pk} for {user.get_username()} ({access}); it is not shown again:")
            self.stdout.write(created.plaintext)
        elif action == "list":
            for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
                used = token.last_used_at.isoformat() if token.last_used_at else "never"
                access = "read-only" if token.read_only else "read-write"
                self.stdout.write(f"{token.pk}\tcn_{token.prefix}_…\t{access}\t{token.name}\tlast used {used}")
        elif not api_token_revoke(user=user, token_id=options["token_id"]):
            raise CommandError(f"No active token {options['token_id']} for {username!r}.")
        else:
            self.stdout.write(f"Revoked API token {options['token_id']}.")
