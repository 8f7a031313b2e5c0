"""From indicator values to a unit's score: pure functions, no database.

An indicator scores 100 at its target or better and 0 at its zero-score line or worse,
linearly between (the line lies on the bad side of the target, whichever way is better). A
unit's score is the weighted mean of the scores of the indicators it has data for, so a unit
without care calls is judged on the rest; each indicator's *contribution* is its share of the
score in points (weight × score / the weights with data), so the contributions add up to the
score and show which indicators carried or sank it — many indicators, not one (改变用单一指标来衡量).
Units are ranked among the units of the same kind whose data cover at least half the weights.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# a unit is ranked when indicators holding at least this share of the weights have data (a
# unit with customers but no tickets, calls or answers would otherwise top the list on its
# complaint rate alone); below it the score is shown without a rank
RANKED_COVERAGE = 0.5


@dataclass(frozen=True)
class Rule:
    """Target, zero-score line and weight of one indicator for one unit kind."""

    code: str
    target: float
    floor: float
    weight: float


def indicator_score(value: float, target: float, floor: float) -> float:
    """0–100: 100 at the target or better, 0 at the floor or worse."""
    if target == floor:
        return 100.0 if value == target else 0.0
    share = (value - floor) / (target - floor)
    return round(100.0 * min(1.0, max(0.0, share)), 2)


@dataclass(frozen=True)
class Part:
    code: str
    value: float | None
    score: float | None
    weight: float
    contribution: float | None


@dataclass(frozen=True)
class UnitResult:
    score: float | None
    coverage: float  # share of the weights that had data, 0–1
    parts: list[Part]


def unit_score(values: dict[str, float | None], rules: Iterable[Rule]) -> UnitResult:
    rules = list(rules)
    weighted = [r for r in rules if r.weight > 0]
    with_data = [r for r in weighted if values.get(r.code) is not None]
    total_weight = sum(r.weight for r in weighted)
    data_weight = sum(r.weight for r in with_data)
    parts: list[Part] = []
    score_sum = 0.0
    for rule in rules:
        value = values.get(rule.code)
        if value is None:
            parts.append(Part(rule.code, None, None, rule.weight, None))
            continue
        s = indicator_score(value, rule.target, rule.floor)
        contribution = (
            round(rule.weight * s / data_weight, 2) if data_weight and rule.weight > 0 else 0.0
        )
        score_sum += rule.weight * s
        parts.append(Part(rule.code, value, s, rule.weight, contribution))
    score = round(score_sum / data_weight, 2) if data_weight else None
    return UnitResult(
        score=score,
        coverage=round(data_weight / total_weight, 3) if total_weight else 0.0,
        parts=parts,
    )


def ranks(scores: dict[int, float | None]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) of the units with a score, best first."""
    ordered = sorted(((s, k) for k, s in scores.items() if s is not None), key=lambda p: -p[0])
    out: dict[int, int] = {}
    previous: float | None = None
    rank = 0
    for position, (score, key) in enumerate(ordered, 1):
        if score != previous:
            rank = position
            previous = score
        out[key] = rank
    return out
