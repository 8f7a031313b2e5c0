"""Official holiday schedules as data: a year's public holidays and adjusted working days.

The ``chinesecalendar`` package ships the State Council's schedule only for the years known
when it was released (up to 2026 in 1.11). An administrator loads a later year (or corrects
a known one) as a :class:`~yiti.service.models.HolidaySchedule`: from a file on the calendar
page, with ``yiti calendar load-year FILE``, through the API, or by typing the dates on the
page. A loaded year applies to every calendar that follows the national schedule and, for
that year, replaces the package (:mod:`yiti.core.business_time`).

The file has one date per row: ``date, type, name``. CSV (UTF-8 or GBK; comma, tab or
semicolon), XLSX (first sheet), or plain text with the three separated by spaces. A header row
is optional; Chinese headers are understood (日期, 类型, 名称). Types: ``holiday`` (假, 休, 放假,
节假日) or ``workday`` (班, 上班, 补班, 调休, 调休上班). Every date is in one year, no date is both a
holiday and a working day, an adjusted working day is a Saturday or Sunday, and a holiday has
a name; errors name the line and the column.

Until a year is known, its SLA clocks count the weekly hours only: from 1 November the
calendar page warns when next year is missing and the administrators are notified once
(:func:`holiday_schedule_check`, a daily scheduled task).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.business_time import cn_holiday_data_covers, schedule_covers
from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.org.choices import Role
from yiti.org.models import Notification, User
from yiti.org.services import notify
from yiti.service.calendars import default_spec, national_schedule
from yiti.service.choices import HolidayDateKind
from yiti.service.models import HolidayDate, HolidaySchedule
from yiti.service.rules import require_manage_sla

MAX_ROWS = 400  # a year has at most 366 dates; more is not a holiday schedule
MAX_FILE_BYTES = 1_000_000
MAX_UNZIPPED_BYTES = 20_000_000  # an XLSX of one year's dates is a few kilobytes unzipped

HOLIDAY_WORDS = frozenset(
    {"holiday", "off", "h", "假", "休", "休息", "放假", "假日", "节假日", "法定节假日", "休假"}
)
WORKDAY_WORDS = frozenset(
    {"workday", "work", "w", "班", "上班", "补班", "调休", "调休上班", "工作日"}
)
DATE_HEADERS = frozenset({"date", "day", "日期"})
KIND_HEADERS = frozenset({"type", "kind", "类型", "类别", "性质"})
NAME_HEADERS = frozenset(
    {"name", "holiday name", "名称", "节日", "节假日", "假日名称", "说明", "note"}
)

_CN_DATE = re.compile(r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class ScheduleRow:
    """One date of a schedule as read from a file or typed in (``line``: where it came from)."""

    line: int
    day: date
    kind: str
    name: str


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.line:
            return _("Line %(line)s, %(column)s: %(message)s") % {
                "line": self.line,
                "column": self.column,
                "message": self.message,
            }
        return self.message


class ScheduleInvalid(ValidationFailed):
    """A schedule with row errors; ``problems`` lists them all, the message the first ten."""

    def __init__(self, problems: Sequence[RowProblem], *, field: str = "file") -> None:
        shown = "; ".join(str(p) for p in problems[:10])
        more = len(problems) - 10
        if more > 0:
            shown += " " + _("(and %(n)s more)") % {"n": more}
        super().__init__(shown, code="invalid_schedule", field=field)
        self.problems = list(problems)


# --- reading --------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ScheduleInvalid(
        [RowProblem(0, "", _("The file is neither UTF-8 nor GBK text; save it as CSV UTF-8."))]
    )


def _split(line: str) -> list[str]:
    for separator in ("\t", ",", "，", ";", "|"):
        if separator in line:
            return [cell.strip() for cell in line.split(separator)]
    return line.split(None, 2)


def _text_cells(text: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" not in stripped and "," in stripped and '"' in stripped:
            rows.append((number, [c.strip() for c in next(csv.reader([stripped]))]))
        else:
            rows.append((number, _split(stripped)))
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_cells(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ScheduleInvalid(
            [RowProblem(0, "", _("This is not a valid .xlsx workbook; save it again as .xlsx."))]
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
            raise ScheduleInvalid([RowProblem(0, "", _("The file is too large for a schedule."))])
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise ScheduleInvalid(
            [RowProblem(0, "", _("The .xlsx workbook cannot be read: %(e)s") % {"e": exc})]
        ) from exc
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), 1):
            cells = [_cell(v) for v in values[:3]]
            if any(cells):
                rows.append((number, cells))
            if len(rows) > MAX_ROWS + 1:
                break
    finally:
        workbook.close()
    return rows


def parse_date(text: str) -> date | None:
    text = text.strip()
    if len(text) >= 10:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    match = _CN_DATE.match(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    return None


def _kind(text: str) -> str | None:
    word = text.strip().lower()
    if word in HOLIDAY_WORDS:
        return HolidayDateKind.HOLIDAY
    if word in WORKDAY_WORDS:
        return HolidayDateKind.WORKDAY
    return None


def rows_from_cells(cells: list[tuple[int, list[str]]]) -> list[ScheduleRow]:
    """Rows from ``(line, [date, type, name])`` cells, with an optional header; raises
    :class:`ScheduleInvalid` listing every unreadable row."""
    if not cells:
        raise ScheduleInvalid([RowProblem(0, "", _("The schedule has no dates."))])
    columns = {"date": 0, "type": 1, "name": 2}
    first_line, first = cells[0]
    if parse_date(first[0] if first else "") is None:
        keys = [c.strip().lower() for c in first]
        found = {}
        for index, key in enumerate(keys):
            for column, names in (
                ("date", DATE_HEADERS),
                ("type", KIND_HEADERS),
                ("name", NAME_HEADERS),
            ):
                if key in names and column not in found:
                    found[column] = index
        missing = [c for c in ("date", "type") if c not in found]
        if missing:
            raise ScheduleInvalid(
                [
                    RowProblem(
                        first_line,
                        _("header"),
                        _(
                            "the first row is neither a date nor a header with the columns "
                            "date (日期), type (类型) and name (名称)"
                        ),
                    )
                ]
            )
        columns = {"name": -1, **found}
        cells = cells[1:]
    if len(cells) > MAX_ROWS:
        raise ScheduleInvalid(
            [RowProblem(0, "", _("More than %(n)s rows: this is not one year.") % {"n": MAX_ROWS})]
        )
    rows: list[ScheduleRow] = []
    problems: list[RowProblem] = []

    def get(values: list[str], column: str) -> str:
        index = columns[column]
        return values[index].strip() if 0 <= index < len(values) else ""

    for line, values in cells:
        raw_date, raw_kind, name = get(values, "date"), get(values, "type"), get(values, "name")
        day = parse_date(raw_date)
        kind = _kind(raw_kind)
        if day is None:
            problems.append(
                RowProblem(line, _("date"), _("“%(v)s” is not a date YYYY-MM-DD") % {"v": raw_date})
            )
        if kind is None:
            problems.append(
                RowProblem(
                    line,
                    _("type"),
                    _("“%(v)s” is neither holiday (假) nor workday (班)") % {"v": raw_kind},
                )
            )
        if len(name) > 40:
            problems.append(RowProblem(line, _("name"), _("longer than 40 characters")))
        if day is not None and kind is not None:
            rows.append(ScheduleRow(line=line, day=day, kind=kind, name=name[:40]))
    if problems:
        raise ScheduleInvalid(problems)
    return rows


def read_schedule_file(*, file_name: str, data: bytes) -> list[ScheduleRow]:
    """Read a CSV, XLSX or text file of ``date, type, name`` rows."""
    if not data or not data.strip():
        raise ScheduleInvalid([RowProblem(0, "", _("The file is empty."))])
    if len(data) > MAX_FILE_BYTES:
        raise ScheduleInvalid([RowProblem(0, "", _("The file is too large for a schedule."))])
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if suffix == "xlsx" or data[:4] == b"PK\x03\x04":
        return rows_from_cells(_xlsx_cells(data))
    text = _decode(data)
    if "\x00" in text:
        raise ScheduleInvalid([RowProblem(0, "", _("The file is not a text file."))])
    return rows_from_cells(_text_cells(text))


def read_schedule_text(text: str) -> list[ScheduleRow]:
    """Rows typed on the calendar page, one ``date, type, name`` per line."""
    return rows_from_cells(_text_cells(text or ""))


def schedule_text(schedule: HolidaySchedule | None) -> str:
    """The inverse of :func:`read_schedule_text`, for the edit page."""
    if schedule is None:
        return ""
    return "\n".join(f"{d.date:%Y-%m-%d}, {d.kind}, {d.name}" for d in schedule.dates.all())


# --- checking and saving ----------------------------------------------------------------------


def check_schedule(rows: Sequence[ScheduleRow], *, year: int | None = None) -> int:
    """The year of ``rows``; raises :class:`ScheduleInvalid` listing every problem."""
    if not rows:
        raise ScheduleInvalid([RowProblem(0, "", _("The schedule has no dates."))])
    year = year or rows[0].day.year
    problems: list[RowProblem] = []
    if not 2000 <= year <= 2200:
        problems.append(RowProblem(0, "", _("The year must be between 2000 and 2200.")))
    seen: dict[date, ScheduleRow] = {}
    for row in rows:
        if row.day.year != year:
            problems.append(
                RowProblem(
                    row.line,
                    _("date"),
                    _("%(day)s is not in %(year)s: a schedule covers one year")
                    % {"day": row.day, "year": year},
                )
            )
        earlier = seen.get(row.day)
        if earlier is not None:
            message = (
                _("%(day)s is both a holiday and a working day (line %(other)s)")
                if earlier.kind != row.kind
                else _("%(day)s is listed twice (line %(other)s)")
            )
            problems.append(
                RowProblem(row.line, _("date"), message % {"day": row.day, "other": earlier.line})
            )
        seen.setdefault(row.day, row)
        if row.kind == HolidayDateKind.WORKDAY and row.day.weekday() < 5:
            problems.append(
                RowProblem(
                    row.line,
                    _("type"),
                    _("%(day)s is a weekday; an adjusted working day is a Saturday or Sunday")
                    % {"day": row.day},
                )
            )
        if row.kind == HolidayDateKind.HOLIDAY and not row.name:
            problems.append(
                RowProblem(row.line, _("name"), _("a holiday needs its name, e.g. 春节"))
            )
    if not any(row.kind == HolidayDateKind.HOLIDAY for row in rows):
        problems.append(RowProblem(0, "", _("The schedule lists no holiday.")))
    if problems:
        raise ScheduleInvalid(problems)
    return year


def _require_admin(actor: User | None) -> None:
    access = require_manage_sla(actor)
    if access is not None and not access.is_admin:
        raise PermissionDenied(
            _("Only administrators change the official holiday schedule."),
            code="permission_denied",
        )


def _lines(rows: Iterable[tuple[date, str, str]]) -> set[str]:
    return {f"{day} {kind} {name}".strip() for day, kind, name in rows}


@transaction.atomic
def holiday_schedule_load(
    *,
    actor: User | None,
    rows: Sequence[ScheduleRow],
    source: str = "",
    year: int | None = None,
) -> HolidaySchedule:
    """Load (or replace) one year's official schedule; company-wide, administrators only.

    The year's dates are replaced as a whole; the audit record lists the dates added and
    removed. From then on every calendar that follows the national schedule uses it for that
    year instead of the ``chinesecalendar`` package.
    """
    _require_admin(actor)
    year = check_schedule(rows, year=year)
    schedule = HolidaySchedule.objects.select_for_update().filter(year=year).first()
    created = schedule is None
    before: set[str] = set()
    if schedule is None:
        schedule = HolidaySchedule.objects.create(year=year, source=source[:200])
    else:
        before = _lines(schedule.dates.values_list("date", "kind", "name"))
        schedule.dates.all().delete()
        schedule.source = source[:200]
        schedule.save(update_fields=["source", "updated_at"])
    HolidayDate.objects.bulk_create(
        HolidayDate(schedule=schedule, date=r.day, kind=r.kind, name=r.name)
        for r in sorted(rows, key=lambda r: r.day)
    )
    after = _lines((r.day, r.kind, r.name) for r in rows)
    audit_record(
        actor=actor,
        action="holiday_schedule.create" if created else "holiday_schedule.update",
        obj=schedule,
        changes={
            "year": year,
            "source": source[:200],
            "added": sorted(after - before),
            "removed": sorted(before - after),
        },
        summary=_("Holiday schedule %(year)s: %(holidays)s holidays, %(workdays)s working days")
        % {
            "year": year,
            "holidays": sum(r.kind == HolidayDateKind.HOLIDAY for r in rows),
            "workdays": sum(r.kind == HolidayDateKind.WORKDAY for r in rows),
        },
    )
    return schedule


@transaction.atomic
def holiday_schedule_delete(*, actor: User | None, year: int) -> None:
    """Remove a loaded year: the package's schedule (or the weekly hours) applies again."""
    _require_admin(actor)
    schedule = HolidaySchedule.objects.filter(year=year).first() if _plausible(year) else None
    if schedule is None:
        raise ValidationFailed(
            _("No schedule is loaded for %(year)s.") % {"year": year},
            field="year",
            code="not_loaded",
        )
    removed = sorted(_lines(schedule.dates.values_list("date", "kind", "name")))
    audit_record(
        actor=actor,
        action="holiday_schedule.delete",
        obj=schedule,
        changes={"year": year, "removed": removed},
    )
    schedule.delete()


