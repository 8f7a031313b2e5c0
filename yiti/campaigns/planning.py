"""Planning a wave: who gets which contact on which channel, and why the others do not.

Set-based from end to end, with a number of queries that does not depend on the audience:

1. **Audience** — one query reads the wave's customers as columns (id, unit, account manager,
   whether an e-mail address and a phone are on file, eligibility for the wave's offer,
   lifetime value): the campaign's segment within its participating units, or an outcome of
   an earlier wave (not responded, not reached, declined, not opened).
2. **Policy inputs** — ``engagement.policy_data.policy_inputs`` (rules, quiet hours, contact
   history, consent, suppressions; five queries).
3. **Competition** — one query reads the contacts other waves have planned around this
   wave's time. Contacts of waves not yet sending are *candidates* again: arbitration may
   take their place if this wave's contact ranks higher; contacts of waves already sending
   are fixed and only count towards the caps.
4. **Channel** — each customer gets the first of the wave's channels he can be reached on
   (an address on file) and has consented to; a follow-up wave sends customers worth at least
   ``visit_min_value`` to their account manager as a visit instead.
5. **Policy** — ``engagement.policy.evaluate`` decides every candidate with one reason.
   A call wave keeps its best candidates up to its capacity (``capacity`` for the rest) and
   is decided again without the rest, so that competitors are not displaced by calls that
   will never be made; the calls are split among the agents of each customer's territory,
   best expected value first.
6. **Writes** (unless ``dry_run``) — one bulk insert of the wave's deliveries (planned or
   excluded with the reason), one bulk update of the competitors that lost their place, the
   wave's summary, one audit event.

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
from django.db import transaction
from django.db.models import (
    Case,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns import segments
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
from yiti.campaigns.models import Campaign, Delivery, Wave
from yiti.campaigns.rules import require_manage
from yiti.core.arrays import int_rows
from yiti.core.audit import audit_record
from yiti.core.bulk import insert_rows, update_rows
from yiti.core.errors import ValidationFailed
from yiti.customers.choices import Channel as ConsentChannel
from yiti.customers.models import Customer
from yiti.engagement.choices import InteractionPurpose
from yiti.engagement.policy import (
    CHANNELS,
    PURPOSES,
    Candidates,
    Consent,
    Contacts,
    evaluate,
)
from yiti.engagement.policy_data import PolicyInputs, policy_inputs
from yiti.org.models import Membership, OrgUnit, User

MARKETING = PURPOSES.index(InteractionPurpose.MARKETING.value)
NO_CONTACT_POINT = "no_contact_point"
NOT_ELIGIBLE = "not_eligible"
CAPACITY = "capacity"
WRITE_BATCH = 100_000
EV_SCALE = 10_000  # expected values are kept to 4 decimals
_I64 = np.int64

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


class EpochSeconds(Func):
    """A datetime as integer seconds since the epoch (UTC), on SQLite and PostgreSQL."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint",
            **extra,
        )


