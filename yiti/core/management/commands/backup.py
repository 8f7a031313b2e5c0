"""``yiti backup [--output DIR]``: an online backup of the database and the data directory's
files, consistent while the server runs (see ``yiti.core.backup`` for what it holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from yiti.core.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite: online backup API; PostgreSQL: pg_dump custom format) "
        "and the data directory's uploads, imports, reports and outbox into one tar file."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            metavar="DIR",
            help=_("Directory for the archive (default: the data directory's backups/)."),
        )

    def handle(self, *args: object, **opts: Any) -> None:
        output = Path(opts["output"] or Path(settings.DATA_DIR) / "backups")
        try:
            result = backup(output=output)
        except (BackupError, OSError) as exc:
            raise CommandError(_("Backup failed: %(reason)s") % {"reason": exc}) from exc
        manifest = result.manifest
        self.stdout.write(
            _(
                "Backup written to %(path)s (%(size)s MB): %(engine)s, %(tables)s tables, "
                "%(rows)s rows, %(files)s files."
            )
            % {
                "path": result.path,
                "size": f"{result.bytes / 1e6:,.1f}",
                "engine": manifest.engine,
                "tables": len(manifest.tables),
                "rows": f"{sum(manifest.tables.values()):,}",
                "files": len(manifest.files),
            }
        )
        if manifest.key_included:
            self.stdout.write(
                _(
                    "The archive holds the secret key that signs links sent to customers: "
                    "keep it as safe as the database."
                )
            )
        else:
            self.stdout.write(
                _("The secret key comes from YITI_SECRET_KEY: keep it with this backup.")
            )
