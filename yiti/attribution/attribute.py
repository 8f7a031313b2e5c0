"""Attributing one campaign: read its touches and orders (two queries), give each touch its
unit, build the book and run a model — for the nightly run (``services.credit_attribute``)
and for the campaign page's comparison of the models (nothing is written here).

The unit of a touch is the participating (or owner) unit that made it: the deepest such unit
that holds the acting user's current membership, else the one that holds the unit recorded
on the contact, else the owner unit — a broadcast sent by the system, and the customer's own
answers and portal views without a user (the timeline records the customer's unit on those,
not the sender's). The models see each
(unit, channel) pair as one "channel", so branch A's calls and branch B's calls are told
apart by Markov and Shapley — as long as there are at most ``MAX_UNIT_CHANNEL_KEYS`` such
pairs; a campaign spread over more units is modelled over its channels alone (a chain of at
most ten states, exact Shapley values), each touch's unit still taking that touch's credit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from yiti.attribution import models_math
from yiti.attribution.models import AttributionPlan
from yiti.attribution.paths import Allocation, Book, allocate, book_build
from yiti.attribution.sql import CHANNELS, T_ACTOR, T_CHANNEL, T_UNIT, order_rows, touch_rows
from yiti.campaigns.models import Campaign
from yiti.org.models import Membership, OrgUnit

MAX_UNIT_CHANNEL_KEYS = 48


@dataclass(frozen=True)
class PlanTerms:
    """A plan's terms as plain values (an unsaved default for a campaign without a plan)."""

    model: str
    basis: str
    touch_part: float  # share of each order that goes by touches
    agreed: dict[int, float]  # unit id → fraction of the agreed part (sums to 1)
    lookback_days: int
    half_life_days: float


def plan_terms(plan: AttributionPlan) -> PlanTerms:
    shares = {s.unit_id: float(s.percent) / 100 for s in plan.shares.all()} if plan.pk else {}
    if plan.basis == "touches" or not shares:
        touch_part = 1.0
    elif plan.basis == "fixed":
        touch_part = 0.0
    else:
        touch_part = float(plan.touch_weight)
    return PlanTerms(
        model=plan.model,
        basis=plan.basis,
        touch_part=touch_part,
        agreed=shares,
        lookback_days=int(plan.lookback_days),
        half_life_days=float(plan.half_life_days),
    )


def plan_of(campaign: Campaign) -> AttributionPlan:
    """The campaign's plan, or an unsaved default (linear, by touches, 30 days)."""
    plan = AttributionPlan.objects.filter(campaign=campaign).prefetch_related("shares").first()
    return plan or AttributionPlan(campaign=campaign)


def campaign_units(campaign: Campaign) -> list[OrgUnit]:
    """The owner unit and the participating units, owner first."""
    units = {campaign.owner_unit_id: campaign.owner_unit}
    for unit in campaign.participating_units.order_by("path"):
        units.setdefault(unit.pk, unit)
    return list(units.values())


def _containing(path: str, candidates: list[OrgUnit]) -> int | None:
    best = None
    for unit in candidates:  # deepest first
        if path.startswith(unit.path):
            best = unit.pk
            break
    return best


def touch_units(touches: np.ndarray, campaign: Campaign, candidates: list[OrgUnit]) -> np.ndarray:
    """The credited unit of every touch row (module docstring): resolved once per distinct
    (unit, actor) pair, whatever the number of touches."""
    if len(touches) == 0:
        return np.zeros(0, dtype=np.int64)
    deepest = sorted(candidates, key=lambda u: (-u.depth, u.path))
    keys, inverse = np.unique((touches[:, T_UNIT] << 32) | touches[:, T_ACTOR], return_inverse=True)
    inverse = inverse.reshape(-1)
    pairs = np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1)
    unit_ids = {int(u) for u in pairs[:, 0] if u}
    actor_ids = {int(a) for a in pairs[:, 1] if a}
    paths = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "path"))
    homes: dict[int, list[str]] = defaultdict(list)
    for user_id, path in (
        Membership.objects.current()
        .filter(user_id__in=actor_ids)
        .order_by("user_id", "-unit__depth", "unit__path")
        .values_list("user_id", "unit__path")
    ):
        homes[user_id].append(path)
    resolved = np.empty(len(pairs), dtype=np.int64)
    for i, (unit_id, actor_id) in enumerate(pairs.tolist()):
        found = None
        for path in homes.get(actor_id, ()):
            found = _containing(path, deepest)
            if found is not None:
                break
        if found is None and unit_id in paths:
            found = _containing(paths[unit_id], deepest)
        resolved[i] = found if found is not None else campaign.owner_unit_id
    return resolved[inverse]


@dataclass(frozen=True)
class CampaignBook:
    book: Book
    touches: np.ndarray  # the touch rows
    units: np.ndarray  # the credited unit of every touch row
    keyed_by_unit: bool  # the models' channels are (unit, channel) pairs, else channels


def campaign_book(
    campaign: Campaign,
    terms: PlanTerms,
    *,
    until: datetime,
    candidates: list[OrgUnit] | None = None,
) -> CampaignBook:
    """The campaign's whole book up to ``until``: every order since the campaign's first day
    (less the lookback) is a candidate conversion, every touched customer without one a path
    that did not convert — the Markov and Shapley weights are fitted on all of it."""
    candidates = candidates if candidates is not None else campaign_units(campaign)
    touches = touch_rows(campaign.pk, end=until)
    products = sorted({o.product_id for o in campaign.offers.all()})
    start = timezone.make_aware(
        datetime.combine(campaign.starts_on, datetime.min.time())
    ) - timedelta(days=terms.lookback_days)
    orders = order_rows(
        products=products, start=start, end=until, customers_of_campaign=campaign.pk
    )
    units = touch_units(touches, campaign, candidates)
    pair = units * (len(CHANNELS) + 1) + touches[:, T_CHANNEL] if len(touches) else units
    keys, key_of = np.unique(pair, return_inverse=True)
    keyed_by_unit = len(keys) <= MAX_UNIT_CHANNEL_KEYS
    if not keyed_by_unit:  # a company-wide campaign: the chain over the channels alone
        keys, key_of = np.unique(touches[:, T_CHANNEL], return_inverse=True)
    book = book_build(
        touches,
        key_of.reshape(-1),
        orders,
        n_keys=len(keys),
        lookback_days=terms.lookback_days,
    )
    return CampaignBook(
        book=book,
        touches=touches,
        units=units,
        keyed_by_unit=keyed_by_unit,
    )


def campaign_allocate(cb: CampaignBook, terms: PlanTerms, model: str | None = None) -> Allocation:
    """The allocation of the book's converting orders under ``model`` (default: the plan's)."""
    weights = models_math.weights(
        cb.book.paths, model or terms.model, half_life_days=terms.half_life_days
    )
    return allocate(cb.book, weights, cb.units, touch_part=terms.touch_part, agreed=terms.agreed)


def unit_totals(allocation: Allocation) -> dict[int, tuple[float, int, int]]:
    """Per unit: (conversions = sum of shares, revenue cents, margin cents)."""
    if len(allocation) == 0:
        return {}
    size = int(allocation.unit.max()) + 1
    conv = np.bincount(allocation.unit, weights=allocation.share, minlength=size)
    rev = np.bincount(allocation.unit, weights=allocation.revenue, minlength=size)
    mar = np.bincount(allocation.unit, weights=allocation.margin, minlength=size)
    present = np.bincount(allocation.unit, minlength=size) > 0
    return {
        int(u): (float(conv[u]), round(float(rev[u])), round(float(mar[u])))
        for u in np.flatnonzero(present)
    }
