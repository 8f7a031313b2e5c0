"""The next best action: what the agent serving a customer should propose now, and why.

For a customer in a context (channel, reason for contact, the agent's unit) the candidates are
the active offers and the care actions (a follow-up call, a retention call). A candidate is
dropped, with its reason, when

* ``not_eligible``: the customer does not match the offer's eligibility rule (or, for a
  retention call, is not a most valuable / most growable customer at risk);
* ``out_of_stock``: the offer's gift is used up;
* ``conflict``: the customer already holds the offer's product, or holds (a reserved gift of)
  this offer or one incompatible with it;
* the contact it would make breaks the contact policy — ``consent`` (no opt-in for marketing on
  the channel), ``suppressed`` (an open complaint or another suppression: only service and care
  actions), ``quiet_hours``, ``policy_cap`` (a cap over a sliding window).

The others are ranked by ``score = propensity × value × priority weight × context weight`` and
each carries its parts and the sentences that explain them (ADR 0007).

Speed (one decision in a few milliseconds with hundreds of offers): the active offers are
compiled once per process (eligibility rules to Python predicates, ``eligibility.py``; products,
benefits, incompatibilities, campaign priorities, the policy's rules and quiet hours) and kept
until a version read with the customer changes; the customer's profile and policy state are
two queries (:func:`profile_load`); the policy check is
:func:`yiti.engagement.policy.evaluate_one` (the engine's rules for one contact, in plain
Python), once per purpose.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from yiti.campaigns.choices import BenefitKind, CampaignStatus, ReservationStatus
from yiti.campaigns.models import Campaign, Offer, OfferReservation
from yiti.core.prepared import fetch_all
from yiti.customers.choices import OrderStatus, ValueTier
from yiti.customers.models import ConsentState, Customer, CustomerValue, Order, Product
from yiti.decisions.choices import ActionKind, CareAction, ContactReason
from yiti.decisions.eligibility import (
    OrderFact,
    Predicate,
    Profile,
    ValueFact,
    compile_rule,
    unit_ids_of,
)
from yiti.decisions.models import UNSCORED, Propensity, ValueSettings
from yiti.decisions.propensity import Beta
from yiti.decisions.weights import ContextWeights
from yiti.engagement import policy
from yiti.engagement.choices import Direction, InteractionChannel, InteractionPurpose
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.engagement.policy_data import quiet_active, rules_active, utc_offset
from yiti.org.models import OrgUnit

TOP = 5

# --- the context (the context weights are data: ``decisions.weights``) ---------------------

# The contact policy knows consent per channel of ``customers.Channel``; a branch counter is a
# face-to-face contact, checked as a visit.
POLICY_CHANNEL: dict[str, str] = {InteractionChannel.COUNTER: InteractionChannel.VISIT}
# Channels on which the customer is in the conversation when he came in himself.
LIVE_CHANNELS = frozenset(
    {
        InteractionChannel.CALL.value,
        InteractionChannel.COUNTER.value,
        InteractionChannel.VISIT.value,
        InteractionChannel.IM.value,
        InteractionChannel.PORTAL.value,
    }
)
DEFAULT_PRIORITY = 5  # an offer in no running campaign counts as a campaign of priority 5
DEFAULT_TAKE_UP = 0.05  # prior acceptance rate of an offer without a campaign's expected take-up
CARE_PRIOR: dict[str, float] = {CareAction.FOLLOW_UP: 0.5, CareAction.RETENTION: 0.3}
CARE_PRIORITY: dict[str, float] = {CareAction.FOLLOW_UP: 1.0, CareAction.RETENTION: 1.2}
FOLLOW_UP_SHARE = 0.05  # a follow-up protects 5% of the customer's lifetime value …
FOLLOW_UP_MIN = 20.0  # … and at least ¥20
AT_RISK_TIERS = frozenset({ValueTier.MVC.value, ValueTier.MGC.value})


@dataclass(frozen=True)
class Context:
    """Where and why the customer is being served. ``unit_id``: the agent's unit (credited).

    ``direction`` ``in``: the customer came to us (called, is at the counter, in the chat, on
    the portal); ``out``: the agent is reaching out. While the customer is on the line
    (:attr:`live`) quiet hours do not apply — caps, consent and suppressions still do.
    """

    channel: str = InteractionChannel.CALL.value
    reason: str = ContactReason.GENERAL.value
    unit_id: int | None = None
    ticket_id: int | None = None
    direction: str = Direction.INBOUND.value

    @property
    def live(self) -> bool:
        return self.direction == Direction.INBOUND and self.channel in LIVE_CHANNELS


# --- the catalogue: compiled once per process --------------------------------------------------


@dataclass(frozen=True)
class CompiledOffer:
    id: int
    key: str
    code: str
    name: str
    product_id: int
    product_name: str
    benefit: str
    benefit_label: str
    gift_name: str
    price: float
    margin: float  # the product's margin at list price, yuan
    benefit_cost: float  # what the benefit costs, yuan
    value: float  # margin less the benefit, at least 0: the value part of the score
    has_stock: bool
    incompatible: frozenset[int]
    eligible: Predicate
    has_rule: bool
    priority: int
    campaign_id: int | None
    campaign_name: str
    take_up: float
    prior: Beta  # Beta.prior(take_up), made once


@dataclass(frozen=True)
class Catalogue:
    version: tuple[Any, ...]
    offers: tuple[CompiledOffer, ...]
    rules: tuple[policy.Rule, ...]
    quiet: tuple[policy.Quiet, ...]
    churn_threshold: float
    weights: ContextWeights
    # value tiers proposed no sales offer (``ValueSettings.no_offer_tiers``)
    no_offer_tiers: frozenset[str] = frozenset()
    # (language, offer id) -> the sentences on an offer's value and priority: they depend on
    # the offer alone, so they are written once per catalogue and language
    offer_reasons: dict[tuple[str, int], list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Propensities:
    version: tuple[Any, ...]
    rows: dict[tuple[str, str], Beta]


_lock = threading.Lock()
_catalogue: Catalogue | None = None
_propensities: Propensities | None = None


def caches_clear() -> None:
    """Forget the compiled catalogue and propensities (the next decision reloads them)."""
    global _catalogue, _propensities
    with _lock:
        _catalogue, _propensities = None, None


def _benefit_cost(benefit: str, value: float, price: float) -> float:
    if benefit == BenefitKind.DISCOUNT:
        return price * value / 100
    return value  # a credit, or the gift's cost


def _catalogue_build(version: tuple[Any, ...]) -> Catalogue:
    offers = list(Offer.objects.filter(active=True).select_related("product").order_by("id"))
    ids = [o.pk for o in offers]
    through = Offer.incompatible_with.through
    incompatible: dict[int, set[int]] = {}
    for a, b in through.objects.filter(from_offer_id__in=ids).values_list(
        "from_offer_id", "to_offer_id"
    ):
        incompatible.setdefault(a, set()).add(b)
    best: dict[int, tuple[int, float, int | None, str]] = {}
    links = Campaign.offers.through.objects.filter(
        offer_id__in=ids, campaign__status=CampaignStatus.RUNNING
    ).values_list(
        "offer_id",
        "campaign__priority",
        "campaign__expected_take_up",
        "campaign_id",
        "campaign__name",
    )
    for offer_id, c_priority, c_take_up, c_id, c_name in links:
        if offer_id not in best or c_priority > best[offer_id][0]:
            best[offer_id] = (int(c_priority), float(c_take_up), int(c_id), str(c_name))
    unit_ids: set[int] = set()
    for o in offers:
        unit_ids |= unit_ids_of(o.eligibility or {})
    paths = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "path"))
    compiled = []
    for o in offers:
        price = float(o.product.price)
        priority, take_up, campaign_id, campaign_name = best.get(
            o.pk, (DEFAULT_PRIORITY, DEFAULT_TAKE_UP, None, "")
        )
        rule = o.eligibility or {}
        cost = _benefit_cost(o.benefit, float(o.benefit_value), price)
        compiled.append(
            CompiledOffer(
                id=o.pk,
                key=f"offer:{o.pk}",
                code=o.code,
                name=o.name,
                product_id=o.product_id,
                product_name=o.product.name,
                benefit=o.benefit,
                benefit_label=str(o.get_benefit_display()),
                gift_name=o.gift_name,
                price=price,
                margin=price * float(o.product.margin_rate),
                benefit_cost=cost,
                value=max(0.0, price * float(o.product.margin_rate) - cost),
                has_stock=o.benefit == BenefitKind.GIFT,
                incompatible=frozenset(incompatible.get(o.pk, ())),
                eligible=compile_rule(rule, paths),
                has_rule=bool(rule.get("conditions")),
                priority=priority,
                campaign_id=campaign_id,
                campaign_name=campaign_name,
                take_up=take_up,
                prior=Beta.prior(take_up),
            )
        )
    settings_row = ValueSettings.objects.filter(pk=1).first() or ValueSettings(pk=1)
    return Catalogue(
        version=version,
        offers=tuple(compiled),
        rules=tuple(rules_active()),
        quiet=tuple(quiet_active()),
        churn_threshold=float(settings_row.churn_threshold),
        weights=ContextWeights.of(settings_row.context_weights),
        no_offer_tiers=frozenset(str(t) for t in (settings_row.no_offer_tiers or [])),
    )


def _propensities_build(version: tuple[Any, ...]) -> Propensities:
    rows = {
        (action, segment): Beta(alpha, beta, successes, failures)
        for action, segment, alpha, beta, successes, failures in Propensity.objects.values_list(
            "action", "segment", "prior_alpha", "prior_beta", "successes", "failures"
        )
    }
    return Propensities(version=version, rows=rows)


def catalogue_current(version: tuple[Any, ...] | None = None) -> Catalogue:
    """The compiled catalogue; rebuilt when ``version`` (read with the profile) differs."""
    global _catalogue
    cached = _catalogue
    if cached is not None and (version is None or cached.version == version):
        return cached
    if version is None:
        version = _versions()[0]
    built = _catalogue_build(version)
    with _lock:
        _catalogue = built
    return built


def _propensities_current(version: tuple[Any, ...]) -> Propensities:
    global _propensities
    cached = _propensities
    if cached is not None and cached.version == version:
        return cached
    built = _propensities_build(version)
    with _lock:
        _propensities = built
    return built


# --- the profile: two queries ----------------------------------------------------------------


def _t(model: type[Any]) -> str:
    return str(model._meta.db_table)


def _epoch(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"FLOOR(EXTRACT(EPOCH FROM {column}))::bigint"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _version_sql() -> str:
    """Scalar subqueries whose values change whenever the catalogue or propensities do."""
    offer, campaign = _t(Offer), _t(Campaign)
    tables = {
        "offer": offer,
        "incompatible": _t(Offer.incompatible_with.through),
        "campaign": campaign,
        "campaign_offers": _t(Campaign.offers.through),
        "rules": _t(ContactPolicyRule),
        "quiet": _t(QuietHours),
        "settings": _t(ValueSettings),
        "units": _t(OrgUnit),
        "propensity": _t(Propensity),
    }
    counted = ["offer", "incompatible", "campaign", "campaign_offers", "rules", "quiet"]
    changed = ["offer", "campaign", "rules", "quiet", "settings", "units"]
    parts = [f"(SELECT COUNT(*) FROM {tables[k]})" for k in counted]  # noqa: S608
    parts += [f"(SELECT MAX(updated_at) FROM {tables[k]})" for k in changed]  # noqa: S608
    parts += [  # the propensities come last
        f"(SELECT COUNT(*) FROM {tables['propensity']})",  # noqa: S608
        f"(SELECT MAX(updated_at) FROM {tables['propensity']})",  # noqa: S608
    ]
    return ", ".join(parts)


CATALOGUE_PARTS = 12


def _versions() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_version_sql()}")
        row = cursor.fetchone()
    return tuple(row[:CATALOGUE_PARTS]), tuple(row[CATALOGUE_PARTS:])


def _stock_sql() -> str:
    """The active gift offers whose gifts are all reserved, as one string ``id,id`` (from
    the offer index ``offer_stock_left`` alone)."""
    offer = _t(Offer)
    item = "CAST(id AS TEXT)"
    agg = (
        f"string_agg({item}, ',')" if connection.vendor == "postgresql" else f"group_concat({item})"
    )
    return (
        f"(SELECT {agg} FROM {offer} "  # noqa: S608
        f"WHERE active = %s AND benefit = %s AND stock_reserved >= stock_total)"
    )


@dataclass
class PolicyState:
    """The customer's contacts in the reach of the longest rule, consent rows, suppressions."""

    history: list[tuple[int, str, str]] = field(default_factory=list)  # (epoch, channel, purpose)
    suppressions: list[str] = field(default_factory=list)
    held_offers: set[int] = field(default_factory=set)  # gifts reserved / handed over


