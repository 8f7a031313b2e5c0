"""``yiti accounting build --from DATE --to DATE``: store the unit × product results of those
days (what the nightly job does for the last week), e.g. after importing historic orders."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from yiti.accounting import daily


class Command(BaseCommand):
    help = "Accounting: 'build' stores the unit × product results of a period's ended days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["build"])
        parser.add_argument(
            "--from", dest="start", help="First day (YYYY-MM-DD); default a year ago."
        )
        parser.add_argument("--to", dest="end", help="Last day (YYYY-MM-DD); default yesterday.")

    def handle(self, *args: object, **opts: object) -> None:
        yesterday = timezone.localdate() - timedelta(days=1)
        try:
            start = (
                date.fromisoformat(str(opts["start"]))
                if opts["start"]
                else yesterday - timedelta(days=364)
            )
            end = date.fromisoformat(str(opts["end"])) if opts["end"] else yesterday
        except ValueError as exc:
            raise CommandError(f"Not a date: {exc}") from exc
        if end < start:
            raise CommandError("--to is before --from.")
        n = daily.days_build(start=start, end=end)
        self.stdout.write(f"{n} days built ({start} – {min(end, yesterday)}).")
