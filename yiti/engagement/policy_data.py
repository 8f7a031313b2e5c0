"""Loading the contact policy's inputs from the database, set-based.

:func:`policy_inputs` reads everything :func:`yiti.engagement.policy.evaluate` needs besides the
candidates, in a fixed number of queries whatever the audience size: the active rules, the
active quiet hours, the history, the consent rows and the active suppressions (five queries),
plus the customer id range when an audience is named (six) and its ids when it is a queryset
(seven). Never a query per customer.

The audience: ``None`` (every customer), an array of customer ids or a queryset of them. An
audience that is a large share of the book is read like the whole book and kept in numpy (on
SQLite, filtering a million customers in SQL costs a probe per row); a small one is filtered in
SQL by its ids (one parameter: a JSON array on SQLite, an array on PostgreSQL).

Transfer: turning a million rows into Python tuples costs more than the query, so the large
reads return one row per channel × purpose group (in the order of a covering index) holding one
comma-separated string of integers, which numpy parses (``np.fromstring``). The strings are
bounded by the database's text limit (1 GB on both: tens of millions of rows).

* History counts *outbound* interactions only (contacts Yiti made, whatever their outcome: an
  unanswered call disturbs too); contacts the customer started do not add to pressure. It is
  read per customer and instant (the second, rounded down) over the local days any window of
  the longest rule around the planned period can reach (the partial covering index
  ``interaction_out_policy``), and counted per customer, instant, channel and purpose in
  numpy.
* Consent: only the rows that differ from the default are read — granted marketing (or
  sales) rows, and refused service or care rows (and refused marketing on the portal inbox);
  a missing row means the default (``policy.allowed_by_default``: marketing not consented
  except on the portal, service and care allowed), so the engine decides the same as with
  every row.
  Only the channels and purposes asked (the candidates') are read, through the covering index
  ``consent_state_scan``.
* Suppressions: the active rows (``lifted_at`` null and not expired by the start of the planned
  period), any reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection as default_connection
from django.db.models import QuerySet

from yiti.customers.models import ConsentState, Customer
from yiti.engagement.choices import Direction
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.engagement.policy import (
    CHANNELS,
    DAY,
    PURPOSES,
    SUPPRESSION_REASONS,
    Consent,
    Contacts,
    Quiet,
    Rule,
    Suppressed,
    allowed_by_default,
)


@dataclass(frozen=True)
class PolicyInputs:
    """What ``evaluate`` needs besides the candidates (and the already-planned sends)."""

    history: Contacts
    rules: list[Rule]
    quiet: list[Quiet]
    consent: Consent
    suppressed: Suppressed
    utc_offset: int


def utc_offset(at: datetime | None = None) -> int:
    """Seconds east of UTC of the configured time zone at ``at`` (default now)."""
    moment = at or datetime.now(tz=UTC)
    offset = moment.astimezone(ZoneInfo(settings.TIME_ZONE)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


# A rule set standing in for the table's while a change is previewed (``rules_proposed``): a
# context variable, so that a preview in one request or thread never leaks into another.
_PROPOSED: ContextVar[list[Rule] | None] = ContextVar("proposed_rules", default=None)


@contextmanager
def rules_proposed(rules: list[Rule]) -> Iterator[None]:
    """Within this block :func:`rules_active` answers ``rules`` (a dry run of a rule change
    through the planner, which reads the rules as data); nothing is written."""
    token = _PROPOSED.set(list(rules))
    try:
        yield
    finally:
        _PROPOSED.reset(token)


def rule_of(rule: ContactPolicyRule) -> Rule:
    """The engine's view of a stored (or proposed, unsaved) rule."""
    return Rule(
        name=rule.name,
        max_contacts=rule.max_contacts,
        window_days=rule.window_days,
        purposes=frozenset(rule.purposes or ()),
        channels=frozenset(rule.channels or ()),
        weights={str(k): float(v) for k, v in (rule.weights or {}).items()},
        calendar_days=bool(rule.calendar_days),
    )


def rules_active() -> list[Rule]:
    """The active contact caps, in id order (the order ``cap:<rule>`` reasons are chosen in)."""
    proposed = _PROPOSED.get()
    if proposed is not None:
        return list(proposed)
    return [rule_of(r) for r in ContactPolicyRule.objects.filter(active=True).order_by("id")]