@dataclass
class Loaded:
    profile: Profile
    state: PolicyState
    sold_out: frozenset[int]  # the active gift offers with no gift left
    catalogue_version: tuple[Any, ...]
    propensity_version: tuple[Any, ...]


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _at(epoch: Any) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(int(epoch), tz=UTC)


@functools.cache
def _profile_sql(vendor: str) -> tuple[str, str]:
    """The decision's two queries (their text is the same for every customer)."""
    c, u, v = _t(Customer), _t(OrgUnit), _t(CustomerValue)
    sql1 = (
        f"SELECT c.id, c.status, c.kind, c.city, c.industry, c.unit_id, u.path, c.owner_id, "  # noqa: S608
        f"c.primary_email, c.primary_phone, c.since, c.birth_date, {_epoch('c.last_contact_at')}, "
        f"v.tier, v.clv, v.churn_risk, v.p_alive, v.net_value, {_stock_sql()}, {_version_sql()} "
        f"FROM {c} c JOIN {u} u ON u.id = c.unit_id "
        f"LEFT JOIN {v} v ON v.customer_id = c.id WHERE c.id = %s"
    )
    o, p, cs, s, r, i = (
        _t(Order),
        _t(Product),
        _t(ConsentState),
        _t(Suppression),
        _t(OfferReservation),
        _t(Interaction),
    )
    sql2 = (
        f"SELECT 'o', p.category, '', CAST(o.amount AS DOUBLE PRECISION), "  # noqa: S608
        f"CAST(o.product_id AS BIGINT), {_epoch('o.ordered_at')} "
        f"FROM {o} o JOIN {p} p ON p.id = o.product_id "
        f"WHERE o.customer_id = %s AND o.status <> %s "
        f"UNION ALL SELECT 'c', channel, purpose, 0.0, CASE WHEN granted THEN 1 ELSE 0 END, 0 "
        f"FROM {cs} WHERE customer_id = %s "
        f"UNION ALL SELECT 's', reason, '', 0.0, 0, 0 FROM {s} "
        f"WHERE customer_id = %s AND lifted_at IS NULL "
        f"AND (expires_at IS NULL OR expires_at > %s) "
        f"UNION ALL SELECT 'r', '', '', 0.0, CAST(offer_id AS BIGINT), 0 FROM {r} "
        f"WHERE customer_id = %s AND status IN (%s, %s) "
        f"UNION ALL SELECT 'i', channel, purpose, 0.0, 0, {_epoch('occurred_at')} FROM {i} "
        f"WHERE customer_id = %s AND direction = %s AND occurred_at >= %s"
    )
    return sql1, sql2


