# ruff: noqa: S608 -- statements are assembled from constants and Dialect expressions only;
# every value is a bound parameter.
"""Hand-written SQL of the rollups: each refresh is one ``INSERT … SELECT … GROUP BY`` per
range of days, so the work is done by the database in one pass and the number of statements
does not grow with the data.

Every difference between SQLite and PostgreSQL is in :class:`Dialect` (the local calendar day
and ISO week of a UTC timestamp, and parameter adaptation). SQLite stores UTC text, so its local
day is ``date(col, '+N minutes')`` with the fixed offset of ``TIME_ZONE`` (Asia/Shanghai has no
daylight saving time; a zone with DST would be off by an hour around the switch on SQLite only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from yiti.campaigns.choices import CONTACTED_STATUSES

PRESSURE_TOP = 10  # the contact-pressure bucket "10 or more contacts in a week"


@dataclass(frozen=True)
class Dialect:
    vendor: str
    tz: str

    @property
    def _offset_minutes(self) -> int:
        offset = datetime.now(ZoneInfo(self.tz)).utcoffset() or timedelta(0)
        return int(offset.total_seconds() // 60)

    def day(self, col: str) -> str:
        if self.vendor == "postgresql":
            return f"(({col} AT TIME ZONE '{self.tz}')::date)"
        return f"date({col}, '{self._offset_minutes:+d} minutes')"

    def week(self, col: str) -> str:
        """The Monday of the ISO week of ``col`` in local time."""
        if self.vendor == "postgresql":
            return f"(date_trunc('week', {col} AT TIME ZONE '{self.tz}')::date)"
        return f"date({col}, '{self._offset_minutes:+d} minutes', 'weekday 0', '-6 days')"

    def param(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return connection.ops.adapt_datefield_value(value)
        return value

    def parse_day(self, value: Any) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value)[:10])


def dialect() -> Dialect:
    return Dialect(vendor=connection.vendor, tz=settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """The UTC instant a local day starts."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE)).astimezone(UTC)


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous runs of days as half-open ``[first, after_last)`` ranges."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return ranges


def _run(sql: str, params: Sequence[Any]) -> int:
    d = dialect()
    with connection.cursor() as cursor:
        cursor.execute(sql, [d.param(p) for p in params])
        return max(cursor.rowcount, 0)


def _days(sql: str, params: Sequence[Any]) -> set[date]:
    d = dialect()
    with connection.cursor() as cursor:
        cursor.execute(sql, [d.param(p) for p in params])
        return {d.parse_day(row[0]) for row in cursor.fetchall() if row[0] is not None}


def _bounds(col: str, span: tuple[date, date] | None) -> tuple[str, list[Any]]:
    if span is None:
        return "", []
    return f" AND {col} >= %s AND {col} < %s", [day_start(span[0]), day_start(span[1])]


# --- campaign funnel -------------------------------------------------------------------------


def funnel_insert(campaign_ids: Sequence[int] | None, now: datetime) -> int:
    """Insert the funnel rows of these campaigns (all when None); the caller deleted them.

    A step counts a delivery that reached it or any later step, so the funnel only narrows.
    """
    d = dialect()
    where, params = "", []
    if campaign_ids is not None:
        if not campaign_ids:
            return 0
        where = f" AND dl.campaign_id IN ({', '.join(['%s'] * len(campaign_ids))})"
        params = list(campaign_ids)
    # the campaign page's funnel (campaigns.selectors.campaign_funnel), step by step: each step
    # counts the deliveries that got at least that far, so the two always agree
    contacted = ", ".join(f"'{status}'" for status in CONTACTED_STATUSES)
    converted = f"(dl.converted_at IS NOT NULL AND dl.status IN ({contacted}))"
    responded = f"(dl.responded_at IS NOT NULL OR {converted})"
    delivered = (
        f"(dl.delivered_at IS NOT NULL OR dl.opened_at IS NOT NULL OR dl.outcome = 'reached' "
        f"OR {responded})"
    )
    sql = f"""
        INSERT INTO insights_funnelday (day, unit_id, campaign_id, planned, sent, delivered,
            opened, responded, converted, revenue, margin, created_at, updated_at)
        SELECT {d.day("dl.planned_for")}, c.unit_id, dl.campaign_id,
            COUNT(*),
            SUM(CASE WHEN dl.sent_at IS NOT NULL OR {delivered} THEN 1 ELSE 0 END),
            SUM(CASE WHEN {delivered} THEN 1 ELSE 0 END),
            SUM(CASE WHEN dl.opened_at IS NOT NULL OR {responded} THEN 1 ELSE 0 END),
            SUM(CASE WHEN {responded} THEN 1 ELSE 0 END),
            SUM(CASE WHEN {converted} THEN 1 ELSE 0 END),
            COALESCE(SUM(CASE WHEN {converted} THEN o.amount END), 0),
            COALESCE(SUM(CASE WHEN {converted} THEN o.margin END), 0),
            %s, %s
        FROM campaigns_delivery dl
        JOIN customers_customer c ON c.id = dl.customer_id
        LEFT JOIN customers_order o ON o.id = dl.order_id
        WHERE dl.status <> 'excluded' AND c.unit_id IS NOT NULL{where}
        GROUP BY 1, 2, 3
    """
    return _run(sql, [now, now, *params])