def quiet_active() -> list[Quiet]:
    return [
        Quiet(
            days=frozenset(int(d) for d in q.days or ()),
            start=q.start.hour * 3600 + q.start.minute * 60 + q.start.second,
            end=q.end.hour * 3600 + q.end.minute * 60 + q.end.second,
            channels=frozenset(q.channels or ()),
        )
        for q in QuietHours.objects.filter(active=True).order_by("id")
    ]


def policy_inputs(
    *,
    customers: QuerySet[Any] | np.ndarray | None,
    first: datetime,
    last: datetime,
    channels: list[str] | None = None,
    purposes: list[str] | None = None,
) -> PolicyInputs:
    """Load the policy inputs for the audience ``customers`` planned between ``first`` and ``last``.

    ``customers`` names the audience: an array of customer ids (what a planner already holds
    to build its candidates), a ``Customer`` queryset or a one-column ``values(...)`` queryset
    of customer ids (e.g. a segment's or a wave's audience; its ids are read in one more
    query), or ``None`` for every customer. An audience that is a large share of the book
    (:data:`SCAN_SHARE` of its id range) is read like the whole book and filtered in numpy,
    which is faster than filtering in SQL; a smaller one is filtered in SQL by id. ``channels``
    and ``purposes`` (of the candidates) narrow the consent rows read; by default all.
    """
    offset = utc_offset(first)
    rules = rules_active()
    quiet = quiet_active()
    audience = _audience(customers)
    history = Contacts.empty()
    if rules:
        longest = max(r.window_days for r in rules)
        # a window reaches less than ``longest`` days either side (rolling: on the local day
        # ``longest`` days before or after; a calendar-day rule stays within those days)
        day_from = (int(first.timestamp()) + offset) // DAY - longest
        day_to = (int(last.timestamp()) + offset) // DAY + longest + 1  # exclusive
        history = _history(audience, day_from, day_to, offset)
    return PolicyInputs(
        history=history,
        rules=rules,
        quiet=quiet,
        consent=_consent(audience, channels, purposes),
        suppressed=_suppressed(audience, first),
        utc_offset=offset,
    )


# An audience of at least this share of the customer id range is read like the whole book and
# kept in numpy; a smaller one is read by id. Measured on SQLite with the 1M-customer benchmark
# book (CPU seconds, by id / whole book): 1,000 customers 0.16 / 0.68, 10,000 0.94 / 0.51.
SCAN_SHARE = 0.005


def audience_ids(customers: QuerySet[Any] | None = None) -> np.ndarray:
    """The customer ids of ``customers`` (default every customer) as a sorted int64 array.

    One query; the ids travel as one string (``group_concat`` / ``string_agg``) and numpy
    parses it, several times faster than a Python tuple per row.
    """
    qs = _id_subquery(Customer.objects.all() if customers is None else customers)
    try:
        inner, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return np.zeros(0, dtype=np.int64)
    ids = _ints(f"WITH t(id) AS ({inner}) SELECT {_agg('id')} FROM t", params)  # noqa: S608
    return _sorted_unique(ids)