def profile_load(customer_id: int, *, now: datetime, longest_days: int) -> Loaded | None:
    """The customer's profile and policy state in two queries (None: no such customer).

    1. the customer, his unit path and value scores, the catalogue and propensity versions and
       the gift offers sold out (scalar subqueries);
    2. one UNION ALL: his orders that are not cancelled, consent rows, active suppressions (not
       lifted, not expired),
       held gift reservations, and outbound contacts since ``longest_days`` days before now.
    """
    sql1, sql2 = _profile_sql(connection.vendor)
    since = now - timedelta(days=longest_days + 1)
    params2 = [
        customer_id,
        OrderStatus.CANCELLED.value,
        customer_id,
        customer_id,
        now,
        customer_id,
        ReservationStatus.RESERVED.value,
        ReservationStatus.FULFILLED.value,
        customer_id,
        Direction.OUTBOUND.value,
        since,
    ]
    found = fetch_all(sql1, [True, BenefitKind.GIFT.value, customer_id])
    if not found:
        return None
    row = found[0]
    rows = fetch_all(sql2, params2)
    value = None
    if row[13] is not None:
        value = ValueFact(
            tier=row[13],
            clv=float(row[14]),
            churn_risk=float(row[15]),
            p_alive=float(row[16]),
            net_value=float(row[17]),
        )
    profile = Profile(
        id=int(row[0]),
        status=row[1],
        kind=row[2],
        city=row[3],
        industry=row[4],
        unit_id=int(row[5]),
        unit_path=row[6],
        owner_id=row[7],
        primary_email=row[8],
        primary_phone=row[9],
        since=_as_date(row[10]),
        birth_date=_as_date(row[11]),
        last_contact_at=_at(row[12]),
        value=value,
    )
    sold_out = frozenset(int(i) for i in str(row[18]).split(",")) if row[18] else frozenset()
    state = PolicyState()
    for tag, a, b, amount, n, at in rows:
        if tag == "o":
            profile.orders.append(
                OrderFact(product_id=int(n), category=a, amount=float(amount), ordered_at=_at(at))  # type: ignore[arg-type]
            )
        elif tag == "c":
            profile.consent[(a, b)] = bool(n)
        elif tag == "s":
            state.suppressions.append(a)
        elif tag == "r":
            state.held_offers.add(int(n))
        else:
            state.history.append((int(at), a, b))
    versions = row[19:]
    return Loaded(
        profile=profile,
        state=state,
        sold_out=sold_out,
        catalogue_version=tuple(versions[:CATALOGUE_PARTS]),
        propensity_version=tuple(versions[CATALOGUE_PARTS:]),
    )


