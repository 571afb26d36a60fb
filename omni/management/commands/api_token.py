"""``manage.py api_token create USER NAME`` / ``revoke PREFIX`` / ``list``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omni.errors import NotFound
from omni.models import ApiToken, User
from omni.services import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create, revoke or list API tokens. A new token's secret is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for a user")
        create.add_argument("username")
        create.add_argument("name", help="what the token is for, e.g. 'web shop'")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix or id")
        revoke.add_argument("token", help="the prefix shown by 'list', or the id")
        sub.add_parser("list", help="list tokens")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            user = User.objects.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(f"no user {options['username']!r}")
            token, raw = api_token_create(user=user, name=options["name"])
            self.stdout.write(raw)
            self.stderr.write(
                f"token {token.pk} ({token.prefix}…) for {user.username}; keep it secret"
            )
        elif action == "revoke":
            value = options["token"]
            try:
                token = (
                    api_token_revoke(token_id=int(value))
                    if value.isdigit()
                    else api_token_revoke(prefix=value)
                )
            except NotFound as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"revoked token {token.pk} ({token.prefix}…)")
        else:
            for token in ApiToken.objects.select_related("user"):
                state = "revoked" if token.revoked_at else "active"
                self.stdout.write(
                    f"{token.pk}\t{token.prefix}\t{token.user.username}\t{token.name}\t{state}"
                )
