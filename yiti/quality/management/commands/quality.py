"""``yiti quality``: the quality layer's computations from the command line.

* ``yiti quality rank [--month YYYY-MM]`` computes a month's unit ranking now (default: last
  month) and prints the ranks; the scheduled run does the same on the 1st.
* ``yiti quality themes [--week YYYY-MM-DD]`` mines a week's free text (default: last week).
* ``yiti quality defaults`` adds the default indicators and targets that are missing.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.errors import YitiError
from yiti.quality import services
from yiti.quality.choices import RunKind
from yiti.quality.models import UnitScore
from yiti.quality.periods import parse_month, week_start


class Command(BaseCommand):
    help = (
        "Quality layer. 'yiti quality rank [--month YYYY-MM]'; "
        "'yiti quality themes [--week YYYY-MM-DD]'; 'yiti quality defaults'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        rank = actions.add_parser("rank", help=_("Compute a month's unit ranking now."))
        rank.add_argument("--month", default="", help=_("YYYY-MM (default: last month)."))
        themes = actions.add_parser("themes", help=_("Mine a week's complaints and answers now."))
        themes.add_argument("--week", default="", help=_("A day of the week (default: last week)."))
        actions.add_parser("defaults", help=_("Add the missing default indicators and targets."))

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        try:
            if action == "defaults":
                added = services.indicator_defaults_restore(actor=None)
                self.stdout.write(_("%(n)s rows added.") % {"n": added})
            elif action == "rank":
                self._rank(str(options["month"] or ""))
            else:
                self._themes(str(options["week"] or ""))
        except YitiError as exc:
            raise CommandError(exc.message) from exc

    def _rank(self, text: str) -> None:
        try:
            month = (
                parse_month(text) if text else services.slot_period(RunKind.RANKING, timezone.now())
            )
        except ValueError as exc:
            raise CommandError(_("Give the month as YYYY-MM.")) from exc
        run = services.ranking_compute(month=month)
        rows = UnitScore.objects.filter(month=run.period_start).select_related("unit")
        self.stdout.write(
            _("Ranking of %(month)s: %(n)s units.")
            % {"month": run.period_start.strftime("%Y-%m"), "n": rows.count()}
        )
        for row in rows.order_by("unit_kind", "rank"):
            score = "—" if row.score is None else f"{row.score:.1f}"
            self.stdout.write(
                f"  {row.get_unit_kind_display()}  #{row.rank or '—'}/{row.ranked_of}  "
                f"{score}  {row.unit.name}"
            )

    def _themes(self, text: str) -> None:
        try:
            week = (
                week_start(date.fromisoformat(text))
                if text
                else services.slot_period(RunKind.THEMES, timezone.now())
            )
        except ValueError as exc:
            raise CommandError(_("Give a day of the week as YYYY-MM-DD.")) from exc
        run = services.themes_compute(week=week)
        self.stdout.write(
            _("Themes of the week of %(week)s: %(status)s.")
            % {"week": run.period_start.isoformat(), "status": run.get_status_display()}
        )
