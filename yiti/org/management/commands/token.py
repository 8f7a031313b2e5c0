"""``yiti token create|list|revoke``: API bearer tokens from the command line.

``create`` prints only the raw token, so ``TOKEN=$(yiti token create alice)`` works; the
token is shown this once and only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.errors import YitiError
from yiti.org.models import User
from yiti.org.selectors import tokens_of
from yiti.org.services import token_create, token_revoke


def _when(at: Any) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}"


class Command(BaseCommand):
    help = "Create, list and revoke API bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = sub.add_parser("create", help="Create a token and print it (shown once).")
        create.add_argument("username")
        create.add_argument("--name", default="cli", help="What the token is for (default: cli).")
        listing = sub.add_parser("list", help="List a user's tokens.")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id (see list).")
        revoke.add_argument("username")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(_("No user named %(name)s.") % {"name": options["username"]})
        try:
            getattr(self, f"_{options['action']}")(user, options)
        except YitiError as exc:
            raise CommandError(exc.message) from exc

    def _create(self, user: User, options: dict[str, Any]) -> None:
        if not user.is_active:
            raise CommandError(_("%(name)s is not active.") % {"name": user.username})
        _token, raw = token_create(user=user, name=options["name"])
        self.stdout.write(raw)

    def _list(self, user: User, options: dict[str, Any]) -> None:
        rows = list(tokens_of(user))
        if not rows:
            self.stderr.write(_("%(name)s has no tokens.") % {"name": user.username})
            return
        for token in rows:
            if token.revoked_at:
                state = _("revoked %(at)s") % {"at": _when(token.revoked_at)}
            else:
                state = _("active")
            used = _when(token.last_used_at) if token.last_used_at else "-"
            self.stdout.write(
                f"{token.pk}\t{token.prefix}…\t{token.name}\t{_when(token.created_at)}\t{used}\t{state}"
            )

    def _revoke(self, user: User, options: dict[str, Any]) -> None:
        token = token_revoke(user=user, token_id=options["token_id"])
        self.stderr.write(
            _("Revoked token %(id)s (%(name)s).") % {"id": token.pk, "name": token.name}
        )
