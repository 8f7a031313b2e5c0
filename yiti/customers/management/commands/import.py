"""``yiti import customers FILE``: import customers from CSV or XLSX, with a row-level report."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from yiti.core.errors import YitiError
from yiti.customers.exports import csv_bytes
from yiti.customers.imports import ERRORS_SHOWN, customers_import, error_report_rows
from yiti.org.models import User


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` terminal columns and pad it (CJK characters take two)."""
    out: list[str] = []
    used = 0
    for ch in text:
        w = _width(ch)
        if used + w > width:
            out[-1:] = ["…"]
            used = _width("".join(out))
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)


def error_table(rows: list[list[Any]], *, limits: tuple[int, ...] = (7, 16, 24, 60)) -> str:
    """A plain-text table whose columns line up in a terminal, Chinese text included."""
    cells = [[str(v) for v in row] for row in rows]
    widths = [min(limit, max(_width(row[i]) for row in cells)) for i, limit in enumerate(limits)]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(_fit(row[i], widths[i]) for i in range(len(widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Import customers from a CSV (UTF-8 or GBK) or XLSX file. Every row is validated first; "
        "with any invalid row nothing is written unless --skip-invalid is given. "
        "Exit status 1 when nothing was written because of errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["customers"], help="what to import")
        parser.add_argument("file", help="a .csv or .xlsx file")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="write the valid rows, report the others"
        )
        parser.add_argument("--unit", metavar="CODE", help="unit for rows that name none")
        parser.add_argument(
            "--user", metavar="USERNAME", help="act as this user (their scope and permissions)"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
        parser.add_argument("--report", metavar="PATH", help="write the error report as CSV")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(e)s") % {"path": path, "e": exc.strerror or exc}
            ) from exc
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(_("No active user %(u)s.") % {"u": options["user"]})
        try:
            result = customers_import(
                actor=actor,
                file_name=path.name,
                data=data,
                default_unit=options["unit"],
                skip_invalid=options["skip_invalid"],
                dry_run=options["dry_run"],
            )
        except YitiError as exc:
            raise CommandError(exc.message) from exc
        job = result.job
        if result.file_error is not None:
            raise CommandError(
                _("%(file)s: %(message)s Nothing was written.")
                % {"file": path.name, "message": job.message},
                returncode=1,
            )

        if job.errors:
            shown = job.errors[:ERRORS_SHOWN]
            header = next(iter(error_report_rows(job)))
            self.stdout.write(error_table([header, *shown]))
            if job.error_count > len(shown):
                self.stdout.write(
                    _("… and %(n)s more errors.") % {"n": job.error_count - len(shown)}
                )
            self.stdout.write("")
        if options["report"] and job.errors:
            Path(options["report"]).write_bytes(csv_bytes(error_report_rows(job)))
            self.stdout.write(_("Error report written to %(path)s.") % {"path": options["report"]})
        if job.message:
            self.stdout.write(job.message)

        numbers = {
            "rows": job.row_count,
            "created": job.created_count,
            "updated": job.updated_count,
            "unchanged": job.unchanged_count,
            "skipped": job.skipped_count,
            "errors": job.error_count,
            "seconds": f"{job.seconds:.1f}",
            "id": job.pk,
        }
        if job.dry_run:
            counts = _(
                "%(rows)s rows: %(created)s would be created, %(updated)s would be updated, "
                "%(unchanged)s unchanged, %(skipped)s skipped, %(errors)s errors "
                "(%(seconds)s s, import #%(id)s)."
            )
        else:
            counts = _(
                "%(rows)s rows: %(created)s created, %(updated)s updated, "
                "%(unchanged)s unchanged, %(skipped)s skipped, %(errors)s errors "
                "(%(seconds)s s, import #%(id)s)."
            )
        counts = counts % numbers
        if result.blocked:
            if job.status == "failed":
                reason = job.message
            elif job.skip_invalid:
                reason = _("Nothing was written: every row is invalid.")
            elif job.dry_run:
                reason = _("Validation found errors: an import would write nothing.")
            else:
                reason = _(
                    "Nothing was written because some rows are invalid; "
                    "fix them or use --skip-invalid."
                )
            raise CommandError(f"{counts}\n{reason}", returncode=1)
        self.stdout.write(self.style.SUCCESS(counts))
