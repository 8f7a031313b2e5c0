"""A wave's funnel drawn on the server as an inline SVG of horizontal bars (no chart library,
nothing from a CDN): audience, excluded, planned, sent, delivered, responded, converted, each
bar as long as its share of the audience. ``campaigns/_funnel_chart.html`` draws it; the
numbers are also in each bar's title and in the table beside the chart."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from yiti.campaigns.selectors import WaveFunnel

WIDTH = 380
LABEL_WIDTH = 118
VALUE_WIDTH = 48
ROW = 26
BAR = 18
TOP = 4
COLOURS = {"audience": "#9aa9c2", "excluded": "#f0a020", "converted": "#2e9e5b"}
DEFAULT_COLOUR = "#2f6fde"


@dataclass(frozen=True)
class FunnelBar:
    key: str
    label: str
    value: int
    y: float
    width: float
    colour: str

    @property
    def text_y(self) -> float:
        return round(self.y + BAR / 2 + 4, 1)

    @property
    def value_x(self) -> float:
        return round(LABEL_WIDTH + self.width + 6, 1)


@dataclass(frozen=True)
class FunnelChart:
    title: str
    bars: list[FunnelBar]
    width: int = WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return TOP * 2 + ROW * len(self.bars)

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)

    @property
    def label_x(self) -> int:
        return self.label_width - 8

    @property
    def bar_height(self) -> int:
        return BAR


def funnel_chart(funnel: WaveFunnel) -> FunnelChart:
    steps = list(funnel.steps)
    steps.insert(1, ("excluded", _("Excluded"), funnel.excluded))
    top = max([value for _key, _label, value in steps] + [0])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = [
        FunnelBar(
            key=key,
            label=str(label),
            value=value,
            y=TOP + i * ROW,
            width=round(value / top * span, 1) if top else 0.0,
            colour=COLOURS.get(key, DEFAULT_COLOUR),
        )
        for i, (key, label, value) in enumerate(steps)
    ]
    return FunnelChart(title=_("Funnel of wave %(n)d") % {"n": funnel.wave.number}, bars=bars)
