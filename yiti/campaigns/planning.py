"""Planning a wave: who gets which contact on which channel, and why the others do not.

Set-based from end to end, with a number of queries that does not depend on the audience:

1. **Audience** — the wave's customers: the campaign's segment within its participating
   units, or an outcome of an earlier wave (not responded, not reached, declined, not
   opened). One query reads the ids (and the units for a call wave); narrow queries that
   indexes answer read only the columns the wave needs (who has no e-mail address or phone,
   account managers, eligibility for the offer, lifetime values), joined in numpy.
2. **Policy inputs** — ``engagement.policy_data.policy_inputs`` (rules, quiet hours, contact
   history, consent, suppressions; five queries).
3. **Competition** — one query per competing wave reads the contacts other waves hold for
   these customers (two integers a row). Contacts of waves not yet sending are *candidates*
   again: arbitration may take their place if this wave's contact ranks higher; contacts of
   waves already sending are fixed and only count towards the caps.
4. **Channel** — each customer gets the first of the wave's channels he can be reached on
   (an address on file) and has consented to as the engine judges it (the portal inbox needs
   no recorded opt-in, ADR 0006 §4); a follow-up wave sends customers worth at least
   ``visit_min_value`` to their account manager as a visit instead.
5. **Policy** — ``engagement.policy.evaluate`` decides every candidate with one reason.
   A call wave keeps its best candidates up to its capacity (``capacity`` for the rest) and
   is decided again without the rest, so that competitors are not displaced by calls that
   will never be made; the calls are split among the agents of each customer's territory,
   best expected value first. A competing call wave whose contacts arbitration revives is
   held to its capacity the same way (the room its planned calls outside this audience leave)
   and its calls are ranked and dealt again when written.
6. **Writes** (unless ``dry_run``) — one bulk insert of the wave's deliveries (planned, or
   excluded for a reason another plan may undo: ``lost_arbitration:``, ``cap:``), the final
   exclusions packed per reason (``campaigns.exclusions``: a hundred rows for a million
   customers), one bulk update of the competitors whose reason changed (keyed by wave and
   customer), the wave's summary, one audit event.

Expected value of a contact: the campaign's expected take-up × (the offer's margin + the
customer's lifetime value from the value model, 0 when not scored). Arbitration keeps the
highest priority × expected value.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns import exclusions, holdout, segments
from yiti.campaigns.choices import (
    ACTIVE_STATUSES,
    CONTACTED_STATUSES,
    NOT_REACHED_OUTCOMES,
    AgentRole,
    CallOutcome,
    CampaignStatus,
    DeliveryStatus,
    ResponseKind,
    WaveChannel,
    WaveKind,
    WaveSource,
    WaveStatus,
)
from yiti.campaigns.models import Campaign, Delivery, PlanExclusion, Wave
from yiti.campaigns.rules import require_manage
from yiti.core.arrays import int_rows, int_rows_sql
from yiti.core.audit import audit_record
from yiti.core.bulk import insert_rows, update_rows
from yiti.core.errors import ValidationFailed
from yiti.customers.choices import Channel as ConsentChannel
from yiti.customers.models import Customer, CustomerValue
from yiti.engagement.choices import InteractionPurpose
from yiti.engagement.policy import (
    CHANNELS,
    PURPOSES,
    Candidates,
    Consent,
    Contacts,
    Rule,
    consented,
    evaluate,
)
from yiti.engagement.policy_data import PolicyInputs, policy_inputs, rules_active
from yiti.org.models import Membership, OrgUnit, User

MARKETING = PURPOSES.index(InteractionPurpose.MARKETING.value)
NO_CONTACT_POINT = "no_contact_point"
NOT_ELIGIBLE = "not_eligible"
CAPACITY = "capacity"
MAX_CUT_ROUNDS = 4  # decisions again after cutting call lists to their capacity
WRITE_BATCH = 100_000
# exclusions that planning another wave may undo: they stay delivery rows (``delivery_held``)
HELD_HEADS = ("lost_arbitration:", "cap:")
EV_SCALE = 10_000  # expected values are kept to 4 decimals
_I64 = np.int64
# an audience below this share of the book has its columns read through its own query
SMALL_SHARE = 0.05

# which address a channel needs: column index in the audience array (or None: always reachable)
_EMAIL, _PHONE = "email", "phone"
ADDRESS = {
    WaveChannel.EMAIL: _EMAIL,
    WaveChannel.SMS: _PHONE,
    WaveChannel.CALL: _PHONE,
    WaveChannel.PUSH: None,
    WaveChannel.PORTAL: None,
    WaveChannel.VISIT: None,
}


# --- the audience ----------------------------------------------------------------------------


@dataclass
class Audience:
    """The wave's customers as columns (sorted by id)."""

    ids: np.ndarray
    unit: np.ndarray
    owner: np.ndarray  # 0 when none
    has_email: np.ndarray
    has_phone: np.ndarray
    eligible: np.ndarray
    clv: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def _outcome_q(source: str, kind: str) -> Q:
    """Deliveries of an earlier wave with this outcome."""
    contacted = Q(status__in=CONTACTED_STATUSES)
    if source == WaveSource.NOT_RESPONDED:
        return contacted & Q(responded_at__isnull=True, converted_at__isnull=True)
    if source == WaveSource.NOT_OPENED:
        return contacted & Q(opened_at__isnull=True, responded_at__isnull=True)
    if source == WaveSource.DECLINED:
        return Q(response=ResponseKind.DECLINED) | Q(outcome=CallOutcome.DECLINED)
    # not reached: a call or visit that never got through (or was never made), a message the
    # channel could not deliver
    kept = ~Q(status__in=(DeliveryStatus.EXCLUDED,))
    if kind in (WaveKind.CALL,):
        return kept & (Q(outcome="") | Q(outcome__in=NOT_REACHED_OUTCOMES))
    return kept & (
        Q(status__in=(DeliveryStatus.FAILED, DeliveryStatus.REJECTED))
        | (
            Q(channel__in=(WaveChannel.CALL, WaveChannel.VISIT))
            & (Q(outcome="") | Q(outcome__in=NOT_REACHED_OUTCOMES))
        )
    )