# --- the policy check for one customer -------------------------------------------------------


def policy_check(
    *,
    state: PolicyState,
    consent: dict[tuple[str, str], bool],
    catalogue: Catalogue,
    channel: str,
    purposes: list[str],
    now: datetime,
    live: bool = False,
) -> dict[str, str]:
    """The contact policy's verdict on one contact now on ``channel`` for each purpose: ``""``
    when allowed, else the engine's reason (``opted_out``, ``suppressed:<reason>``,
    ``quiet_hours``, ``cap:<rule>``). Each purpose is judged on its own
    (:func:`~yiti.engagement.policy.evaluate_one`), so they do not compete for a cap's room.
    ``live``: the customer is on the line, so the quiet hours are not applied."""
    offset = utc_offset(now)
    counted = Counter(state.history)  # per instant: caps hold over rolling windows
    history = [(epoch, ch, pu, n) for (epoch, ch, pu), n in counted.items()]
    at = int(now.timestamp())
    quiet = () if live else catalogue.quiet
    return {
        purpose: policy.evaluate_one(
            channel=channel,
            purpose=purpose,
            at=at,
            history=history,
            rules=catalogue.rules,
            quiet=quiet,
            consent=consent,
            suppressed=state.suppressions,
            utc_offset=offset,
        )
        for purpose in purposes
    }