def funnel_dirty_campaigns(since: datetime, recent: datetime) -> list[int]:
    """Campaigns whose deliveries may have changed since ``since``: changed themselves, or
    live (launched and not completed before ``recent``: responses and conversions still come)."""
    sql = """
        SELECT id FROM campaigns_campaign
        WHERE updated_at > %s
           OR (launched_at IS NOT NULL AND (completed_at IS NULL OR completed_at >= %s))
        ORDER BY id
    """
    d = dialect()
    with connection.cursor() as cursor:
        cursor.execute(sql, [d.param(since), d.param(recent)])
        return [int(row[0]) for row in cursor.fetchall()]


# --- tickets ---------------------------------------------------------------------------------

BREACHED = "(t.sla_breached_at IS NOT NULL OR t.sla_state IN ('breached', 'missed'))"


def tickets_insert(span: tuple[date, date] | None, now: datetime) -> int:
    d = dialect()
    bounds, params = _bounds("t.opened_at", span)
    sql = f"""
        INSERT INTO insights_ticketday (day, unit_id, kind, complaint_class, campaign_id,
            opened, resolved, breached, attained, created_at, updated_at)
        SELECT {d.day("t.opened_at")}, c.unit_id, t.kind,
            CASE WHEN t.kind = 'complaint' THEN t.complaint_class ELSE '' END,
            CASE WHEN t.kind = 'complaint' THEN k.id END,
            COUNT(*),
            SUM(CASE WHEN t.resolved_at IS NOT NULL THEN 1 ELSE 0 END),
            SUM(CASE WHEN {BREACHED} THEN 1 ELSE 0 END),
            SUM(CASE WHEN t.resolved_at IS NOT NULL AND NOT {BREACHED} THEN 1 ELSE 0 END),
            %s, %s
        FROM service_ticket t
        JOIN customers_customer c ON c.id = t.customer_id
        LEFT JOIN campaigns_campaign k ON k.id = t.campaign_id
        WHERE c.unit_id IS NOT NULL{bounds}
        GROUP BY 1, 2, 3, 4, 5
    """
    return _run(sql, [now, now, *params])


def tickets_dirty_days(since: datetime) -> set[date]:
    d = dialect()
    return _days(
        f"SELECT DISTINCT {d.day('opened_at')} FROM service_ticket WHERE updated_at > %s",
        [since],
    )


# --- care calls ------------------------------------------------------------------------------


def care_insert(span: tuple[date, date] | None, now: datetime) -> int:
    d = dialect()
    bounds, params = _bounds("ct.due_at", span)
    sql = f"""
        INSERT INTO insights_careday (day, unit_id, kind, due, done, done_on_time, escalated,
            cancelled, open, created_at, updated_at)
        SELECT {d.day("ct.due_at")}, c.unit_id, ct.kind,
            COUNT(*),
            SUM(CASE WHEN ct.status = 'done' THEN 1 ELSE 0 END),
            SUM(CASE WHEN ct.status = 'done' AND ct.completed_at <= ct.due_at
                THEN 1 ELSE 0 END),
            SUM(CASE WHEN ct.status = 'escalated' THEN 1 ELSE 0 END),
            SUM(CASE WHEN ct.status = 'cancelled' THEN 1 ELSE 0 END),
            SUM(CASE WHEN ct.status = 'open' THEN 1 ELSE 0 END),
            %s, %s
        FROM care_caretask ct
        JOIN customers_customer c ON c.id = ct.customer_id
        WHERE c.unit_id IS NOT NULL{bounds}
        GROUP BY 1, 2, 3
    """
    return _run(sql, [now, now, *params])


def care_dirty_days(since: datetime) -> set[date]:
    d = dialect()
    return _days(
        f"SELECT DISTINCT {d.day('due_at')} FROM care_caretask WHERE updated_at > %s", [since]
    )


# --- satisfaction ----------------------------------------------------------------------------


def satisfaction_insert(span: tuple[date, date] | None, now: datetime) -> int:
    d = dialect()
    bounds, params = _bounds("r.submitted_at", span)
    sql = f"""
        INSERT INTO insights_satisfactionday (day, unit_id, line, csat_count, csat_sum,
            csat_satisfied, nps_count, promoters, detractors, created_at, updated_at)
        SELECT {d.day("r.submitted_at")}, c.unit_id, q.target,
            SUM(CASE WHEN q.kind = 'csat' THEN 1 ELSE 0 END),
            SUM(CASE WHEN q.kind = 'csat' THEN a.score ELSE 0 END),
            SUM(CASE WHEN q.kind = 'csat' AND a.score >= 4 THEN 1 ELSE 0 END),
            SUM(CASE WHEN q.kind = 'nps' THEN 1 ELSE 0 END),
            SUM(CASE WHEN q.kind = 'nps' AND a.score >= 9 THEN 1 ELSE 0 END),
            SUM(CASE WHEN q.kind = 'nps' AND a.score <= 6 THEN 1 ELSE 0 END),
            %s, %s
        FROM care_surveyanswer a
        JOIN care_surveyquestion q ON q.id = a.question_id
        JOIN care_surveyresponse r ON r.id = a.response_id
        JOIN customers_customer c ON c.id = r.customer_id
        WHERE r.submitted_at IS NOT NULL AND a.score IS NOT NULL
          AND q.kind IN ('csat', 'nps') AND c.unit_id IS NOT NULL{bounds}
        GROUP BY 1, 2, 3
    """
    return _run(sql, [now, now, *params])