def _code_case(field_name: str, vocabulary: Sequence[str]) -> Case:
    return Case(
        *(When(**{field_name: v}, then=Value(i)) for i, v in enumerate(vocabulary)),
        default=Value(-1),
        output_field=IntegerField(),
    )


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
    qs = audience_queryset(wave)
    offer = wave.offer
    eligible: Any = Value(1)
    if offer is not None and offer.eligibility.get("conditions"):
        eligible = Case(
            When(segments.rules_q(offer.eligibility), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    rows = (
        qs.annotate(
            _email=Case(
                When(primary_email="", then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            _phone=Case(
                When(primary_phone="", then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            _eligible=eligible,
            # in fen (cents): the rows travel as integers (``core.arrays.int_rows``)
            _clv=Round(
                Coalesce(F("value__clv"), Value(0.0), output_field=FloatField()) * Value(100.0)
            ),
            _owner=Coalesce(F("owner_id"), Value(0), output_field=IntegerField()),
        )
        .values_list("pk", "unit_id", "_owner", "_email", "_phone", "_eligible", "_clv")
        .order_by()
    )
    a = int_rows(rows, 7)
    a = a[np.argsort(a[:, 0], kind="stable")]
    return Audience(
        ids=a[:, 0].copy(),
        unit=a[:, 1].copy(),
        owner=a[:, 2].copy(),
        has_email=a[:, 3] > 0,
        has_phone=a[:, 4] > 0,
        eligible=a[:, 5] > 0,
        clv=a[:, 6] / 100.0,
    )


# --- competing contacts ----------------------------------------------------------------------

# how a competing contact stands now (the ``_was`` column)
WAS_PLANNED, WAS_LOST, WAS_CAPPED = 0, 1, 2


@dataclass
class Competing:
    """The contacts other waves hold or wanted for this wave's customers, whatever their day.

    ``movable`` ones belong to waves not yet sending: planned, or excluded by arbitration or a
    cap — they are decided again together with this wave, so that the result is the same as
    if every wave had been planned at once. The others are planned contacts of waves already
    sending: fixed, they only count towards the caps.
    """

    delivery_id: np.ndarray
    customer_id: np.ndarray
    campaign_id: np.ndarray
    wave_id: np.ndarray
    channel: np.ndarray
    planned_at: np.ndarray
    priority: np.ndarray
    expected_value: np.ndarray
    movable: np.ndarray
    was: np.ndarray  # WAS_PLANNED, WAS_LOST or WAS_CAPPED


def _load_competing(wave: Wave, ids: np.ndarray) -> Competing:
    """One query: the contacts of other waves of active campaigns that compete with this one."""
    open_wave = Q(wave__status__in=(WaveStatus.DRAFT, WaveStatus.PLANNED))
    arbitrated = Q(status=DeliveryStatus.EXCLUDED) & (
        Q(reason__startswith="lost_arbitration:") | Q(reason__startswith="cap:")
    )
    qs = (
        Delivery.objects.filter(campaign__status__in=ACTIVE_STATUSES)
        .filter(
            (Q(status=DeliveryStatus.PLANNED) & (open_wave | Q(wave__status=WaveStatus.SENDING)))
            | (arbitrated & open_wave)
        )
        .exclude(wave_id=wave.pk)
        .annotate(
            _ch=_code_case("channel", CHANNELS),
            _at=EpochSeconds(F("planned_for")),
            _ev=Round(F("expected_value") * Value(float(EV_SCALE))),
            _mov=Case(
                When(wave__status=WaveStatus.SENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            _was=Case(
                When(status=DeliveryStatus.PLANNED, then=Value(WAS_PLANNED)),
                When(reason__startswith="cap:", then=Value(WAS_CAPPED)),
                default=Value(WAS_LOST),
                output_field=IntegerField(),
            ),
        )
        .order_by()
        .values_list(
            "pk",
            "customer_id",
            "campaign_id",
            "wave_id",
            "_ch",
            "_at",
            "campaign__priority",
            "_ev",
            "_mov",
            "_was",
        )
    )
    a = int_rows(qs, 10)
    if len(a):
        a = a[np.isin(a[:, 1], ids) & (a[:, 4] >= 0)]
    return Competing(
        delivery_id=a[:, 0].copy(),
        customer_id=a[:, 1].copy(),
        campaign_id=a[:, 2].copy(),
        wave_id=a[:, 3].copy(),
        channel=a[:, 4].astype(np.int8),
        planned_at=a[:, 5].copy(),
        priority=a[:, 6].astype(np.float64),
        expected_value=a[:, 7] / EV_SCALE,
        movable=a[:, 8] > 0,
        was=a[:, 9].astype(np.int8),
    )


# --- channels --------------------------------------------------------------------------------


def _consented(consent: Consent, ids: np.ndarray, channel_code: int) -> np.ndarray:
    """Which customers granted marketing on this channel (the consent rows that differ from
    the default are the grants, see ``policy_data``)."""
    if not len(consent.customer_id):
        return np.zeros(len(ids), dtype=bool)
    sel = (consent.channel == channel_code) & (consent.purpose == MARKETING) & consent.granted
    granted = np.sort(consent.customer_id[sel])
    if not len(granted):
        return np.zeros(len(ids), dtype=bool)
    pos = np.minimum(np.searchsorted(granted, ids), len(granted) - 1)
    return granted[pos] == ids


def _choose_channels(
    wave: Wave, audience: Audience, consent: Consent
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer the chosen channel code (or -1: no address on any channel) and whether a
    visit replaces it (follow-up waves with a value threshold)."""
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
    for channel in channels:  # first: reachable and consented
        code = CHANNELS.index(channel)
        take = (chosen < 0) & reachable[channel] & _consented(consent, audience.ids, code)
        chosen[take] = code
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
    for user_id, unit_id in Membership.objects.filter(
        role=role, unit_id__in=every, user__is_active=True
    ).values_list("user_id", "unit_id"):
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
    competing = _load_competing(wave, audience.ids)
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
    reason = np.full(n, "", dtype=object)
    reason[~audience.eligible] = NOT_ELIGIBLE
    reason[audience.eligible & (channel < 0)] = NO_CONTACT_POINT
    mine = np.flatnonzero(reason == "")
    mark("channels")

    movable = np.flatnonzero(competing.movable)
    fixed = np.flatnonzero(~competing.movable)
    planned_fixed = Contacts.at(
        customer_id=competing.customer_id[fixed],
        at=competing.planned_at[fixed],
        channel=competing.channel[fixed],
        purpose=np.full(len(fixed), MARKETING, dtype=np.int8),
        utc_offset=inputs.utc_offset,
    )

    def decide(keep_mine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The labels of this wave's candidates ``keep_mine`` and of the movable competitors."""
        k, m = len(keep_mine), movable
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
        labels = np.asarray(decision.labels(), dtype=object)
        return labels[:k], labels[k:]

    own_labels, competitor_labels = decide(mine)
    reason[mine] = own_labels
    capacity = wave.capacity
    if capacity is not None:
        result.capacity = capacity
        kept = mine[own_labels == ""]
        if len(kept) > capacity:
            # the calls beyond capacity will not be made: decide again without them, so that
            # they take no other campaign's place
            best = kept[np.lexsort((kept, -ev[kept]))]
            reason[best[capacity:]] = CAPACITY
            within = np.sort(best[:capacity])
            _own, competitor_labels = decide(within)
    mark("policy")

    planned_idx = np.flatnonzero(reason == "")
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
    result.excluded = _counts(reason[reason != ""].astype(str))
    result.channels = {CHANNELS[int(c)]: k for c, k in _counts(channel[planned_idx]).items()}
    # competitors whose decision changed: displaced (planned → excluded), revived
    # (excluded → planned) and excluded ones whose reason may have changed
    comp_was = competing.was[movable]
    now_kept = competitor_labels == ""
    changed = np.flatnonzero((comp_was != WAS_PLANNED) | ~now_kept)
    changed_ids = competing.delivery_id[movable][changed]
    changed_labels = competitor_labels[changed].astype(str)
    codes = _campaign_codes(np.unique(competing.campaign_id[movable][changed]))
    camp = competing.campaign_id[movable]
    displaced = (comp_was == WAS_PLANNED) & ~now_kept
    revived = (comp_was != WAS_PLANNED) & now_kept
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
            reason,
            ev,
            rank,
            assignee,
            changed_ids,
            changed_labels,
            result,
            actor,
        )
        mark("write")
    result.phases = phases
    result.seconds = time.perf_counter() - started
    return result


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


def _write(
    wave: Wave,
    audience: Audience,
    channel: np.ndarray,
    reason: np.ndarray,
    ev: np.ndarray,
    rank: np.ndarray,
    assignee: np.ndarray,
    changed_ids: np.ndarray,
    changed_labels: np.ndarray,
    result: PlanResult,
    actor: User | None,
) -> None:
    n = len(audience)
    channel_names = np.asarray([*CHANNELS, ""], dtype=object)
    chan = channel_names[np.where(channel >= 0, channel, len(CHANNELS))]
    status = np.where(reason == "", DeliveryStatus.PLANNED.value, DeliveryStatus.EXCLUDED.value)
    planned_for = wave.scheduled_at
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
    assignees: list[int | None] = [a or None for a in assignee.tolist()]
    rows = zip(
        [wave.pk] * n,
        [wave.campaign_id] * n,
        audience.ids.tolist(),
        chan.tolist(),
        status.tolist(),
        reason.tolist(),
        [planned_for] * n,
        np.round(ev, 4).tolist(),
        rank.tolist(),
        assignees,
        strict=True,
    )
    with transaction.atomic():
        locked = Wave.objects.select_for_update().get(pk=wave.pk)
        if locked.status not in (WaveStatus.DRAFT, WaveStatus.PLANNED):
            raise ValidationFailed(_("The wave started sending meanwhile."), code="wave_locked")
        # A wave that has not started sending holds no reservations or orders yet: one DELETE
        # without Django's collector (which would read every row first).
        stale = Delivery.objects.filter(wave=wave)
        stale._raw_delete(stale.db)
        insert_rows(Delivery, columns, rows, batch_size=WRITE_BATCH)
        if len(changed_ids):
            labels = changed_labels.tolist()
            update_rows(
                Delivery,
                ("status", "reason"),
                zip(
                    [
                        DeliveryStatus.EXCLUDED.value if label else DeliveryStatus.PLANNED.value
                        for label in labels
                    ],
                    labels,
                    changed_ids.tolist(),
                    strict=True,
                ),
                batch_size=WRITE_BATCH,
            )
        summary = result.as_dict()
        Wave.objects.filter(pk=wave.pk).update(
            status=WaveStatus.PLANNED, planned_at=timezone.now(), plan_summary=summary
        )
        audit_record(
            actor=actor,
            action="wave.plan",
            obj=wave,
            changes={
                k: summary[k]
                for k in ("audience", "outcomes", "excluded", "displaced", "revived", "capacity")
            },
        )
