"""``yiti import KIND FILE``: customers, products, orders (and the kinds other apps register)
from CSV or XLSX, run in the foreground by the import runner, with a row-level report."""

from __future__ import annotations

import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from yiti.core.errors import YitiError
from yiti.customers.choices import ImportKind, ImportStatus
from yiti.customers.exports import csv_bytes
from yiti.customers.import_jobs import ERRORS_SHOWN, error_report_rows, import_job_create
from yiti.customers.importing import importer_for
from yiti.customers.imports_runner import import_run
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
        "Import customers, products, orders, contact history or the do-not-disturb list from "
        "a CSV (UTF-8 or GBK) or XLSX file. Every row is validated first; with any invalid row "
        "nothing is written unless --skip-invalid is given. "
        "Exit status 1 when nothing was written because of errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=[k.value for k in ImportKind], help="what to import")
        parser.add_argument("file", help="a .csv or .xlsx file")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="write the valid rows, report the others"
        )
        parser.add_argument(
            "--unit", metavar="CODE", help="customers: unit for rows that name none"
        )
        parser.add_argument(
            "--channel", metavar="CHANNEL", help="orders: sales channel for rows that name none"
        )
        parser.add_argument(
            "--map",
            metavar="KEY=HEADER",
            action="append",
            default=[],
            help="map a column of the file to a key (repeatable); default: by the headers",
        )
        parser.add_argument(
            "--user", metavar="USERNAME", help="act as this user (their scope and permissions)"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
        parser.add_argument("--report", metavar="PATH", help="write the error report as CSV")
        parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["what"]
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(
                _("Cannot read %(path)s: %(e)s") % {"path": path, "e": _("no such file")}
            )
        try:
            importer = importer_for(kind)
        except KeyError:
            raise CommandError(_("This kind of import is not available.")) from None
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(_("No active user %(u)s.") % {"u": options["user"]})
        mapping = self._mapping(options["map"], path, importer)
        try:
            job = import_job_create(
                actor=actor,
                kind=kind,
                file_name=path.name,
                stored_at=path,
                mapping=mapping,
                options={"default_unit": options["unit"], "channel": options["channel"]},
                skip_invalid=options["skip_invalid"],
                dry_run=options["dry_run"],
                queue=False,
            )
            outcome = import_run(job, on_progress=None if options["quiet"] else self._progress(job))
        except YitiError as exc:
            raise CommandError(exc.message) from exc
        if not options["quiet"] and sys.stderr.isatty():
            sys.stderr.write("\n")
        job = outcome.job
        if outcome.file_error is not None:
            raise CommandError(
                _("%(file)s: %(message)s Nothing was written.")
                % {"file": path.name, "message": job.message},
                returncode=1,
            )
        self._report(job, options)

    def _mapping(self, pairs: list[str], path: Path, importer: Any) -> dict[str, int] | None:
        if not pairs:
            return None
        from yiti.customers.imports_runner import open_source

        try:
            source = open_source(path, path.name)
        except YitiError as exc:
            raise CommandError(exc.message) from exc
        source.close()
        headers = [h.strip() for h in source.headers]
        keys = {c.key for c in importer.columns}
        mapping: dict[str, int] = {}
        for pair in pairs:
            key, _sep, header = pair.partition("=")
            if key not in keys:
                raise CommandError(
                    _("Unknown column key %(key)s (known: %(keys)s).")
                    % {"key": key, "keys": ", ".join(sorted(keys))}
                )
            if header.strip() not in headers:
                raise CommandError(_("The file has no column %(h)s.") % {"h": header})
            mapping[key] = headers.index(header.strip())
        from yiti.customers.importing import auto_mapping

        automatic = auto_mapping(headers, importer.columns)
        taken = set(mapping.values())
        for key, position in automatic.items():
            if key not in mapping and position not in taken:
                mapping[key] = position
        return mapping

    def _progress(self, job: Any) -> Any:
        tty = sys.stderr.isatty()
        last = [0.0]

        def show(values: dict[str, int]) -> None:
            now = time.monotonic()
            if not tty and now - last[0] < 5:
                return
            last[0] = now
            total = job.bytes_total or 1
            if "rows_written" in values:
                line = _("writing: %(w)s of %(v)s rows") % {
                    "w": f"{values['rows_written']:,}",
                    "v": f"{values.get('rows_valid', 0):,}",
                }
            else:
                line = _("reading: %(rows)s rows, %(pct)s%%, %(errors)s errors") % {
                    "rows": f"{values.get('rows_read', 0):,}",
                    "pct": 100 * min(values.get("bytes_read", 0), total) // total,
                    "errors": f"{values.get('errors', 0):,}",
                }
            sys.stderr.write(("\r" + line + "\x1b[K") if tty else line + "\n")
            sys.stderr.flush()

        return show

    def _report(self, job: Any, options: dict[str, Any]) -> None:
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
        written = job.created_count + job.updated_count + job.unchanged_count
        if job.status == ImportStatus.FAILED:
            raise CommandError(f"{counts}\n{job.message}", returncode=1)
        if job.error_count and (not job.skip_invalid or written == 0):
            if job.skip_invalid:
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
