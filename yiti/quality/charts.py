"""Small inline SVG drawings of the ranking page (no chart library): each unit's score as a bar
of its indicators' contributions, and the six-month trend of its score as a sparkline. Sizes
are SVG attributes on a 0–100 view box, so the drawings scale with the card at any width."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COLOURS = (
    "#2f6fde",
    "#2e9e5b",
    "#f0a020",
    "#8e44ad",
    "#e74c3c",
    "#16a2b8",
    "#c0862b",
    "#5d6d7e",
    "#d35490",
)
LOST = "#e6e9ef"


def colour_of(codes: list[tuple[str, str]]) -> dict[str, str]:
    return {code: COLOURS[i % len(COLOURS)] for i, (code, _label) in enumerate(codes)}


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    colour: str
    title: str


def contribution_bar(row: Any, palette: dict[str, str]) -> list[Segment]:
    """The score as segments, one per indicator's contribution, then the points not earned."""
    segments = []
    x = 0.0
    for part in row.parts:
        if not part.contribution:
            continue
        width = round(part.contribution, 2)
        segments.append(
            Segment(
                round(x, 2), width, palette.get(part.code, COLOURS[0]), f"{part.label}: {width}"
            )
        )
        x += width
    if x < 100:
        segments.append(Segment(round(x, 2), round(100 - x, 2), LOST, ""))
    return segments


def legend(codes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    palette = colour_of(codes)
    return [(label, palette[code]) for code, label in codes]


@dataclass(frozen=True)
class Spark:
    lines: list[str]  # polyline point lists, broken where a month has no score
    last: tuple[float, float] | None


def sparkline(scores: list[float | None]) -> Spark:
    n = len(scores)
    if n == 0:
        return Spark([], None)
    step = 100 / (n - 1) if n > 1 else 0
    lines: list[str] = []
    current: list[str] = []
    last = None
    for i, score in enumerate(scores):
        if score is None:
            if current:
                lines.append(" ".join(current))
            current = []
            continue
        x, y = round(i * step, 1), round(28 - score * 0.26, 1)
        current.append(f"{x},{y}")
        last = (x, y)
    if current:
        lines.append(" ".join(current))
    return Spark(lines, last)