# --- reading for pages, and the yearly reminder ------------------------------------------------


def holiday_schedules() -> list[HolidaySchedule]:
    """Loaded years, newest first, with ``holidays`` and ``workdays`` counted."""
    return list(
        HolidaySchedule.objects.annotate(
            holidays=Count("dates", filter=Q(dates__kind=HolidayDateKind.HOLIDAY)),
            workdays=Count("dates", filter=Q(dates__kind=HolidayDateKind.WORKDAY)),
        ).order_by("-year")
    )


def missing_years(now: datetime) -> list[int]:
    """The years that need a schedule and have none: this year, and from 1 November next year."""
    today = timezone.localtime(now).date()
    spec = default_spec(national_schedule())
    wanted = [today.year, today.year + 1] if today.month >= 11 else [today.year]
    return [year for year in wanted if not schedule_covers(spec, year)]


def package_last_year() -> int | None:
    """The last year the installed ``chinesecalendar`` package knows."""
    last = None
    for year in range(2004, timezone.localdate().year + 10):
        if cn_holiday_data_covers(date(year, 6, 1)):
            last = year
    return last


def _plausible(year: int) -> bool:
    return 2000 <= year <= 2200


def holiday_schedule_get(year: int) -> HolidaySchedule:
    schedule = (
        HolidaySchedule.objects.filter(year=year).prefetch_related("dates").first()
        if _plausible(year)
        else None
    )
    if schedule is None:
        raise NotFound(_("No schedule is loaded for %(year)s.") % {"year": year})
    return schedule