def audience_queryset(wave: Wave) -> QuerySet[Customer]:
    """The customers the wave addresses (before eligibility and the contact policy)."""
    campaign = wave.campaign
    if wave.source == WaveSource.AUDIENCE:
        unit_ids = list(campaign.participating_units.values_list("pk", flat=True))
        return segments.audience(campaign.segment.rules, unit_ids=unit_ids)
    source = wave.source_wave
    assert source is not None
    picked = Delivery.objects.filter(wave=source).filter(_outcome_q(wave.source, source.kind))
    return Customer.objects.filter(
        pk__in=picked.order_by().values("customer_id"), status="active"
    ).order_by()


def _load_audience(wave: Wave) -> Audience:
    """The audience's columns, each read only when the wave needs it.

    The ids come from the audience query (the covering index on status, unit and id serves a
    segment over units); the other columns from narrow queries that an index answers without
    reading customers' rows — customers without an e-mail address or a phone (partial
    indexes), account managers (the owner index), lifetime values (the value table) — joined
    to the ids in numpy. Reading a million customers' rows for these columns cost several
    seconds on SQLite; these queries cost a fraction of a second.
    """
    qs = audience_queryset(wave)
    calls = wave.kind == WaveKind.CALL
    owners_needed = (calls and wave.agent_role == AgentRole.ACCOUNT_MANAGER) or (
        wave.kind == WaveKind.FOLLOW_UP and wave.visit_min_value is not None
    )
    if calls:  # the territory deals the calls to its agents
        a = int_rows(qs.values_list("pk", "unit_id").order_by(), 2)
        a = a[np.argsort(a[:, 0], kind="stable")]
        ids, unit = a[:, 0].copy(), a[:, 1].copy()
    else:
        ids = np.sort(int_rows(qs.values_list("pk").order_by(), 1)[:, 0])
        unit = np.zeros(len(ids), dtype=_I64)
    n = len(ids)
    small = n < SMALL_SHARE * Customer.objects.order_by().count()
    needs = {ADDRESS[c] for c in wave.channels if c in ADDRESS}
    has_email = np.ones(n, dtype=bool)
    has_phone = np.ones(n, dtype=bool)
    if n and _EMAIL in needs:
        has_email = ~_member(
            ids, _ids_of(Customer.objects.filter(primary_email=""), qs if small else None)
        )
    if n and _PHONE in needs:
        has_phone = ~_member(
            ids, _ids_of(Customer.objects.filter(primary_phone=""), qs if small else None)
        )
    eligible = np.ones(n, dtype=bool)
    offer = wave.offer
    if n and offer is not None and offer.eligibility.get("conditions"):
        eligible = _member(ids, _ids_of(qs.filter(segments.rules_q(offer.eligibility)), None))
    owner = np.zeros(n, dtype=_I64)
    if n and owners_needed:
        pairs = _pairs(
            Customer.objects.filter(owner__isnull=False), "owner_id", qs if small else None
        )
        owner = _lookup(ids, pairs, 0)
    clv = np.zeros(n, dtype=np.float64)
    if n:
        # in fen (cents): the rows travel as integers (``core.arrays.int_rows``)
        pairs = _pairs(
            CustomerValue.objects.all(),
            Round(F("clv") * Value(100.0)),
            qs if small else None,
            key="customer_id",
        )
        clv = _lookup(ids, pairs, 0) / 100.0
    return Audience(
        ids=ids,
        unit=unit,
        owner=owner,
        has_email=has_email,
        has_phone=has_phone,
        eligible=eligible,
        clv=clv,
    )


def _ids_of(rows: QuerySet[Any], audience: QuerySet[Customer] | None) -> np.ndarray:
    """The sorted customer ids of ``rows``, restricted to ``audience`` when given (a small
    audience is read through its query, a large one from the whole book's index)."""
    if audience is not None:
        rows = rows.filter(pk__in=audience.values("pk"))
    return np.sort(int_rows(rows.values_list("pk").order_by(), 1)[:, 0])