# --- the decision ----------------------------------------------------------------------------


@dataclass(slots=True)
class Action:
    """A ranked candidate, with its score's parts and the sentences that explain them."""

    key: str
    kind: str
    name: str
    score: float
    propensity: float
    value: float
    priority_weight: float
    context_weight: float
    reasons: list[str]
    offer_id: int | None = None
    care_action: str = ""
    segment: str = ""
    detail: str = ""
    summary: str = ""  # one line in plain words: why this action, for this customer, now

    @property
    def expected_value(self) -> float:
        """What proposing it is worth on average: the chance of a yes × the value of a yes."""
        return self.propensity * self.value


# Why a candidate was dropped, finer than its code; the sentence is written only when read
# (``Dropped.reason``): a decision drops ~170 of 200 offers and shows a few of them.
WHY_RULE, WHY_AT_RISK, WHY_STOCK, WHY_PRODUCT, WHY_HELD, WHY_CLASH, WHY_POLICY, WHY_TIER = range(8)


@dataclass(slots=True)
class Dropped:
    key: str
    kind: str
    name: str
    code: str
    why: int
    arg: str = ""  # the gift, the product, the clashing offers, or the policy's sentence
    offer_id: int | None = None

    @property
    def reason(self) -> str:
        why, arg = self.why, self.arg
        if why == WHY_RULE:
            return _("Not eligible: the customer does not match the offer's rule.")
        if why == WHY_TIER:
            return _("Not eligible: no sales offers for the %(tier)s tier (value settings).") % {
                "tier": arg
            }
        if why == WHY_AT_RISK:
            return _("Not eligible: not a most valuable or most growable customer at risk.")
        if why == WHY_STOCK:
            return _("Out of stock: no %(gift)s left.") % {"gift": arg or _("gift")}
        if why == WHY_PRODUCT:
            return _("Conflict: the customer already holds %(p)s.") % {"p": arg}
        if why == WHY_HELD:
            return _("Conflict: the customer already holds this offer.")
        if why == WHY_CLASH:
            return _("Conflict: incompatible with an offer the customer holds (%(o)s).") % {
                "o": arg
            }
        return arg


# The drop codes, most telling first (the summaries list them in this order).
DROP_ORDER = (
    "suppressed",
    "consent",
    "policy_cap",
    "quiet_hours",
    "out_of_stock",
    "conflict",
    "not_eligible",
)


@dataclass(frozen=True, slots=True)
class CareRef:
    """A care action as a drop names it (an offer is named by its :class:`CompiledOffer`)."""

    key: str
    name: str
    id: None = None


# A dropped candidate as a decision records it: (offer or care action, kind, code, why, arg).
# A decision drops ~170 of 200 offers and shows a few, so :class:`Dropped` objects are made
# only for the ones read (``NextBest.dropped``, ``drops_summary``).
Drop = tuple[Any, str, str, int, str]


def _dropped(t: Drop) -> Dropped:
    ref, kind, code, why, arg = t
    return Dropped(ref.key, kind, ref.name, code, why, arg, ref.id)


def drops_summary(drops: list[Drop], *, details: int) -> tuple[dict[str, int], list[Dropped]]:
    """How many candidates each code dropped (in ``DROP_ORDER``) and at most ``details`` of
    them to show: the first of each code, most telling first, then the next ones in order."""
    counts: dict[str, int] = {}
    firsts: dict[str, int] = {}  # code -> index of its first drop
    for i, t in enumerate(drops):
        code = t[2]
        if code in counts:
            counts[code] += 1
        else:
            counts[code] = 1
            firsts[code] = i
    order = [c for c in DROP_ORDER if c in counts] + sorted(set(counts) - set(DROP_ORDER))
    chosen = [firsts[c] for c in order][:details]
    if len(chosen) < details:
        taken = set(chosen)
        chosen += [i for i in range(len(drops)) if i not in taken][: details - len(chosen)]
    return {c: counts[c] for c in order}, [_dropped(drops[i]) for i in chosen]


