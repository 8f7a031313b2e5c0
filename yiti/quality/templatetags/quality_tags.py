"""Filters of the quality pages: numbers with their measure and base, signs, lookups."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yiti.quality.choices import Measure

register = template.Library()


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def absolute(value: Any) -> Any:
    return abs(value) if value is not None else value


@register.filter
def signed(value: Any) -> str:
    if value is None:
        return ""
    number = float(value)
    text = f"{number:.1f}".rstrip("0").rstrip(".") if number % 1 else f"{int(number)}"
    return f"+{text}" if number > 0 else text


@register.filter
def percent(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f}%"


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@register.filter
def shown_value(part: Any) -> str:
    """The value with its measure: 75%, 3.67 / 5, 12 h, 500 ‰ customers."""
    if part.value is None:
        return "—"
    value = _fmt(part.value)
    if part.measure == Measure.PERCENT:
        return f"{value}%"
    if part.measure == Measure.HOURS:
        return _("%(value)s h") % {"value": value}
    if part.measure == Measure.SCORE_5:
        return f"{value} / 5"
    return value


@register.filter
def basis(part: Any) -> str:
    """What the value was computed from, in words."""
    if not part.den:
        return _("no data this month")
    num, den = part.num, part.den
    count = round(den)
    if part.measure == Measure.HOURS:
        return ngettext("%(n)s ticket", "%(n)s tickets", count) % {"n": count}
    if part.measure in (Measure.SCORE_5, Measure.NPS):
        return ngettext("%(n)s answer", "%(n)s answers", count) % {"n": count}
    if part.measure == Measure.PER_THOUSAND:
        return _("%(num)s of %(den)s customers") % {"num": _fmt(num), "den": _fmt(den)}
    return _("%(num)s of %(den)s") % {"num": _fmt(num), "den": _fmt(den)}