def _pairs(
    rows: QuerySet[Any],
    value: Any,
    audience: QuerySet[Customer] | None,
    *,
    key: str = "pk",
) -> np.ndarray:
    """``(customer id, integer value)`` rows sorted by id, restricted to ``audience`` when
    given."""
    if audience is not None:
        rows = rows.filter(**{f"{key}__in": audience.values("pk")})
    expression = F(value) if isinstance(value, str) else value
    a = int_rows(rows.annotate(_v=expression).values_list(key, "_v").order_by(), 2)
    return a[np.argsort(a[:, 0], kind="stable")]


def _member(ids: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """For each of ``ids``: whether it is in ``sorted_values``."""
    if not len(sorted_values):
        return np.zeros(len(ids), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_values, ids), len(sorted_values) - 1)
    return sorted_values[pos] == ids


def _lookup(ids: np.ndarray, pairs: np.ndarray, default: int) -> np.ndarray:
    """For each of ``ids``: the value of its row in ``pairs`` (sorted by id), or ``default``."""
    out = np.full(len(ids), default, dtype=_I64)
    if not len(pairs):
        return out
    pos = np.minimum(np.searchsorted(pairs[:, 0], ids), len(pairs) - 1)
    found = pairs[pos, 0] == ids
    out[found] = pairs[pos[found], 1]
    return out


# --- competing contacts ----------------------------------------------------------------------

# a competitor's row packs customer id << _PACK | channel code << _REASON_BITS | reason code
_REASON_BITS = 8
_PACK = _REASON_BITS + 4
_NO_CHANNEL = 15  # a channel the policy does not know
_OTHER_CAP, _OTHER_LOST = 254, 255  # excluded for a cap or an arbitration not in the vocabulary


def _held_sql() -> str:
    """The condition of the partial index ``delivery_held`` (``Delivery.Meta``) as Django
    writes it for each database: a database uses a partial index only for a query that
    states its condition with the same literals (``tests/campaigns/test_planning.py``
    checks that SQLite's plan uses it)."""
    if connection.vendor == "postgresql":
        return (
            "(\"status\" = 'planned' OR \"reason\"::text LIKE E'lost\\\\_arbitration:%%' "
            "OR \"reason\"::text LIKE 'cap:%%')"
        )
    return (
        "(\"status\" = 'planned' OR \"reason\" LIKE 'lost\\_arbitration:%%' ESCAPE '\\' "
        "OR \"reason\" LIKE 'cap:%%' ESCAPE '\\')"
    )


@dataclass
class Competing:
    """The contacts other waves hold or wanted for this wave's customers, whatever their day.

    ``movable`` ones belong to waves not yet sending: planned, or excluded by arbitration or a
    cap — they are decided again together with this wave, so that the result is the same as
    if every wave had been planned at once. The others are planned contacts of waves already
    sending: fixed, they only count towards the caps.
    """

    customer_id: np.ndarray
    campaign_id: np.ndarray
    wave_id: np.ndarray
    channel: np.ndarray
    planned_at: np.ndarray
    priority: np.ndarray
    expected_value: np.ndarray
    movable: np.ndarray
    reason: np.ndarray  # index into ``vocabulary`` (0: planned), or _OTHER_CAP / _OTHER_LOST
    vocabulary: list[str]
    # per movable call wave: the calls its capacity leaves for these customers (its capacity
    # less its planned calls to customers outside this audience)
    room: dict[int, int] = field(default_factory=dict)