@dataclass
class NextBest:
    customer_id: int
    context: Context
    segment: str
    actions: list[Action]
    drops: list[Drop]  # every dropped candidate, compact; ``dropped`` lists them
    ranked: int  # how many candidates were ranked (``actions`` holds the top ones)
    marketing_blocked: str = ""  # the policy's reason when no marketing contact may be made
    offers_total: int = 0

    @functools.cached_property
    def dropped(self) -> list[Dropped]:
        return [_dropped(t) for t in self.drops]


def policy_channel(channel: str) -> str:
    return POLICY_CHANNEL.get(channel, channel)


def _policy_drop(reason: str, catalogue: Catalogue) -> tuple[str, str]:
    """(code, sentence) of a policy engine reason."""
    if reason == policy.OPTED_OUT:
        return "consent", _("No consent for this kind of contact on this channel.")
    if reason == policy.QUIET_HOURS:
        return "quiet_hours", _("Quiet hours of the contact policy.")
    if reason.startswith("suppressed:"):
        code = reason.split(":", 1)[1]
        if code == "open_complaint":
            return "suppressed", _("Open complaint: only service actions until it is resolved.")
        return "suppressed", _("On the suppression list (%(r)s): no marketing.") % {"r": code}
    if reason.startswith("cap:"):
        return "policy_cap", _("Contact policy cap reached: %(rule)s.") % {
            "rule": reason.split(":", 1)[1]
        }
    return "policy", reason


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _yuan(x: float) -> str:
    return f"¥{x:,.0f}"


def _beta_of(props: Propensities, action: str, segment: str, prior_mean: float) -> Beta:
    beta = props.rows.get((action, segment))
    return Beta.prior(prior_mean) if beta is None else beta


def _propensity_reason(beta: Beta, learned: bool) -> str:
    if not learned:
        return _("Propensity %(p)s: the prior (no outcomes yet in this segment).") % {
            "p": _pct(beta.mean)
        }
    return _(
        "Propensity %(p)s: prior %(prior)s updated by %(s)d accepted and %(f)d declined "
        "in this segment."
    ) % {
        "p": _pct(beta.mean),
        "prior": _pct(beta.prior_mean),
        "s": beta.successes,
        "f": beta.failures,
    }


def _context_weight(kind: str, context: Context, weights: ContextWeights) -> float:
    return weights.reason_weight(kind, context.reason) * weights.channel_weight(context.channel)


@functools.cache
def _labels(choices: Any) -> dict[str, Any]:
    """Value -> label (lazy: translated when written) of a choices class, made once."""
    return dict(choices.choices)


def _context_reason(kind: str, context: Context, weights: ContextWeights) -> str:
    rw = weights.reason_weight(kind, context.reason)
    cw = weights.channel_weight(context.channel)
    reason_label = _labels(ContactReason).get(context.reason, context.reason)
    channel_label = _labels(InteractionChannel).get(context.channel, context.channel)
    text = _("Context ×%(w).2f: %(reason)s ×%(rw).2f, %(channel)s ×%(cw).2f.") % {
        "w": rw * cw,
        "reason": reason_label,
        "rw": rw,
        "channel": channel_label,
        "cw": cw,
    }
    if context.live:
        text += " " + _("The customer is on the line: quiet hours do not apply.")
    return text


def _offer_reasons(offer: CompiledOffer, value: float, weight: float) -> list[str]:
    if offer.benefit_cost:
        v_reason = _("Value %(v)s: margin %(m)s on %(p)s less the benefit (%(b)s %(c)s).") % {
            "v": _yuan(value),
            "m": _yuan(offer.margin),
            "p": offer.product_name,
            "b": offer.benefit_label,
            "c": _yuan(offer.benefit_cost),
        }
    else:
        v_reason = _("Value %(v)s: margin on %(p)s.") % {"v": _yuan(value), "p": offer.product_name}
    if offer.campaign_id:
        w_reason = _("Priority ×%(w).2f: campaign “%(c)s”, priority %(n)d.") % {
            "w": weight,
            "c": offer.campaign_name,
            "n": offer.priority,
        }
    else:
        w_reason = _("Priority ×%(w).2f: no running campaign (default priority).") % {"w": weight}
    return [v_reason, w_reason]


