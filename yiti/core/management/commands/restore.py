"""``yiti restore ARCHIVE``: restore a ``yiti backup`` archive into an empty database and the
data directory, then check every table's row count against the archive's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from yiti.core.backup import BackupError, Database, restore


class Command(BaseCommand):
    help = (
        "Restore a 'yiti backup' archive into an empty database (the configured one, or "
        "--database-url) and the data directory; verifies the row counts."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", metavar="ARCHIVE", help=_("The .tar file to restore."))
        parser.add_argument(
            "--database-url",
            metavar="URL",
            help=_("Restore into this empty database instead of the configured one."),
        )
        parser.add_argument(
            "--data-dir",
            metavar="DIR",
            help=_("Restore the files into this directory instead of the data directory."),
        )

    def handle(self, *args: object, **opts: Any) -> None:
        try:
            database = Database.from_url(opts["database_url"]) if opts["database_url"] else None
            result = restore(
                Path(opts["archive"]),
                database=database,
                data_dir=Path(opts["data_dir"]) if opts["data_dir"] else None,
            )
        except (BackupError, OSError) as exc:
            raise CommandError(_("Restore failed: %(reason)s") % {"reason": exc}) from exc
        self.stdout.write(
            _(
                "Restored the backup of %(at)s into %(database)s: %(tables)s tables and "
                "%(rows)s rows, as the manifest lists; %(files)s files."
            )
            % {
                "at": result.manifest.created_at,
                "database": result.database,
                "tables": result.tables,
                "rows": f"{result.rows:,}",
                "files": result.files,
            }
        )
        self.stdout.write(
            _("Run 'yiti migrate' if this Yiti is newer than the one that made the backup.")
        )
