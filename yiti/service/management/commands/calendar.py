"""``yiti calendar``: the official holiday schedules from the command line.

* ``yiti calendar load-year FILE [--year YEAR] [--dry-run]`` loads (or replaces) one year's
  public holidays and adjusted working days from a CSV, XLSX or text file of
  ``date, type, name`` rows (see :mod:`yiti.service.holidays`); every row error is printed
  with its line and column and nothing is written.
* ``yiti calendar years`` lists the loaded years and says which years lack a schedule.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.errors import ValidationFailed
from yiti.service import holidays


class Command(BaseCommand):
    help = (
        "Official holiday schedules. 'yiti calendar load-year FILE [--year YEAR] [--dry-run]'; "
        "'yiti calendar years'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = actions.add_parser(
            "load-year",
            help=_("Load one year's public holidays and adjusted working days from a file."),
        )
        load.add_argument(
            "file", metavar="FILE", help=_("CSV, XLSX or text: date, type, name per row.")
        )
        load.add_argument(
            "--year", type=int, default=None, help=_("The year the file must cover (checked).")
        )
        load.add_argument(
            "--dry-run", action="store_true", help=_("Check the file and write nothing.")
        )
        actions.add_parser("years", help=_("List the loaded years and the missing ones."))

    def handle(self, *args: object, **options: object) -> None:
        if options["action"] == "years":
            self._years()
            return
        path = Path(str(options["file"]))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(e)s") % {"file": path, "e": exc.strerror}
            ) from exc
        year = options["year"] if isinstance(options["year"], int) else None
        try:
            rows = holidays.read_schedule_file(file_name=path.name, data=data)
            checked = holidays.check_schedule(rows, year=year)
            if options["dry_run"]:
                self.stdout.write(
                    _("%(file)s: %(n)s dates of %(year)s, no errors (dry run: nothing written).")
                    % {"file": path.name, "n": len(rows), "year": checked}
                )
                return
            schedule = holidays.holiday_schedule_load(
                actor=None, rows=rows, source=path.name, year=year
            )
        except holidays.ScheduleInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                _("%(file)s: %(n)s errors, nothing loaded.")
                % {"file": path.name, "n": len(exc.problems)}
            ) from exc
        except ValidationFailed as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                _("Loaded the %(year)s holiday schedule: %(n)s dates from %(file)s.")
                % {"year": schedule.year, "n": len(rows), "file": path.name}
            )
        )

    def _years(self) -> None:
        last = holidays.package_last_year()
        if last:
            self.stdout.write(_("Built in (chinesecalendar): up to %(year)s") % {"year": last})
        for schedule in holidays.holiday_schedules():
            self.stdout.write(
                _("%(year)s: %(h)s holidays, %(w)s adjusted working days (%(source)s)")
                % {
                    "year": schedule.year,
                    "h": schedule.holidays,  # type: ignore[attr-defined]
                    "w": schedule.workdays,  # type: ignore[attr-defined]
                    "source": schedule.source or "—",
                }
            )
        for year in holidays.missing_years(timezone.now()):
            self.stdout.write(
                self.style.WARNING(_("%(year)s: no schedule loaded") % {"year": year})
            )
