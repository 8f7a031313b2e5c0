"""Loading the contact policy's inputs from the database, set-based.

:func:`policy_inputs` reads everything :func:`yiti.engagement.policy.evaluate` needs besides the
candidates, in five queries whatever the audience size: the active rules, the active quiet
hours, the history, the consent rows and the active suppressions. The audience is a queryset of
customer ids used as a subquery (``customer_id IN (SELECT …)``), never a list of ids.

* History counts *outbound* interactions only (contacts Yiti made, whatever their outcome: an
  unanswered call disturbs too); contacts the customer started do not add to pressure. It is
  aggregated in SQL per customer, local day, channel and purpose, over the days any window of
  the longest rule around the planned period can reach.
* Consent: only the rows that differ from the default are read — granted marketing (or
  sales) rows, and refused service or care rows; a missing row means the default (marketing
  not consented, service and care allowed), so the engine decides the same as with every row.
* Suppressions: the active rows (``lifted_at`` null), any reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection as default_connection
from django.db.models import Case, Count, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable

from yiti.customers.models import ConsentState, Customer
from yiti.engagement.choices import Direction
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.engagement.policy import (
    CHANNELS,
    DAY,
    DEFAULT_ALLOWED,
    PURPOSES,
    SUPPRESSION_REASONS,
    Consent,
    Contacts,
    Quiet,
    Rule,
    Suppressed,
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


def rules_active() -> list[Rule]:
    """The active contact caps, in id order (the order ``cap:<rule>`` reasons are chosen in)."""
    return [
        Rule(
            name=r.name,
            max_contacts=r.max_contacts,
            window_days=r.window_days,
            purposes=frozenset(r.purposes or ()),
            channels=frozenset(r.channels or ()),
            weights={str(k): float(v) for k, v in (r.weights or {}).items()},
        )
        for r in ContactPolicyRule.objects.filter(active=True).order_by("id")
    ]


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
    customers: QuerySet[Any] | None,
    first: datetime,
    last: datetime,
    channels: list[str] | None = None,
    purposes: list[str] | None = None,
) -> PolicyInputs:
    """Load the policy inputs for the audience ``customers`` planned between ``first`` and ``last``.

    ``customers`` is a ``Customer`` queryset or a one-column ``values(...)`` queryset of
    customer ids (e.g. a segment's or a wave's audience), used as a subquery. ``None`` reads the
    rows of every customer: for an audience that is most of the book it is faster than the
    subquery (SQLite probes the customer table once per history row), and the engine ignores
    the customers it has no candidate for. ``channels`` and ``purposes`` (of the candidates)
    narrow the consent rows read; by default all.
    """
    ids = _id_subquery(customers)
    offset = utc_offset(first)
    rules = rules_active()
    quiet = quiet_active()
    history = Contacts.empty()
    if rules:
        longest = max(r.window_days for r in rules)
        day_from = (int(first.timestamp()) + offset) // DAY - longest + 1
        day_to = (int(last.timestamp()) + offset) // DAY + longest  # exclusive
        history = _history(ids, day_from, day_to, offset)
    return PolicyInputs(
        history=history,
        rules=rules,
        quiet=quiet,
        consent=_consent(ids, channels, purposes),
        suppressed=_suppressed(ids),
        utc_offset=offset,
    )


def _id_subquery(customers: QuerySet[Any] | None) -> QuerySet[Any] | None:
    if customers is None:
        return None
    if customers.model is Customer and customers.query.values_select == ():
        return customers.order_by().values("pk")
    return customers.order_by()


class _LocalDay(Func):
    """The local day number (days since 1970-01-01) of a datetime, ``utc_offset`` east."""

    output_field = IntegerField()

    def __init__(self, expression: Combinable | str, utc_offset: int) -> None:
        super().__init__(expression)
        self.utc_offset = int(utc_offset)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=f"((CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) + {self.utc_offset}) "
            f"/ {DAY})",
            **extra_context,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=f"FLOOR((EXTRACT(EPOCH FROM %(expressions)s) + {self.utc_offset}) / {DAY})"
            "::bigint",
            **extra_context,
        )


def _code(field: str, vocabulary: tuple[str, ...]) -> Case:
    """A SQL CASE giving the index of ``field``'s value in ``vocabulary`` (-1 when not in it)."""
    return Case(
        *(When(**{field: v}, then=Value(i)) for i, v in enumerate(vocabulary)),
        default=Value(-1),
        output_field=IntegerField(),
    )


def _fetch(qs: QuerySet[Any], columns: int) -> np.ndarray:
    """Rows of an all-integer ``values_list`` queryset as an int64 array, through the cursor."""
    sql, params = qs.query.sql_with_params()
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.zeros((0, columns), dtype=np.int64)
    return np.array(rows, dtype=np.int64).reshape(len(rows), columns)


def _history(ids: QuerySet[Any] | None, day_from: int, day_to: int, offset: int) -> Contacts:
    start = datetime.fromtimestamp(day_from * DAY - offset, tz=UTC)
    end = datetime.fromtimestamp(day_to * DAY - offset, tz=UTC)
    window = Interaction.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, direction=Direction.OUTBOUND
    )
    if ids is not None:
        window = window.filter(customer_id__in=ids)
    qs = (
        window.annotate(
            day=_LocalDay(F("occurred_at"), offset),
            ch=_code("channel", CHANNELS),
            pu=_code("purpose", PURPOSES),
        )
        .order_by()
        .values_list("customer_id", "day", "ch", "pu")
        .annotate(n=Count("*"))
    )
    a = _fetch(qs, 5)
    return Contacts(
        customer_id=a[:, 0].copy(),
        day=a[:, 1].copy(),
        channel=a[:, 2].astype(np.int8),
        purpose=a[:, 3].astype(np.int8),
        count=a[:, 4].copy(),
    )


def _consent(
    ids: QuerySet[Any] | None, channels: list[str] | None, purposes: list[str] | None
) -> Consent:
    if channels == [] or purposes == []:  # nothing to read (e.g. a portal-only wave)
        return Consent.empty()
    allowed = list(DEFAULT_ALLOWED)
    qs = ConsentState.objects.all()
    if ids is not None:
        qs = qs.filter(customer_id__in=ids)
    qs = qs.filter(
        Q(purpose__in=allowed, granted=False) | (~Q(purpose__in=allowed) & Q(granted=True))
    )
    if channels is not None:
        qs = qs.filter(channel__in=channels)
    if purposes is not None:
        qs = qs.filter(purpose__in=purposes)
    qs = qs.order_by().values_list(
        "customer_id",
        _code("channel", CHANNELS),
        _code("purpose", PURPOSES),
        Case(When(granted=True, then=Value(1)), default=Value(0), output_field=IntegerField()),
    )
    a = _fetch(qs, 4)
    return Consent(
        customer_id=a[:, 0].copy(),
        channel=a[:, 1].astype(np.int8),
        purpose=a[:, 2].astype(np.int8),
        granted=a[:, 3].astype(bool),
    )


def _suppressed(ids: QuerySet[Any] | None) -> Suppressed:
    qs = Suppression.objects.filter(lifted_at__isnull=True)
    if ids is not None:
        qs = qs.filter(customer_id__in=ids)
    qs = qs.order_by().values_list("customer_id", _code("reason", SUPPRESSION_REASONS))
    a = _fetch(qs, 2)
    return Suppressed(customer_id=a[:, 0].copy(), reason=a[:, 1].astype(np.int8))