def _sorted_unique(ids: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (numpy 2's default hash-based ``unique`` is slower here)."""
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        ids = np.sort(ids)
        ids = ids[np.r_[True, ids[1:] != ids[:-1]]]
    return ids


@dataclass(frozen=True)
class _Audience:
    """Sorted unique customer ids; ``scan``: read the whole book and keep these in numpy."""

    ids: np.ndarray
    scan: bool

    def keep(self, customer_id: np.ndarray) -> np.ndarray:
        if not len(self.ids):
            return np.zeros(len(customer_id), dtype=bool)
        low, high = int(self.ids[0]), int(self.ids[-1])
        inside = (customer_id >= low) & (customer_id <= high)
        if high - low < 8 * len(self.ids) + (1 << 20):  # direct-address table
            table = np.zeros(high - low + 1, dtype=bool)
            table[self.ids - low] = True
            return inside & table[np.where(inside, customer_id - low, 0)]
        pos = np.minimum(np.searchsorted(self.ids, customer_id), len(self.ids) - 1)
        return self.ids[pos] == customer_id


def _source(table: str, audience: _Audience | None) -> tuple[str, list[Any]]:
    """The FROM clause reading ``table`` for ``audience`` (whole when scanned), its parameters.

    Filtering by id, the ids drive the join: on PostgreSQL an ``unnest`` of the id array, on
    SQLite a ``json_each`` of a JSON array (``CROSS JOIN`` keeps that order), so each
    customer's rows are found through an index on ``customer_id`` rather than by scanning.
    """
    if audience is None or audience.scan:
        return table, []
    if default_connection.vendor == "postgresql":
        join = f"unnest(%s::bigint[]) AS audience(id) JOIN {table} ON customer_id = audience.id"
        return join, [audience.ids.tolist()]
    join = f"json_each(%s) AS audience CROSS JOIN {table} ON customer_id = audience.value"
    return join, [_json_ids(audience.ids)]


def _json_ids(ids: np.ndarray) -> str:
    return "[" + ",".join(map(str, ids.tolist())) + "]"


def _audience(customers: QuerySet[Any] | np.ndarray | None) -> _Audience | None:
    if customers is None:
        return None
    if isinstance(customers, QuerySet):
        ids = audience_ids(customers)
    else:
        ids = _sorted_unique(np.asarray(customers, dtype=np.int64))
    if not len(ids):
        return _Audience(ids, scan=False)
    table = Customer._meta.db_table  # two subqueries: each a single index probe
    with default_connection.cursor() as cursor:
        cursor.execute(f"SELECT (SELECT MIN(id) FROM {table}), (SELECT MAX(id) FROM {table})")  # noqa: S608
        low, high = cursor.fetchone()
    book = (high or 0) - (low or 0) + 1
    return _Audience(ids, scan=len(ids) >= SCAN_SHARE * book)


def _id_subquery(customers: QuerySet[Any]) -> QuerySet[Any]:
    if customers.model is Customer and customers.query.values_select == ():
        return customers.order_by().values("pk")
    return customers.order_by()


def _agg(expression: str) -> str:
    """SQL aggregating integer ``expression`` into one comma-separated string."""
    if default_connection.vendor == "postgresql":
        return f"string_agg(({expression})::text, ',')"
    return f"group_concat({expression}, ',')"


def _ints(sql: str, params: list[Any] | tuple[Any, ...]) -> np.ndarray:
    """The first column of the first row of ``sql``: comma-separated integers, as an array."""
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _parse(row[0] if row else None)


def _parse(text: str | None) -> np.ndarray:
    if not text:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")


def _epoch(column: str) -> str:
    """SQL: seconds since the epoch of datetime ``column``, an integer."""
    if default_connection.vendor == "postgresql":
        return f"FLOOR(EXTRACT(EPOCH FROM {column}))::bigint"
    if sqlite3.sqlite_version_info >= (3, 38):
        return f"unixepoch({column})"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _history(audience: _Audience | None, day_from: int, day_to: int, offset: int) -> Contacts:
    """Outbound contacts per customer, instant, channel and purpose, in the local days
    ``[day_from, day_to)``.

    One query, grouped by channel and purpose (which the covering index
    ``interaction_out_policy`` gives in order): per group, one string of
    ``customer_id × 2^k + seconds since the start of day_from``; counted per customer and
    instant in numpy, group by group.
    """
    if audience is not None and not len(audience.ids):
        return Contacts.empty()
    t_from = day_from * DAY - offset
    start = datetime.fromtimestamp(t_from, tz=UTC)
    end = datetime.fromtimestamp(day_to * DAY - offset, tz=UTC)
    bits = max(1, int((day_to - day_from) * DAY - 1).bit_length())
    source, params = _source(Interaction._meta.db_table, audience)
    in_ch, p_ch = _in("channel", CHANNELS)
    in_pu, p_pu = _in("purpose", PURPOSES)
    where = [in_ch, in_pu, "occurred_at >= %s", "occurred_at < %s", "direction = %s"]
    params += [*p_ch, *p_pu, start, end, Direction.OUTBOUND.value]
    second = f"{_epoch('occurred_at')} - {int(t_from)}"
    sql = (
        f"SELECT channel, purpose, {_agg(f'customer_id * {1 << bits} + {second}')} "  # noqa: S608
        f"FROM {source} WHERE {' AND '.join(where)} GROUP BY channel, purpose"
    )
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    parts = []
    for channel, purpose, text in rows:
        packed = _parse(text)
        if audience is not None and audience.scan:
            packed = packed[audience.keep(packed >> bits)]
        packed, count = np.unique(packed, return_counts=True)
        parts.append((packed, count, CHANNELS.index(channel), PURPOSES.index(purpose)))
    if not parts:
        return Contacts.empty()
    packed = np.concatenate([p[0] for p in parts])
    sizes = [len(p[0]) for p in parts]
    return Contacts(
        customer_id=packed >> bits,
        at=(packed & ((1 << bits) - 1)) + t_from,
        channel=np.repeat(np.array([p[2] for p in parts], dtype=np.int8), sizes),
        purpose=np.repeat(np.array([p[3] for p in parts], dtype=np.int8), sizes),
        count=np.concatenate([p[1] for p in parts]).astype(np.int64),
    )


def _consent(
    audience: _Audience | None, channels: list[str] | None, purposes: list[str] | None
) -> Consent:
    """The consent rows that differ from the default, for the channels and purposes asked.

    One query, grouped by channel, purpose and granted (the order of the covering index
    ``consent_state_scan``): per group, one string of customer ids.
    """
    wanted_ch = [c for c in CHANNELS if channels is None or c in channels]
    wanted_pu = [p for p in PURPOSES if purposes is None or p in purposes]
    if (audience is not None and not len(audience.ids)) or not wanted_ch or not wanted_pu:
        return Consent.empty()  # nothing to read (e.g. a portal-only wave names no purpose)
    source, params = _source(ConsentState._meta.db_table, audience)
    # the rows that differ: granted where the default refuses, refused where it allows;
    # channels with the same defaults share a term
    by_defaults: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for c in wanted_ch:
        refused = tuple(p for p in wanted_pu if not allowed_by_default(c, p))
        allowed = tuple(p for p in wanted_pu if allowed_by_default(c, p))
        by_defaults.setdefault((refused, allowed), []).append(c)
    terms = []
    for (refused, allowed), chans in by_defaults.items():
        for granted, group in ((True, refused), (False, allowed)):
            if group:
                in_ch, p_ch = _in("channel", chans)
                in_pu, p_pu = _in("purpose", group)
                terms.append(f"({in_ch} AND {in_pu} AND granted = %s)")
                params += [*p_ch, *p_pu, granted]
    sql = (
        f"SELECT channel, purpose, granted, {_agg('customer_id')} "  # noqa: S608
        f"FROM {source} WHERE ({' OR '.join(terms)}) GROUP BY channel, purpose, granted"
    )
    parts: list[tuple[np.ndarray, int, int, bool]] = []
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        for channel, purpose, granted, text in cursor.fetchall():
            ids = _parse(text)
            if audience is not None and audience.scan:
                ids = ids[audience.keep(ids)]
            parts.append((ids, CHANNELS.index(channel), PURPOSES.index(purpose), bool(granted)))
    if not parts:
        return Consent.empty()
    sizes = [len(p[0]) for p in parts]
    return Consent(
        customer_id=np.concatenate([p[0] for p in parts]),
        channel=np.repeat(np.array([p[1] for p in parts], dtype=np.int8), sizes),
        purpose=np.repeat(np.array([p[2] for p in parts], dtype=np.int8), sizes),
        granted=np.repeat(np.array([p[3] for p in parts], dtype=bool), sizes),
    )


def _suppressed(audience: _Audience | None, at: datetime) -> Suppressed:
    """The suppressions active at ``at`` (several rows per customer allowed): not lifted and
    not expired (a do-not-disturb entry that ends before the planned period suppresses none
    of it)."""
    if audience is not None and not len(audience.ids):
        return Suppressed.empty()
    source, params = _source(Suppression._meta.db_table, audience)
    sql = (
        f"SELECT customer_id, reason FROM {source} WHERE lifted_at IS NULL "  # noqa: S608
        "AND (expires_at IS NULL OR expires_at > %s)"
    )
    with default_connection.cursor() as cursor:
        cursor.execute(sql, [*params, default_connection.ops.adapt_datetimefield_value(at)])
        rows = [(c, SUPPRESSION_REASONS.index(r)) for c, r in cursor.fetchall()]
    a = np.array(rows, dtype=np.int64).reshape(len(rows), 2)
    if audience is not None and audience.scan:
        a = a[audience.keep(a[:, 0])]
    return Suppressed(customer_id=a[:, 0].copy(), reason=a[:, 1].astype(np.int8))
