"""Bar charts drawn on the server as inline SVG (no chart library, nothing from a CDN).

:func:`bar_chart` lays out the bars; ``care_reports/_bar_chart.html`` draws them, with the
numbers also in the SVG's title and a text table beside it for screen readers and print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 560
BAR_AREA_HEIGHT = 180
TOP = 18
LABEL_SPACE = 34
SERIES_CLASSES = ("bar-a", "bar-b", "bar-c")
SERIES_COLOURS = ("#2f6fde", "#f0a020", "#2e9e5b")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value_text: str
    colour: str
    series: str

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class Group:
    label: str
    label_x: float
    bars: list[Bar]


@dataclass
class BarChart:
    title: str
    groups: list[Group]
    series: list[tuple[str, str]] = field(default_factory=list)  # (name, colour) for the legend
    width: int = WIDTH
    height: int = BAR_AREA_HEIGHT + TOP + LABEL_SPACE
    baseline: float = BAR_AREA_HEIGHT + TOP

    @property
    def empty(self) -> bool:
        return not any(bar.height for group in self.groups for bar in group.bars)


def _text(value: float | None, digits: int) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if digits else f"{value:g}"


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    max_value: float | None = None,
    digits: int = 0,
) -> BarChart:
    """``series`` is ``[(name, values per category), ...]``; ``None`` draws no bar."""
    values = [v for _name, vs in series for v in vs if v is not None]
    top = max_value if max_value is not None else max([*values, 0])
    n = max(1, len(categories))
    slot = WIDTH / n
    inner = slot * 0.7
    bar_width = inner / max(1, len(series))
    groups = []
    for i, label in enumerate(categories):
        left = i * slot + (slot - inner) / 2
        bars = []
        for s, (name, vs) in enumerate(series):
            value = vs[i] if i < len(vs) else None
            height = (max(0.0, value) / top * BAR_AREA_HEIGHT) if value and top else 0.0
            bars.append(
                Bar(
                    x=round(left + s * bar_width, 1),
                    y=round(TOP + BAR_AREA_HEIGHT - height, 1),
                    width=round(bar_width - 2, 1),
                    height=round(height, 1),
                    value_text=_text(value, digits),
                    colour=SERIES_COLOURS[s % len(SERIES_COLOURS)],
                    series=name,
                )
            )
        groups.append(Group(label=label, label_x=round(i * slot + slot / 2, 1), bars=bars))
    legend = (
        [(name, SERIES_COLOURS[s % len(SERIES_COLOURS)]) for s, (name, _vs) in enumerate(series)]
        if len(series) > 1
        else []
    )
    return BarChart(title=title, groups=groups, series=legend)