def _load_competing(wave: Wave, ids: np.ndarray, rules: Sequence[Rule]) -> Competing:
    """The contacts other waves of active campaigns hold or wanted: one small query for the
    competing waves, then one per wave for its contacts.

    What is the same for all of a wave's contacts — campaign, priority, time (a planned
    wave's deliveries are all planned for its ``scheduled_at``: changing it drops the plan),
    whether it is movable — comes from the wave. Each row is two integers: the customer, the
    channel and the current reason packed into one (the reason as an index into
    ``Competing.vocabulary``, so that only contacts whose reason changes are written), and
    the expected value. The number of queries grows with the competing waves, never with the
    audience.
    """
    waves = list(
        Wave.objects.filter(
            campaign__status__in=ACTIVE_STATUSES,
            status__in=(WaveStatus.DRAFT, WaveStatus.PLANNED, WaveStatus.SENDING),
        )
        .exclude(pk=wave.pk)
        .order_by("pk")
        .values_list(
            "pk",
            "campaign_id",
            "campaign__priority",
            "status",
            "scheduled_at",
            "kind",
            "agents",
            "hours",
            "calls_per_agent_hour",
        )
    )
    capacity = {
        w[0]: int(w[6] * w[7] * w[8])
        for w in waves
        if w[5] == WaveKind.CALL and w[3] != WaveStatus.SENDING
    }
    planned_total: dict[int, int] = {}
    if capacity:  # one query for every capacity-bound competitor
        planned_total = dict(
            Delivery.objects.filter(wave_id__in=list(capacity), status=DeliveryStatus.PLANNED)
            .order_by()
            .values("wave_id")
            .annotate(n=Count("pk"))
            .values_list("wave_id", "n")
        )
    campaigns = sorted({w[1] for w in waves} | {wave.campaign_id})
    vocabulary = ["", *(f"lost_arbitration:{c}" for c in campaigns)]
    vocabulary += [f"cap:{rule.name}" for rule in rules]
    vocabulary = vocabulary[:_OTHER_CAP]
    channel_code = " ".join(f"WHEN %s THEN {i}" for i in range(len(CHANNELS)))
    reason_code = " ".join(f"WHEN reason = %s THEN {i}" for i in range(1, len(vocabulary)))
    # identifiers and numbers from code; every value is a parameter
    select = (
        f"SELECT customer_id * {1 << _PACK}"  # noqa: S608
        f" + (CASE channel {channel_code} ELSE {_NO_CHANNEL} END) * {1 << _REASON_BITS}"
        f" + (CASE WHEN status = 'planned' THEN 0 {reason_code}"
        f" WHEN reason LIKE 'cap:%%' THEN {_OTHER_CAP} ELSE {_OTHER_LOST} END),"
        f" ROUND(expected_value * {EV_SCALE}) FROM {Delivery._meta.db_table}"
    )
    select_params = [*CHANNELS, *vocabulary[1:]]
    parts = []
    room: dict[int, int] = {}
    for wave_id, campaign_id, priority, status, scheduled_at, *_size in waves:
        movable = status != WaveStatus.SENDING
        sql = f"{select} WHERE wave_id = %s AND {_held_sql()}"
        if not movable:
            sql += " AND status = 'planned'"
        a = int_rows_sql(sql, [*select_params, wave_id], 2)
        customer = a[:, 0] >> _PACK
        channel = (a[:, 0] >> _REASON_BITS) & ((1 << (_PACK - _REASON_BITS)) - 1)
        keep = _member(customer, ids) & (channel != _NO_CHANNEL)
        k = int(keep.sum())
        if wave_id in capacity:
            here = int(np.count_nonzero(keep & ((a[:, 0] & ((1 << _REASON_BITS) - 1)) == 0)))
            room[wave_id] = max(0, capacity[wave_id] - (planned_total.get(wave_id, 0) - here))
        if not k:
            continue
        parts.append(
            (
                customer[keep],
                np.full(k, campaign_id, dtype=_I64),
                np.full(k, wave_id, dtype=_I64),
                channel[keep].astype(np.int8),
                np.full(k, int(scheduled_at.timestamp()), dtype=_I64),
                np.full(k, float(priority)),
                a[keep, 1] / EV_SCALE,
                np.full(k, movable, dtype=bool),
                (a[keep, 0] & ((1 << _REASON_BITS) - 1)).astype(np.int16),
            )
        )
    if parts:
        cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    else:
        cols = [np.zeros(0, dtype=t) for t in (_I64, _I64, _I64, np.int8, _I64, float, float)]
        cols += [np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int16)]
    return Competing(
        customer_id=cols[0],
        campaign_id=cols[1],
        wave_id=cols[2],
        channel=cols[3],
        planned_at=cols[4],
        priority=cols[5],
        expected_value=cols[6],
        movable=cols[7],
        reason=cols[8],
        vocabulary=vocabulary,
        room=room,
    )


# --- channels --------------------------------------------------------------------------------