def _offer_summary(offer: CompiledOffer, beta: Beta, learned: bool) -> str:
    """One line in plain words for the agent: what the customer gets and why it fits."""
    if offer.benefit == BenefitKind.GIFT and offer.gift_name:
        gets = _("%(product)s with a free %(gift)s") % {
            "product": offer.product_name,
            "gift": offer.gift_name,
        }
    elif offer.benefit == BenefitKind.DISCOUNT and offer.benefit_cost:
        gets = _("%(product)s at %(price)s instead of %(list)s") % {
            "product": offer.product_name,
            "price": _yuan(offer.price - offer.benefit_cost),
            "list": _yuan(offer.price),
        }
    elif offer.benefit_cost:
        gets = _("%(product)s with %(credit)s credit") % {
            "product": offer.product_name,
            "credit": _yuan(offer.benefit_cost),
        }
    else:
        gets = offer.product_name
    n = max(1, round(1 / beta.mean)) if beta.mean > 0 else 0
    if learned and n:
        odds = _("about 1 in %(n)d customers like this one said yes") % {"n": n}
    elif offer.campaign_id:
        odds = _("part of the running campaign “%(c)s”") % {"c": offer.campaign_name}
    else:
        odds = _("not held yet by this customer")
    return _("%(gets)s; %(odds)s.") % {"gets": gets, "odds": odds}


def _care_summary(care: CareAction, churn: float, context: Context) -> str:
    if care == CareAction.RETENTION:
        return _(
            "A valuable customer who may leave (churn risk %(r)s): call to keep the customer."
        ) % {"r": _pct(churn)}
    if context.ticket_id is not None:
        return _("Ask care to call back after this ticket and check he is satisfied.")
    return _("A care call keeps in touch without selling.")


def segment_of(profile: Profile) -> str:
    return profile.value.tier if profile.value is not None else UNSCORED


MIN_HISTORY_DAYS = 31


def load(customer_id: int, *, now: datetime) -> Loaded | None:
    """The customer's profile and policy state (two queries; None: no such customer).

    The history is read as far back as the longest cap of the compiled catalogue reaches (at
    least a month); when a refreshed catalogue reaches further, it is read once more.
    """
    cached = _catalogue
    reach = max([MIN_HISTORY_DAYS, *(r.window_days for r in cached.rules)] if cached else [90])
    loaded = profile_load(customer_id, now=now, longest_days=reach)
    if loaded is None:
        return None
    catalogue = catalogue_current(loaded.catalogue_version)
    needed = max([MIN_HISTORY_DAYS, *(r.window_days for r in catalogue.rules)])
    if needed > reach:
        loaded = profile_load(customer_id, now=now, longest_days=needed)
    return loaded


