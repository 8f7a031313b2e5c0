"""``yiti attribution paths FILE.csv [--json] [--half-life DAYS]``: attribute a path summary;
``yiti attribution run [--day DATE | --campaign CODE]``: the nightly credit run once.

Reads the file (``attribution.pathfile``), runs every model at once and prints
``{"models": {"first_touch": {CHANNEL: {"conversions": x, "value": y}}, …}}`` with
``--json``, or a table. Writes nothing (no database access at all), so it serves offline
analysis of other systems' data. Exit status: 0 done, 2 the file was refused (the line and
the reason are printed on stderr), 1 the file cannot be read.

``run`` stores credit as the scheduled job does: the conversions of ``--day`` (default
yesterday) of every launched campaign, or all of one campaign's with ``--campaign``, for
installations without the worker's scheduler. Exit status 1 when the campaign does not exist.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.attribution.models_math import DEFAULT_HALF_LIFE_DAYS, MODELS, all_models
from yiti.attribution.pathfile import PathFileError, read_paths

UNREADABLE = 1
REFUSED = 2


def _round(x: float) -> float:
    return round(float(x), 6) + 0.0  # no "-0.0"


class Command(BaseCommand):
    help = (
        "Attribution of a path summary (columns path with ' > ', total_conversions, "
        "total_conversion_value, total_null; comma or semicolon separated) under every model. "
        "Writes nothing."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        paths = actions.add_parser(
            "paths", help=_("Attribute a path summary file under every model; writes nothing.")
        )
        paths.add_argument("file", metavar="FILE.csv", help=_("The path summary (or - for stdin)."))
        paths.add_argument(
            "--json", action="store_true", help=_("Print one JSON object instead of a table.")
        )
        paths.add_argument(
            "--half-life",
            type=float,
            default=DEFAULT_HALF_LIFE_DAYS,
            metavar="DAYS",
            help=_(
                "Half-life of the time-decay model; a path file has no times, so each step "
                "back counts as one day."
            ),
        )

        run = actions.add_parser(
            "run", help=_("Store credit now: one day's conversions, or all of one campaign's.")
        )
        run.add_argument("--day", metavar="YYYY-MM-DD", help=_("The day (default: yesterday)."))
        run.add_argument(
            "--campaign", metavar="CAMPAIGN", help=_("All conversions of this campaign (code).")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "run":
            self._run(options)
            return
        name = str(options["file"])
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.stderr.write(_("Cannot read %(file)s: %(error)s") % {"file": name, "error": exc})
            sys.exit(UNREADABLE)
        try:
            book = read_paths(text)
        except PathFileError as exc:
            self.stderr.write(_("%(file)s refused: %(error)s") % {"file": name, "error": exc})
            sys.exit(REFUSED)
        half_life = float(options["half_life"])
        if half_life <= 0:
            self.stderr.write(_("The half-life must be more than 0 days."))
            sys.exit(REFUSED)
        credit = all_models(book.paths, half_life_days=half_life)
        result = {
            "models": {
                model: {
                    channel: {
                        "conversions": _round(credit[model].conversions[code]),
                        "value": _round(credit[model].value[code]),
                    }
                    for code, channel in enumerate(book.channels)
                }
                for model in MODELS
            }
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
            return
        width = max([len(c) for c in book.channels] + [8])
        self.stdout.write(f"{'':<{width}}  " + "  ".join(f"{m:>16}" for m in MODELS))
        for channel in book.channels:
            cells = "  ".join(
                f"{result['models'][m][channel]['conversions']:>16.3f}" for m in MODELS
            )
            self.stdout.write(f"{channel:<{width}}  {cells}")

    def _run(self, options: dict[str, Any]) -> None:
        from yiti.attribution.services import credit_attribute_day, credit_recompute
        from yiti.campaigns.models import Campaign

        if options.get("campaign"):
            campaign = Campaign.objects.filter(code=options["campaign"]).first()
            if campaign is None:
                self.stderr.write(_("No campaign %(code)s.") % {"code": options["campaign"]})
                sys.exit(UNREADABLE)
            result = credit_recompute(campaign=campaign)
        else:
            try:
                day = (
                    date.fromisoformat(options["day"])
                    if options.get("day")
                    else timezone.localdate() - timedelta(days=1)
                )
            except ValueError:
                self.stderr.write(_("The day must be written YYYY-MM-DD."))
                sys.exit(REFUSED)
            result = credit_attribute_day(day=day)
        self.stdout.write(json.dumps(result.as_dict()))
