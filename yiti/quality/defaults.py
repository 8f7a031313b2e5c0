"""The catalogue a new installation starts with (the data migration writes the same rows, and
``yiti quality defaults`` restores the missing ones). Every number is editable on the
indicators page; the weights of one unit kind add up to 100.

(code, direction, measure, target, zero-score line, weight, how it is counted)
"""

from __future__ import annotations

from decimal import Decimal

from yiti.org.choices import UnitKind
from yiti.quality.choices import Direction, IndicatorCode, Measure

D = Decimal

DEFAULTS: list[tuple[str, str, str, Decimal, Decimal, Decimal]] = [
    (IndicatorCode.SLA_ATTAINMENT, Direction.HIGHER, Measure.PERCENT, D(95), D(70), D(15)),
    (
        IndicatorCode.FIRST_CONTACT_RESOLUTION,
        Direction.HIGHER,
        Measure.PERCENT,
        D(70),
        D(30),
        D(10),
    ),
    (IndicatorCode.COMPLAINT_RATE, Direction.LOWER, Measure.PER_THOUSAND, D(2), D(10), D(15)),
    (IndicatorCode.REPEAT_COMPLAINTS, Direction.LOWER, Measure.PERCENT, D(5), D(30), D(10)),
    (IndicatorCode.CARE_ON_TIME, Direction.HIGHER, Measure.PERCENT, D(95), D(60), D(10)),
    (IndicatorCode.CSAT, Direction.HIGHER, Measure.SCORE_5, D("4.5"), D(3), D(15)),
    (IndicatorCode.NPS, Direction.HIGHER, Measure.NPS, D(40), D(-20), D(10)),
    (IndicatorCode.HANDLING_TIME, Direction.LOWER, Measure.HOURS, D(24), D(120), D(5)),
    (IndicatorCode.REOPEN_RATE, Direction.LOWER, Measure.PERCENT, D(3), D(20), D(10)),
]

# units that own customers are ranked: the company (one row, for the trend), regions, branches
RANKED_KINDS = (UnitKind.COMPANY, UnitKind.REGION, UnitKind.BRANCH)
