"""Reading the cells of an import: money, dates and times, choices and yes/no, fast.

Each reader returns the value or raises ``ValueError`` with the reason the user sees; the
importers turn that into a :class:`~yiti.customers.importing.RowError`. They run once per
cell of a million-row file, so the common spellings take a short path.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import TextChoices
from django.utils import translation
from django.utils.translation import gettext as _

_MONEY_JUNK = str.maketrans("", "", ",，¥￥ 元")
CENT = Decimal("0.01")
MONEY_MAX = Decimal("9999999999.99")  # max_digits=12, decimal_places=2
_DATE_FORMATS = (
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y%m%d",
    "%d/%m/%Y",
    "%d.%m.%Y",
)
YES = {"yes", "y", "true", "1", "是", "有效", "启用", "在售", "x", "✓", "√"}
NO = {"no", "n", "false", "0", "否", "无效", "停用", "停售", "下架"}


def money(text: str) -> Decimal:
    """``"1,299.50"``, ``"¥88"`` -> Decimal with two places; refuses negative amounts."""
    try:
        value = Decimal(text.translate(_MONEY_JUNK))
    except InvalidOperation:
        raise ValueError(_("Not an amount of money.")) from None
    if not value.is_finite():
        raise ValueError(_("Not an amount of money."))
    if value < 0:
        raise ValueError(_("Must not be negative."))
    if value > MONEY_MAX:
        raise ValueError(_("Too large."))
    return value.quantize(CENT, rounding=ROUND_HALF_UP)  # 四舍五入, as on a receipt


def rate(text: str) -> Decimal:
    """A margin rate: ``0.35``, ``35%`` -> Decimal in [0, 1] with four places."""
    raw = text.strip()
    percent = raw.endswith(("%", "％"))
    try:
        value = Decimal(raw.rstrip("%％").strip())
    except InvalidOperation:
        raise ValueError(_("Not a rate; write 0.35 or 35%.")) from None
    if not value.is_finite():
        raise ValueError(_("Not a rate; write 0.35 or 35%."))
    if percent or value > 1:
        value = value / 100
    if not 0 <= value <= 1:
        raise ValueError(_("A margin rate is between 0 and 100%."))
    return value.quantize(Decimal("0.0001"))


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def moment(text: str, zone: ZoneInfo) -> datetime:
    """A date or date and time in one of the usual spellings, local time unless it says."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        found: datetime | None = None
        for pattern in _DATE_FORMATS:
            try:
                found = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        if found is None:
            raise ValueError(
                _("Not a date; write 2025-03-31 or 2025-03-31 14:30 (also 2025/3/31).")
            ) from None
        value = found
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


class MomentParam:
    """Cell text -> the database parameter of a datetime column, for ``insert_rows(ready=True)``.

    ``adapt`` is the connection's ``adapt_datetimefield_value``. Where it turns an aware time
    into text in UTC (SQLite), a naive local time is shifted by its zone's offset and written
    by ``str`` directly — the same text (checked on two samples when built, else the slow
    path is kept), without the settings look-ups of the adapter on every row.
    """

    def __init__(self, zone: ZoneInfo, adapt: Any) -> None:
        self.zone = zone
        self.adapt = adapt
        self.offsets: dict[str, Any] = {}  # local hour -> UTC offset (zones move by hours)
        samples = [datetime(2025, 1, 31, 8, 5, 9), datetime(2025, 7, 1, 23, 59, 59, 120)]
        self.fast = all(
            isinstance(adapt(s.replace(tzinfo=zone)), str)
            and adapt(s.replace(tzinfo=zone)) == str(s - zone.utcoffset(s))  # type: ignore[operator]
            for s in samples
        )

    def __call__(self, text: str) -> Any:
        try:
            value = datetime.fromisoformat(text)
            hour = text[:13] if len(text) >= 13 else None  # "2025-03-31 14": the offset's key
        except ValueError:
            value = moment(text, self.zone)
            hour = None
        if value.tzinfo is None:
            if self.fast:
                offset = self.offsets.get(hour) if hour is not None else None
                if offset is None:
                    offset = self.zone.utcoffset(value)
                    if hour is not None:
                        if len(self.offsets) > 100_000:
                            self.offsets.clear()
                        self.offsets[hour] = offset
                return str(value - offset)  # type: ignore[operator]
            value = value.replace(tzinfo=self.zone)
        return self.adapt(value)


def a_date(text: str) -> date:
    return moment(text, local_zone()).date()


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def choice_table(choices: type[TextChoices], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every accepted spelling of a choice (lower case): its value and its labels in English,
    Chinese and the active language."""
    table: dict[str, str] = {}
    for language in ("en", "zh-hans", translation.get_language() or "en"):
        with translation.override(language):
            for member in choices:
                table[str(member.label).lower()] = member.value
    for member in choices:
        table[member.value] = member.value
    for spelling, value in (extra or {}).items():
        table[spelling.lower()] = value
    return table


def yes_no(text: str) -> bool:
    word = text.strip().lower()
    if word in YES or word == str(_("yes")).lower():
        return True
    if word in NO or word == str(_("no")).lower():
        return False
    raise ValueError(_("Use yes or no (是 or 否)."))


def plain(value: Any) -> str:
    return "" if value is None else str(value)
