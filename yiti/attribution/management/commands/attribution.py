"""``yiti attribution paths FILE.csv [--json] [--half-life DAYS]``: attribute a path summary.

Reads the file (``attribution.pathfile``), runs every model at once and prints
``{"models": {"first_touch": {CHANNEL: {"conversions": x, "value": y}}, …}}`` with
``--json``, or a table. Writes nothing (no database access at all), so it serves offline
analysis of other systems' data. Exit status: 0 done, 2 the file was refused (the line and
the reason are printed on stderr), 1 the file cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
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

    def handle(self, *args: Any, **options: Any) -> None:
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