def year_param(raw: str | None) -> int | None:
    """A ``?year=`` value when it is a plausible year, else ``None``."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) == 4 and _plausible(int(raw)):
        return int(raw)
    return None


REMINDER_KIND = "holiday_schedule_missing"


def reminder_link(year: int) -> str:
    return reverse("service:holiday_year_new") + f"?year={year}"


def holiday_schedule_check(*, now: datetime | None = None) -> list[int]:
    """From 1 November: notify the administrators, once per year, that next year's holiday
    schedule is missing. Returns the years they were told about now."""
    now = now or timezone.now()
    told: list[int] = []
    for year in missing_years(now):
        link = reminder_link(year)
        if Notification.objects.filter(kind=REMINDER_KIND, link=link).exists():
            continue
        admins = list(
            User.objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | Q(memberships__role=Role.ADMIN))
            .distinct()
            .order_by("pk")
        )
        with transaction.atomic():
            notify(
                users=admins,
                title=_("The %(year)s holiday schedule is not loaded") % {"year": year},
                body=_(
                    "SLA clocks and care due dates in %(year)s count the weekly hours only, "
                    "without the public holidays and adjusted working days, until an "
                    "administrator loads the State Council's schedule on the calendar page "
                    "or with “yiti calendar load-year FILE”."
                )
                % {"year": year},
                link=link,
                kind=REMINDER_KIND,
            )
        told.append(year)
    return told