def _choose_channels(
    wave: Wave, audience: Audience, consent: Consent
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer the chosen channel code (or -1: no address on any channel) and whether a
    visit replaces it (follow-up waves with a value threshold).

    ADR 0006 §4: the first of the wave's channels, in its order, with an address on file and
    a marketing consent as the engine judges it (``policy.consented``: a consent row decides,
    else the default — the portal inbox needs no recorded opt-in). A customer with no such
    channel gets the first reachable one, for which the policy will say ``opted_out``. One
    vectorised pass per channel of the wave."""
    n = len(audience)
    chosen = np.full(n, -1, dtype=np.int16)
    channels = [c for c in wave.channels if c in ADDRESS]
    reachable = {}
    for channel in channels:
        need = ADDRESS[channel]
        reachable[channel] = (
            audience.has_email
            if need == _EMAIL
            else audience.has_phone
            if need == _PHONE
            else np.ones(n, dtype=bool)
        )
    marketing = np.full(n, MARKETING, dtype=np.int8)
    for channel in channels:  # first: reachable and consented
        code = CHANNELS.index(channel)
        open_ = np.flatnonzero((chosen < 0) & reachable[channel])
        if not len(open_):
            continue
        agreed = consented(
            audience.ids[open_], np.full(len(open_), code, dtype=np.int8), marketing[open_], consent
        )
        chosen[open_[agreed]] = code
    for channel in channels:  # then: reachable (the policy will say opted_out)
        take = (chosen < 0) & reachable[channel]
        chosen[take] = CHANNELS.index(channel)
    visit = np.zeros(n, dtype=bool)
    if wave.kind == WaveKind.FOLLOW_UP and wave.visit_min_value is not None:
        visit = (audience.clv >= float(wave.visit_min_value)) & (audience.owner > 0)
        chosen[visit] = CHANNELS.index(WaveChannel.VISIT)
    return chosen, visit


# --- the plan --------------------------------------------------------------------------------


@dataclass
class PlanResult:
    """The outcome of planning one wave (what ``plan --dry-run --json`` prints)."""

    campaign: str
    wave: int
    dry_run: bool
    audience: int = 0
    planned: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    displaced: dict[str, int] = field(default_factory=dict)
    revived: dict[str, int] = field(default_factory=dict)
    capacity: int | None = None
    assigned: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    holdout_seed: int | None = None  # recorded on the wave when it holds out a share

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "wave": self.wave,
            "dry_run": self.dry_run,
            "audience": self.audience,
            "outcomes": {"planned": self.planned, "excluded": sum(self.excluded.values())},
            "excluded": dict(sorted(self.excluded.items())),
            "channels": dict(sorted(self.channels.items())),
            "displaced": dict(sorted(self.displaced.items())),
            "revived": dict(sorted(self.revived.items())),
            "capacity": self.capacity,
            "assigned": dict(sorted(self.assigned.items())),
            "seconds": round(self.seconds, 3),
        }


def _offer_margin(wave: Wave) -> float:
    offer = wave.offer or wave.campaign.offers.select_related("product").first()
    if offer is None:
        return 0.0
    product = offer.product
    return float(Decimal(product.price) * Decimal(product.margin_rate))


def _agents_by_unit(role: str, unit_ids: np.ndarray) -> dict[int, list[int]]:
    """Per customer unit: the users holding ``role`` in it or a unit above it (sorted by id)."""
    units = {u.pk: u.path for u in OrgUnit.objects.filter(pk__in=np.unique(unit_ids).tolist())}
    ancestors = {
        uid: [int(p) for p in path.strip("/").split("/") if p] for uid, path in units.items()
    }
    every = sorted({a for chain_ in ancestors.values() for a in chain_})
    holders: dict[int, set[int]] = {}
    for user_id, unit_id in (
        Membership.objects.current()
        .filter(role=role, unit_id__in=every, user__is_active=True)
        .values_list("user_id", "unit_id")
    ):
        holders.setdefault(unit_id, set()).add(user_id)
    return {
        uid: sorted(set().union(*(holders.get(a, set()) for a in chain_)))
        for uid, chain_ in ancestors.items()
    }


def _assign(
    role: str, unit: np.ndarray, owner: np.ndarray, ev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Agents and ranks for the kept calls: best expected value first, each territory's calls
    dealt round-robin to its agents (the customer's own account manager for account-manager
    waves). Returns (assignee or 0, rank from 1)."""
    n = len(unit)
    rank = np.empty(n, dtype=_I64)
    rank[np.lexsort((np.arange(n), -ev))] = np.arange(1, n + 1)
    assignee = np.zeros(n, dtype=_I64)
    if not n:
        return assignee, rank
    agents = _agents_by_unit(role, unit)
    order = np.lexsort((rank, unit))
    u_sorted = unit[order]
    starts = np.flatnonzero(np.r_[True, u_sorted[1:] != u_sorted[:-1]])
    ends = np.r_[starts[1:], n]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        pool = agents.get(int(u_sorted[s]), [])
        if pool:
            idx = order[s:e]
            assignee[idx] = np.asarray(pool, dtype=_I64)[np.arange(e - s) % len(pool)]
    if role == AgentRole.ACCOUNT_MANAGER:
        own = owner > 0
        assignee[own] = owner[own]
    return assignee, rank


def _deal_again(wave_id: int) -> None:
    """Rank and deal the planned calls of call wave ``wave_id`` again, as its own planning
    does (best expected value first, round-robin among each territory's agents), after
    planning another wave revived or displaced some of them; its other contacts have no rank
    and no assignee. A query for the calls, one for the agents, the updates."""
    wave = Wave.objects.only("pk", "agent_role").get(pk=wave_id)
    a = int_rows(
        Delivery.objects.filter(wave_id=wave_id, status=DeliveryStatus.PLANNED)
        .order_by()
        .values_list(
            "pk",
            "customer_id",
            "customer__unit_id",
            "customer__owner_id",
            Round(F("expected_value") * Value(float(EV_SCALE))),
        ),
        5,
    )
    a = a[np.argsort(a[:, 1], kind="stable")]  # by customer, as planning holds them
    assignee, rank = _assign(
        wave.agent_role or AgentRole.SERVICE_AGENT, a[:, 2], a[:, 3], a[:, 4] / EV_SCALE
    )
    Delivery.objects.filter(wave_id=wave_id).exclude(status=DeliveryStatus.PLANNED).exclude(
        rank=0, assignee__isnull=True
    ).update(rank=0, assignee=None)
    update_rows(
        Delivery,
        ("rank", "assignee"),
        zip(rank.tolist(), [x or None for x in assignee.tolist()], a[:, 0].tolist(), strict=True),
        batch_size=WRITE_BATCH,
    )


def wave_plan(
    *, actor: User | None, wave: Wave, dry_run: bool = False, now: datetime | None = None
) -> PlanResult:
    """Plan ``wave`` (see the module docstring); with ``dry_run`` nothing is written."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    lap = [started]

    def mark(name: str) -> None:
        t = time.perf_counter()
        phases[name] = round(t - lap[0], 4)
        lap[0] = t

    wave = Wave.objects.select_related(
        "campaign", "campaign__segment", "offer", "offer__product", "source_wave"
    ).get(pk=wave.pk)
    campaign = wave.campaign
    require_manage(actor, campaign)
    _check_plannable(wave, dry_run=dry_run)
    result = PlanResult(campaign=campaign.code, wave=wave.number, dry_run=dry_run)

    audience = _load_audience(wave)
    result.audience = n = len(audience)
    mark("audience")
    competing = _load_competing(wave, audience.ids, rules_active())
    mark("competing")
    at = int(wave.scheduled_at.timestamp())
    times = np.r_[at, competing.planned_at]
    first = datetime.fromtimestamp(int(times.min()), tz=UTC)
    last = datetime.fromtimestamp(int(times.max()), tz=UTC)
    # consent of this wave's channels and of every competitor's (they are decided again)
    wanted = {*wave.channels, *(CHANNELS[c] for c in np.unique(competing.channel).tolist())}
    if wave.visit_min_value is not None:
        wanted.add(WaveChannel.VISIT)
    consent_channels = sorted(c for c in wanted if c in ConsentChannel.values)
    inputs: PolicyInputs = policy_inputs(
        customers=audience.ids,
        first=first,
        last=last,
        channels=consent_channels,
        purposes=[InteractionPurpose.MARKETING.value],
    )
    mark("policy_inputs")

    channel, _visit = _choose_channels(wave, audience, inputs.consent)
    ev = np.round(float(campaign.expected_take_up) * (_offer_margin(wave) + audience.clv), 4)
    # every customer's decision as a code into ``labels`` (0: planned); no string per customer
    labels: list[str] = ["", NOT_ELIGIBLE, NO_CONTACT_POINT, CAPACITY]
    code = np.zeros(n, dtype=np.int32)
    code[~audience.eligible] = 1
    code[audience.eligible & (channel < 0)] = 2
    mine = np.flatnonzero(code == 0)
    # the control group: a seeded random share of the eligible, reachable customers
    # (``campaigns.holdout``), drawn before the contact policy so that both groups face it
    result.holdout_seed = wave.holdout_seed
    if wave.holdout_share and wave.holdout_share > 0:
        if result.holdout_seed is None:
            result.holdout_seed = holdout.new_seed()
        held = holdout.held_out(audience.ids[mine], wave.holdout_share, result.holdout_seed)
        code[mine[held]] = _label_code(labels, holdout.REASON)
        mine = mine[~held]
    mark("channels")

    movable = np.flatnonzero(competing.movable)
    fixed = np.flatnonzero(~competing.movable)
    planned_fixed = Contacts.each(
        customer_id=competing.customer_id[fixed],
        at=competing.planned_at[fixed],
        channel=competing.channel[fixed],
        purpose=np.full(len(fixed), MARKETING, dtype=np.int8),
    )

    def decide(
        keep_mine: np.ndarray, comp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The reasons of this wave's candidates ``keep_mine`` (codes into ``labels``, 0 when
        kept) and of the movable competitors ``movable[comp]`` (codes into the returned
        vocabulary)."""
        k, m = len(keep_mine), movable[comp]
        cands = Candidates(
            customer_id=np.concatenate([audience.ids[keep_mine], competing.customer_id[m]]),
            campaign_id=np.concatenate(
                [np.full(k, campaign.pk, dtype=_I64), competing.campaign_id[m]]
            ),
            wave_id=np.concatenate([np.full(k, wave.pk, dtype=_I64), competing.wave_id[m]]),
            channel=np.concatenate([channel[keep_mine].astype(np.int8), competing.channel[m]]),
            purpose=np.full(k + len(m), MARKETING, dtype=np.int8),
            planned_at=np.concatenate([np.full(k, at, dtype=_I64), competing.planned_at[m]]),
            priority=np.concatenate([np.full(k, float(campaign.priority)), competing.priority[m]]),
            expected_value=np.concatenate([ev[keep_mine], competing.expected_value[m]]),
        )
        decision = evaluate(
            cands,
            inputs.history,
            inputs.rules,
            inputs.quiet,
            inputs.consent,
            inputs.suppressed,
            planned=planned_fixed,
            utc_offset=inputs.utc_offset,
        )
        into = np.asarray([_label_code(labels, r) for r in decision.reasons], dtype=np.int32)
        reasons = np.asarray(decision.reasons, dtype=object)
        return into[decision.reason[:k]], decision.reason[k:], reasons

    # Call waves keep their best kept calls up to their capacity (this wave and every movable
    # competitor, whose contacts arbitration may revive); the calls beyond it will not be
    # made, so the policy decides again without them and they take no other campaign's place.
    # Each round only removes candidates; after MAX_CUT_ROUNDS the last cut stands as it is.
    capacity = wave.capacity
    result.capacity = capacity
    within, comp = mine, np.arange(len(movable))
    comp_wave = competing.wave_id[movable]
    comp_ev, comp_cust = competing.expected_value[movable], competing.customer_id[movable]
    cut_comp = np.zeros(len(movable), dtype=bool)
    for round_ in range(MAX_CUT_ROUNDS + 1):
        own_codes, comp_codes, vocabulary = decide(within, comp)
        code[within] = own_codes
        cut_any = False
        if capacity is not None:
            kept = within[own_codes == 0]
            if len(kept) > capacity:
                best = kept[np.lexsort((kept, -ev[kept]))]
                code[best[capacity:]] = labels.index(CAPACITY)
                within = np.sort(best[:capacity])
                cut_any = True
        for wave_id, room in competing.room.items():
            kept = comp[(comp_wave[comp] == wave_id) & (vocabulary[comp_codes] == "")]
            if len(kept) > room:
                best = kept[np.lexsort((comp_cust[kept], -comp_ev[kept]))]
                cut_comp[best[room:]] = True
                cut_any = True
        if not cut_any or round_ == MAX_CUT_ROUNDS:
            break
        comp = np.flatnonzero(~cut_comp)
    # every movable competitor's code into ``vocabulary`` (those cut: ``capacity``)
    vocabulary = np.asarray([*vocabulary.tolist(), CAPACITY], dtype=object)
    competitor_codes = np.full(len(movable), len(vocabulary) - 1, dtype=np.int64)
    still = ~cut_comp[comp]
    competitor_codes[comp[still]] = comp_codes[still]
    mark("policy")

    planned_idx = np.flatnonzero(code == 0)
    assignee = np.zeros(n, dtype=_I64)
    rank = np.zeros(n, dtype=_I64)
    if len(planned_idx):
        if wave.kind == WaveKind.CALL:
            a, r = _assign(
                wave.agent_role or AgentRole.SERVICE_AGENT,
                audience.unit[planned_idx],
                audience.owner[planned_idx],
                ev[planned_idx],
            )
            assignee[planned_idx], rank[planned_idx] = a, r
        else:
            r = np.empty(len(planned_idx), dtype=_I64)
            r[np.lexsort((planned_idx, -ev[planned_idx]))] = np.arange(1, len(planned_idx) + 1)
            rank[planned_idx] = r
        visit_idx = planned_idx[channel[planned_idx] == CHANNELS.index(WaveChannel.VISIT)]
        assignee[visit_idx] = audience.owner[visit_idx]
    mark("assign")

    result.planned = len(planned_idx)
    counts = np.bincount(code, minlength=len(labels)).tolist()
    result.excluded = {labels[i]: k for i, k in enumerate(counts) if i and k}
    result.channels = {CHANNELS[int(c)]: k for c, k in _counts(channel[planned_idx]).items()}
    # competitors whose reason changed: displaced (planned → excluded), revived (excluded →
    # planned) and excluded ones for another reason now; the others stay as they are
    before = competing.reason[movable]
    known = {label: i for i, label in enumerate(vocabulary.tolist())}
    translate = np.asarray(
        [known.get(label, -1) for label in competing.vocabulary]
        + [-1] * (256 - len(competing.vocabulary)),
        dtype=np.int64,
    )
    changed = np.flatnonzero(translate[before] != competitor_codes)
    changed_waves = competing.wave_id[movable][changed]
    changed_customers = competing.customer_id[movable][changed]
    changed_labels = vocabulary[competitor_codes[changed]].astype(str)
    was_planned = before == 0
    now_kept = vocabulary[competitor_codes] == ""
    codes = _campaign_codes(np.unique(competing.campaign_id[movable][changed]))
    camp = competing.campaign_id[movable]
    displaced = was_planned & ~now_kept
    revived = ~was_planned & now_kept
    result.displaced = {codes.get(c, str(c)): k for c, k in _counts(camp[displaced]).items()}
    result.revived = {codes.get(c, str(c)): k for c, k in _counts(camp[revived]).items()}
    if wave.kind == WaveKind.CALL and len(planned_idx):
        users = dict(
            User.objects.filter(pk__in=np.unique(assignee[planned_idx]).tolist()).values_list(
                "pk", "username"
            )
        )
        result.assigned = {
            users.get(c, "—") if c else "—": k for c, k in _counts(assignee[planned_idx]).items()
        }
    mark("summary")

    if not dry_run:
        _write(
            wave,
            audience,
            channel,
            code,
            labels,
            ev,
            rank,
            assignee,
            changed_waves,
            changed_customers,
            changed_labels,
            sorted(set(np.unique(changed_waves).tolist()) & set(competing.room)),
            result,
            actor,
        )
        mark("write")
    result.phases = phases
    result.seconds = time.perf_counter() - started
    return result


def _label_code(labels: list[str], label: str) -> int:
    """The code of ``label`` in ``labels``, added at the end when new."""
    if label not in labels:
        labels.append(label)
    return labels.index(label)


def _counts(values: np.ndarray) -> dict[Any, int]:
    keys, counts = np.unique(values, return_counts=True)
    return {k: int(c) for k, c in zip(keys.tolist(), counts.tolist(), strict=True)}


def _campaign_codes(ids: np.ndarray) -> dict[int, str]:
    if not len(ids):
        return {}
    return dict(Campaign.objects.filter(pk__in=ids.tolist()).values_list("pk", "code"))


def _check_plannable(wave: Wave, *, dry_run: bool) -> None:
    campaign = wave.campaign
    if campaign.status == CampaignStatus.COMPLETED:
        raise ValidationFailed(_("The campaign is completed."), code="completed")
    if wave.status not in (WaveStatus.DRAFT, WaveStatus.PLANNED):
        raise ValidationFailed(
            _("Wave %(n)d is being sent or done; it cannot be planned again.") % {"n": wave.number},
            code="wave_locked",
        )
    if dry_run:
        return
    if campaign.status == CampaignStatus.DRAFT:
        raise ValidationFailed(
            _("Submit the campaign before planning its waves (a dry run is possible now)."),
            code="not_submitted",
        )
    source = wave.source_wave
    if source is not None and source.status != WaveStatus.DONE:
        raise ValidationFailed(
            _("Wave %(n)d addresses the outcome of wave %(s)d, which is not done yet.")
            % {"n": wave.number, "s": source.number},
            code="source_not_done",
        )


def plan_drop(wave: Wave) -> None:
    """Delete the plan of a wave that has not started sending (inside the caller's
    transaction). Such a wave holds no reservations or orders yet: one DELETE without
    Django's collector, which would read every one of a million rows first."""
    stale = Delivery.objects.filter(wave=wave)
    stale._raw_delete(stale.db)
    PlanExclusion.objects.filter(wave=wave).delete()


def _write(
    wave: Wave,
    audience: Audience,
    channel: np.ndarray,
    code: np.ndarray,
    labels: list[str],
    ev: np.ndarray,
    rank: np.ndarray,
    assignee: np.ndarray,
    changed_waves: np.ndarray,
    changed_customers: np.ndarray,
    changed_labels: np.ndarray,
    redeal: list[int],
    result: PlanResult,
    actor: User | None,
) -> None:
    # rows for the contacts that are planned or may be planned again (``HELD_HEADS``); the
    # final exclusions packed (``campaigns.exclusions``)
    final = np.asarray([bool(label) and not label.startswith(HELD_HEADS) for label in labels])
    packed = final[code]
    keep = np.flatnonzero(~packed)
    n = len(keep)
    channel_names = np.asarray([*CHANNELS, ""], dtype=object)
    chan = channel_names[np.where(channel[keep] >= 0, channel[keep], len(CHANNELS))]
    kept_reason = np.asarray(labels, dtype=object)[code[keep]]
    status = np.where(
        kept_reason == "", DeliveryStatus.PLANNED.value, DeliveryStatus.EXCLUDED.value
    )
    columns = (
        "wave",
        "campaign",
        "customer",
        "channel",
        "status",
        "reason",
        "planned_for",
        "expected_value",
        "rank",
        "assignee",
    )
    assignees: list[int | None] = [a or None for a in assignee[keep].tolist()]
    # database parameters already (``insert_rows(ready=True)``): no Python pass per value
    planned_for = connection.ops.adapt_datetimefield_value(wave.scheduled_at)
    rows = list(
        zip(
            [wave.pk] * n,
            [wave.campaign_id] * n,
            audience.ids[keep].tolist(),
            chan.tolist(),
            status.tolist(),
            kept_reason.tolist(),
            [planned_for] * n,
            np.round(ev[keep], 4).tolist(),
            rank[keep].tolist(),
            assignees,
            strict=True,
        )
    )
    with transaction.atomic():
        locked = Wave.objects.select_for_update().get(pk=wave.pk)
        if locked.status not in (WaveStatus.DRAFT, WaveStatus.PLANNED):
            raise ValidationFailed(_("The wave started sending meanwhile."), code="wave_locked")
        plan_drop(wave)
        insert_rows(Delivery, columns, rows, batch_size=WRITE_BATCH, ready=True)
        exclusions.write(wave.pk, audience.ids[packed], code[packed], labels)
        if len(changed_labels):
            now_labels = changed_labels.tolist()
            update_rows(
                Delivery,
                ("status", "reason"),
                zip(
                    [
                        DeliveryStatus.EXCLUDED.value if label else DeliveryStatus.PLANNED.value
                        for label in now_labels
                    ],
                    now_labels,
                    changed_waves.tolist(),
                    changed_customers.tolist(),
                    strict=True,
                ),
                by=("wave", "customer"),
                batch_size=WRITE_BATCH,
            )
        for wave_id in redeal:  # call lists whose calls changed: ranked and dealt again
            _deal_again(wave_id)
        summary = result.as_dict()
        Wave.objects.filter(pk=wave.pk).update(
            status=WaveStatus.PLANNED,
            planned_at=timezone.now(),
            plan_summary=summary,
            holdout_seed=result.holdout_seed,
        )
        audit_record(
            actor=actor,
            action="wave.plan",
            obj=wave,
            changes={
                **{
                    k: summary[k]
                    for k in (
                        "audience",
                        "outcomes",
                        "excluded",
                        "displaced",
                        "revived",
                        "capacity",
                    )
                },
                **({"holdout_seed": result.holdout_seed} if result.holdout_seed else {}),
            },
        )