def decide(
    loaded: Loaded, context: Context, *, now: datetime | None = None, top: int = TOP
) -> NextBest:
    """The next best actions for the loaded customer in a context.

    Every candidate is scored first (numbers only); the sentences that explain a score are
    written for the ``top`` actions alone. No access check here: callers go through
    ``selectors.next_best_for``.
    """
    now = now or timezone.now()
    catalogue = catalogue_current(loaded.catalogue_version)
    props = _propensities_current(loaded.propensity_version)
    profile, state = loaded.profile, loaded.state
    segment = segment_of(profile)
    today = timezone.localdate(now)
    verdict = policy_check(
        state=state,
        consent=profile.consent,
        catalogue=catalogue,
        channel=policy_channel(context.channel),
        purposes=[InteractionPurpose.MARKETING.value, InteractionPurpose.CARE.value],
        now=now,
        live=context.live,
    )
    held_products = profile.held_products
    held_offers = state.held_offers
    sold_out = loaded.sold_out
    drops: list[Drop] = []
    add = drops.append
    OFFER = ActionKind.OFFER.value
    marketing = verdict[InteractionPurpose.MARKETING.value]
    policy_code, policy_sentence = _policy_drop(marketing, catalogue) if marketing else ("", "")
    offer_weight = _context_weight(OFFER, context, catalogue.weights)
    # (score, key, offer, beta, value, weight) of each offer that passes every check
    scored: list[tuple[float, str, CompiledOffer | None, Beta, float, float]] = []
    no_offers = segment in catalogue.no_offer_tiers
    tier_label = str(_labels(ValueTier).get(segment, segment)) if no_offers else ""
    for offer in catalogue.offers:
        if no_offers:
            add((offer, OFFER, "not_eligible", WHY_TIER, tier_label))
        elif not offer.eligible(profile, now, today):
            add((offer, OFFER, "not_eligible", WHY_RULE, ""))
        elif offer.has_stock and offer.id in sold_out:
            add((offer, OFFER, "out_of_stock", WHY_STOCK, offer.gift_name))
        elif offer.product_id in held_products:
            add((offer, OFFER, "conflict", WHY_PRODUCT, offer.product_name))
        elif offer.id in held_offers:
            add((offer, OFFER, "conflict", WHY_HELD, ""))
        elif offer.incompatible and (clash := offer.incompatible & held_offers):
            names = {o.id: o.name for o in catalogue.offers}
            listed = "、".join(names.get(i, f"#{i}") for i in sorted(clash))
            add((offer, OFFER, "conflict", WHY_CLASH, listed))
        elif marketing:
            add((offer, OFFER, policy_code, WHY_POLICY, policy_sentence))
        else:
            beta = props.rows.get((offer.key, segment)) or offer.prior
            value = offer.value
            weight = offer.priority / DEFAULT_PRIORITY
            score = beta.mean * value * weight * offer_weight
            scored.append((score, offer.key, offer, beta, value, weight))
    # care actions
    CARE = ActionKind.CARE.value
    care_verdict = verdict[InteractionPurpose.CARE.value]
    care_weight = _context_weight(CARE, context, catalogue.weights)
    clv = max(0.0, profile.value.clv) if profile.value else 0.0
    churn = profile.value.churn_risk if profile.value else 0.0
    for care in (CareAction.FOLLOW_UP, CareAction.RETENTION):
        key, name = f"care:{care.value}", str(care.label)
        if care == CareAction.RETENTION:
            at_risk = (
                profile.value is not None
                and profile.value.tier in AT_RISK_TIERS
                and churn >= catalogue.churn_threshold
            )
            if not at_risk:
                add((CareRef(key, name), CARE, "not_eligible", WHY_AT_RISK, ""))
                continue
            value = clv * churn
        else:
            value = max(FOLLOW_UP_MIN, FOLLOW_UP_SHARE * clv)
        if care_verdict:
            code, sentence = _policy_drop(care_verdict, catalogue)
            add((CareRef(key, name), CARE, code, WHY_POLICY, sentence))
            continue
        beta = _beta_of(props, key, segment, CARE_PRIOR[care])
        weight = CARE_PRIORITY[care]
        scored.append((beta.mean * value * weight * care_weight, key, None, beta, value, weight))
    scored.sort(key=lambda t: (-t[0], t[1]))
    actions: list[Action] = []
    offer_context = care_context = ""
    language = translation.get_language() or ""
    for score, key, item, beta, value, weight in scored[:top]:
        p_reason = _propensity_reason(beta, (key, segment) in props.rows)
        if item is not None:
            offer_context = offer_context or _context_reason(OFFER, context, catalogue.weights)
            cache_key = (language, item.id)
            offer_reasons = catalogue.offer_reasons.get(cache_key)
            if offer_reasons is None:
                offer_reasons = _offer_reasons(item, value, weight)
                catalogue.offer_reasons[cache_key] = offer_reasons
            actions.append(
                Action(
                    key=key,
                    kind=OFFER,
                    name=item.name,
                    score=score,
                    propensity=beta.mean,
                    value=value,
                    priority_weight=weight,
                    context_weight=offer_weight,
                    reasons=[p_reason, *offer_reasons, offer_context],
                    offer_id=item.id,
                    segment=segment,
                    detail=(item.gift_name if item.has_stock else item.benefit_label),
                    summary=_offer_summary(item, beta, (key, segment) in props.rows),
                )
            )
            continue
        care = CareAction(key.split(":", 1)[1])
        care_context = care_context or _context_reason(CARE, context, catalogue.weights)
        if care == CareAction.RETENTION:
            v_reason = _("Value %(v)s: lifetime value %(clv)s × churn risk %(r)s.") % {
                "v": _yuan(value),
                "clv": _yuan(clv),
                "r": _pct(churn),
            }
        else:
            v_reason = _("Value %(v)s: 5%% of lifetime value %(clv)s, at least %(min)s.") % {
                "v": _yuan(value),
                "clv": _yuan(clv),
                "min": _yuan(FOLLOW_UP_MIN),
            }
        actions.append(
            Action(
                key=key,
                kind=CARE,
                name=str(care.label),
                score=score,
                propensity=beta.mean,
                value=value,
                priority_weight=weight,
                context_weight=care_weight,
                reasons=[
                    p_reason,
                    v_reason,
                    _("Priority ×%(w).2f: care action.") % {"w": weight},
                    care_context,
                ],
                care_action=care.value,
                segment=segment,
                summary=_care_summary(care, churn, context),
            )
        )
    return NextBest(
        customer_id=profile.id,
        context=context,
        segment=segment,
        actions=actions,
        drops=drops,
        ranked=len(scored),
        marketing_blocked=policy_sentence,
        offers_total=len(catalogue.offers),
    )


def profile_visible_to(access: Any, loaded: Loaded) -> bool:
    """Whether the user of ``access`` may see the customer (``customers.rules.is_visible``)."""
    if access.is_admin:
        return True
    return access.user_id is not None and (
        loaded.profile.unit_id in access.unit_ids or loaded.profile.owner_id == access.user_id
    )
