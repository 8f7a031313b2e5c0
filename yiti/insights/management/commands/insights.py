"""``yiti insights ...``: the cockpit's rollups from the command line.

yiti insights rebuild    # delete every rollup and compute it again from all the data
yiti insights refresh    # fold in what changed since the last run (what the worker does)
yiti insights status     # each rollup's watermark, last rebuild and duration
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from yiti.insights.models import RollupWatermark
from yiti.insights.rollups import rollups_rebuild, rollups_refresh


class Command(BaseCommand):
    help = "The management cockpit's rollups: rebuild, refresh or status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "refresh", "status"])

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "status":
            for mark in RollupWatermark.objects.order_by("name"):
                self.stdout.write(
                    f"{mark.name:<13} up to {mark.changed_until:%Y-%m-%d %H:%M:%S} "
                    f"rebuilt {mark.rebuilt_at or '—'} last run {mark.seconds:.2f} s"
                    if mark.changed_until
                    else f"{mark.name:<13} never run"
                )
            return
        started = time.monotonic()
        result = rollups_rebuild() if action == "rebuild" else rollups_refresh()
        seconds = time.monotonic() - started
        label = "rows written" if action == "rebuild" else "days recomputed"
        self.stdout.write(json.dumps({label: result, "seconds": round(seconds, 2)}))
