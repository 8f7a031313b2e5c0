"""Number formats of the accounting pages: money, shares and percentage points."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def money(value: Any) -> str:
    """``¥1,234.56``; negative amounts with a minus sign; blank values as a dash."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value))
    sign = "−" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


@register.filter
def pct(value: Any, places: int = 1) -> str:
    """A share (0.123) as ``12.3 %``; None as a dash."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(places)}f} %"


@register.filter
def points(value: Any) -> str:
    """A difference of shares (0.012) in percentage points: ``+1.2 pp``."""
    if value is None:
        return "—"
    v = float(value) * 100
    sign = "+" if v > 0 else ("−" if v < 0 else "")
    return _("%(v)s pp") % {"v": f"{sign}{abs(v):.1f}"}