def satisfaction_dirty_days(since: datetime) -> set[date]:
    d = dialect()
    return _days(
        f"SELECT DISTINCT {d.day('submitted_at')} FROM care_surveyresponse "
        "WHERE updated_at > %s AND submitted_at IS NOT NULL",
        [since],
    )


# --- contact pressure ------------------------------------------------------------------------


def pressure_insert(span: tuple[date, date] | None, now: datetime) -> int:
    """Histogram of contacts per customer per week (``span`` is whole weeks)."""
    d = dialect()
    bounds, params = _bounds("i.occurred_at", span)
    sql = f"""
        INSERT INTO insights_pressureweek (week, unit_id, contacts, customers, created_at,
            updated_at)
        SELECT s.week, s.unit_id,
            CASE WHEN s.n >= {PRESSURE_TOP} THEN {PRESSURE_TOP} ELSE s.n END,
            COUNT(*), %s, %s
        FROM (
            SELECT {d.week("i.occurred_at")} AS week, c.unit_id AS unit_id, i.customer_id,
                COUNT(*) AS n
            FROM engagement_interaction i
            JOIN customers_customer c ON c.id = i.customer_id
            WHERE c.unit_id IS NOT NULL AND c.status <> 'merged'{bounds}
            GROUP BY 1, 2, 3
        ) s
        GROUP BY 1, 2, 3
    """
    return _run(sql, [now, now, *params])


_ID_TABLES = frozenset({"engagement_interaction", "decisions_tierchange"})


def max_id(table: str) -> int:
    """The highest id of an append-only source table (0 when empty)."""
    if table not in _ID_TABLES:
        raise ValueError(table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {table}")
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def pressure_new_weeks(last_id: int) -> tuple[set[date], int]:
    """The weeks of interactions recorded after id ``last_id``, and the highest id now."""
    d = dialect()
    top = max_id("engagement_interaction")
    if top <= last_id:
        return set(), top
    weeks = _days(
        f"SELECT DISTINCT {d.week('occurred_at')} FROM engagement_interaction "
        "WHERE id > %s AND id <= %s",
        [last_id, top],
    )
    return weeks, top


# --- value tiers -----------------------------------------------------------------------------


def tier_moves_insert(span: tuple[date, date] | None, now: datetime) -> int:
    d = dialect()
    bounds, params = _bounds("tc.at", span)
    sql = f"""
        INSERT INTO insights_tiermoveday (day, unit_id, from_tier, to_tier, customers,
            created_at, updated_at)
        SELECT {d.day("tc.at")}, c.unit_id, tc.from_tier, tc.to_tier, COUNT(*), %s, %s
        FROM decisions_tierchange tc
        JOIN customers_customer c ON c.id = tc.customer_id
        WHERE c.unit_id IS NOT NULL{bounds}
        GROUP BY 1, 2, 3, 4
    """
    return _run(sql, [now, now, *params])


def tier_moves_new_days(last_id: int) -> tuple[set[date], int]:
    d = dialect()
    top = max_id("decisions_tierchange")
    if top <= last_id:
        return set(), top
    days = _days(
        f"SELECT DISTINCT {d.day('at')} FROM decisions_tierchange WHERE id > %s AND id <= %s",
        [last_id, top],
    )
    return days, top


def unit_customers_insert(churn_threshold: float, now: datetime) -> int:
    sql = """
        INSERT INTO insights_unitcustomers (unit_id, tier, customers, at_risk, created_at,
            updated_at)
        SELECT c.unit_id, COALESCE(v.tier, ''), COUNT(*),
            SUM(CASE WHEN v.churn_risk >= %s THEN 1 ELSE 0 END), %s, %s
        FROM customers_customer c
        LEFT JOIN customers_customervalue v ON v.customer_id = c.id
        WHERE c.unit_id IS NOT NULL AND c.status <> 'merged'
        GROUP BY 1, 2
    """
    return _run(sql, [churn_threshold, now, now])


def latest_value_mark() -> str:
    """What changes when the customer book or its values change: the customer count, the
    highest customer id and the newest value computation."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), MAX(id) FROM customers_customer")
        count, top = cursor.fetchone() or (0, 0)
        cursor.execute("SELECT MAX(computed_at) FROM customers_customervalue")
        row = cursor.fetchone()
    return f"{count}:{top}:{row[0] if row else ''}"
