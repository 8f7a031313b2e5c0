"""Reads for the value model: fits, tier counts and migration, one customer's scores, settings.

The value page shows company-wide aggregates (counts, parameters) and no personal data, for
the roles that compare the whole book (``rules.can_view_value``). One customer's scores are
read only through a customer the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns.models import Offer
from yiti.core.errors import NotFound, ValidationFailed
from yiti.customers.choices import ValueTier
from yiti.customers.models import Customer, CustomerValue
from yiti.customers.selectors import customer_get_for
from yiti.decisions import nba
from yiti.decisions.choices import DEFAULT_COSTS, CareAction, ContactReason, CostItem, FitStatus
from yiti.decisions.models import (
    NbaOutcome,
    Propensity,
    ServiceCost,
    TierChange,
    ValueModelFit,
    ValueSettings,
)
from yiti.decisions.nba import Context, NextBest
from yiti.engagement.choices import Direction, InteractionChannel
from yiti.org.access import access_for

TIER_ORDER = (ValueTier.MVC, ValueTier.MGC, ValueTier.STANDARD, ValueTier.BZ)


def value_settings_current() -> ValueSettings:
    """The settings row, or the defaults (unsaved) when it is missing."""
    return ValueSettings.objects.filter(pk=1).first() or ValueSettings(pk=1)


def unit_costs_current() -> dict[str, Decimal]:
    """The unit cost of every item; an item without a row costs its default."""
    costs = {item: Decimal(value) for item, value in DEFAULT_COSTS.items()}
    costs.update(dict(ServiceCost.objects.values_list("item", "cost")))
    return costs


def service_costs() -> list[ServiceCost]:
    """One row per cost item, in the order of the choices (unsaved defaults for missing rows)."""
    stored = {c.item: c for c in ServiceCost.objects.all()}
    return [
        stored.get(item) or ServiceCost(item=item, cost=Decimal(DEFAULT_COSTS[item]))
        for item in CostItem.values
    ]


def fits_recent(*, limit: int = 10) -> QuerySet[ValueModelFit]:
    return ValueModelFit.objects.select_related("requested_by").order_by("-created_at", "-id")[
        :limit
    ]


def fits_list() -> QuerySet[ValueModelFit]:
    return ValueModelFit.objects.select_related("requested_by").order_by("-created_at", "-id")


def fit_latest_succeeded() -> ValueModelFit | None:
    return (
        ValueModelFit.objects.filter(status=FitStatus.SUCCEEDED)
        .order_by("-fitted_at", "-id")
        .first()
    )


def fit_busy() -> ValueModelFit | None:
    """A fit queued or running, if any."""
    return (
        ValueModelFit.objects.filter(status__in=[FitStatus.QUEUED, FitStatus.RUNNING])
        .order_by("-created_at", "-id")
        .first()
    )


def tier_counts() -> dict[str, int]:
    """Customers per tier in the current scores (one grouped query)."""
    rows = dict(
        CustomerValue.objects.order_by().values_list("tier").annotate(n=Count("customer_id"))
    )
    return {tier.value: int(rows.get(tier.value, 0)) for tier in TIER_ORDER}


@dataclass(frozen=True)
class Migration:
    """From-tier × to-tier counts between a fit and the previous one (``""``: newly scored)."""

    fit: ValueModelFit
    tiers: tuple[str, ...]
    from_tiers: tuple[str, ...]
    counts: dict[tuple[str, str], int]
    stayed: dict[str, int]

    def cell(self, from_tier: str, to_tier: str) -> int:
        if from_tier == to_tier:
            return self.stayed.get(to_tier, 0)
        return self.counts.get((from_tier, to_tier), 0)

    def rows(self) -> list[tuple[str, list[int], int]]:
        """(from tier, counts per to tier, row total), for the template."""
        out = []
        for from_tier in self.from_tiers:
            cells = [self.cell(from_tier, to_tier) for to_tier in self.tiers]
            out.append((from_tier, cells, sum(cells)))
        return out


def tier_migration(fit: ValueModelFit | None = None) -> Migration | None:
    """How customers moved between tiers at ``fit`` (default: the last successful fit).

    The changes are one grouped query over the fit's ``TierChange`` rows; who stayed in a tier
    is the fit's count of that tier minus the changes into it (the counts are stored on the
    fit when it succeeds).
    """
    fit = fit or fit_latest_succeeded()
    if fit is None:
        return None
    counts: dict[tuple[str, str], int] = {}
    for from_tier, to_tier, n in (
        TierChange.objects.filter(fit=fit)
        .order_by()
        .values_list("from_tier", "to_tier")
        .annotate(n=Count("id"))
    ):
        counts[(from_tier, to_tier)] = int(n)
    into: dict[str, int] = {}
    for (_from, to_tier), n in counts.items():
        into[to_tier] = into.get(to_tier, 0) + n
    tiers = tuple(t.value for t in TIER_ORDER)
    stayed = {t: max(0, int(fit.tier_counts.get(t, 0)) - into.get(t, 0)) for t in tiers}
    return Migration(fit=fit, tiers=tiers, from_tiers=(*tiers, ""), counts=counts, stayed=stayed)


@dataclass(frozen=True)
class CustomerValueView:
    customer: Customer
    value: CustomerValue | None
    history: list[TierChange]


def customer_value_for(user: Any, customer_id: int, *, history: int = 10) -> CustomerValueView:
    """One customer's scores and tier history, if the user may see the customer (else
    ``NotFound``)."""
    customer = customer_get_for(user, customer_id)
    return customer_value_of(customer, history=history)


def customer_value_of(customer: Customer, *, history: int = 10) -> CustomerValueView:
    """Scores and tier history of a customer the caller has already checked access to."""
    value = CustomerValue.objects.filter(customer=customer).first()
    changes = list(
        TierChange.objects.filter(customer=customer)
        .select_related("fit")
        .order_by("-at", "-id")[:history]
    )
    return CustomerValueView(customer=customer, value=value, history=changes)


# --- next best action ------------------------------------------------------------------------


def nba_context_clean(
    user: Any,
    *,
    channel: str | None = None,
    reason: str | None = None,
    unit_id: Any = None,
    ticket_id: Any = None,
    direction: str | None = None,
) -> Context:
    """The context of a decision, validated (:class:`ValidationFailed` names the bad field).

    ``unit_id`` (the unit credited with a sale) must be one of the user's own units; by default
    the unit ``campaigns.outcomes.credit_unit`` picks when the outcome is recorded.
    ``direction`` defaults to ``in`` (inbound): the customer came to the agent who is serving him.
    """
    channel = channel or InteractionChannel.CALL.value
    if channel not in InteractionChannel.values:
        raise ValidationFailed(_("Unknown channel: %(v)s") % {"v": channel}, field="channel")
    reason = reason or ContactReason.GENERAL.value
    if reason not in ContactReason.values:
        raise ValidationFailed(
            _("Unknown reason for contact: %(v)s") % {"v": reason}, field="reason"
        )
    unit: int | None = None
    if unit_id not in (None, ""):
        try:
            unit = int(unit_id)
        except (TypeError, ValueError):
            raise ValidationFailed(_("The unit must be a number."), field="unit_id") from None
        if user is not None and unit not in access_for(user).home_unit_ids:
            raise ValidationFailed(
                _("The unit credited must be one of your own units."), field="unit_id"
            )
    ticket: int | None = None
    if ticket_id not in (None, ""):
        try:
            ticket = int(ticket_id)
        except (TypeError, ValueError):
            raise ValidationFailed(_("The ticket must be a number."), field="ticket_id") from None
    direction = direction or Direction.INBOUND.value
    if direction not in Direction.values:
        raise ValidationFailed(
            _("The direction is “in” (the customer came to us) or “out”, not %(v)s.")
            % {"v": direction},
            field="direction",
        )
    return Context(
        channel=channel, reason=reason, unit_id=unit, ticket_id=ticket, direction=direction
    )


def next_best_for(
    user: Any,
    customer_id: int,
    context: Context,
    *,
    now: datetime | None = None,
    top: int = nba.TOP,
) -> NextBest:
    """The next best actions for a customer the user may see (:class:`NotFound` otherwise).

    Two queries for the customer (``nba.profile_load``) whatever the number of offers; the
    visibility check is made on the profile read (``customers.rules.is_visible``).
    """
    now = now or timezone.now()
    loaded = nba.load(int(customer_id), now=now)
    if loaded is None or (
        user is not None and not nba.profile_visible_to(access_for(user), loaded)
    ):
        raise NotFound(_("Customer not found."))
    return nba.decide(loaded, context, now=now, top=top)


@dataclass(frozen=True)
class PropensityRow:
    """One action × segment as the propensity page and API show it."""

    action: str
    name: str
    segment: str
    prior_alpha: float
    prior_beta: float
    prior_mean: float
    successes: int
    failures: int
    posterior_mean: float
    updated_at: datetime | None


def action_names() -> dict[str, str]:
    names = {f"offer:{pk}": name for pk, name in Offer.objects.values_list("pk", "name")}
    names.update({f"care:{c.value}": str(c.label) for c in CareAction})
    return names


def propensities_list(*, action: str = "", segment: str = "") -> list[PropensityRow]:
    """The learned propensities (rows exist from an action's first outcome in a segment)."""
    qs = Propensity.objects.order_by("action", "segment")
    if action:
        qs = qs.filter(action=action)
    if segment:
        qs = qs.filter(segment=segment)
    names = action_names()
    return [
        PropensityRow(
            action=p.action,
            name=names.get(p.action, p.action),
            segment=p.segment,
            prior_alpha=p.prior_alpha,
            prior_beta=p.prior_beta,
            prior_mean=p.prior_mean,
            successes=p.successes,
            failures=p.failures,
            posterior_mean=p.posterior_mean,
            updated_at=p.updated_at,
        )
        for p in qs
    ]


def nba_outcomes_recent(*, limit: int = 20) -> QuerySet[NbaOutcome]:
    return NbaOutcome.objects.select_related("actor", "unit", "offer").order_by(
        "-created_at", "-id"
    )[:limit]


def nba_outcomes_undoable(user: Any, customer_id: int, *, now: datetime | None = None) -> list[Any]:
    """The user's acceptances for this customer that may still be undone, newest first, each
    with ``undo_until`` (``ValueSettings.undo_minutes`` after it was recorded)."""
    if user is None or not getattr(user, "pk", None):
        return []
    now = now or timezone.now()
    minutes = int(value_settings_current().undo_minutes)
    if minutes <= 0:
        return []
    since = now - timedelta(minutes=minutes)
    rows = list(
        NbaOutcome.objects.filter(
            customer_id=customer_id,
            actor_id=user.pk,
            result="accepted",
            undone_at__isnull=True,
            created_at__gte=since,
        )
        .select_related("offer", "order", "order__product", "care_task")
        .order_by("-created_at", "-id")[:3]
    )
    for row in rows:
        row.undo_until = row.created_at + timedelta(minutes=minutes)  # type: ignore[attr-defined]
    return rows


def nba_outcome_get_for(user: Any, outcome_id: int) -> NbaOutcome:
    """An outcome of a customer the user may see (:class:`NotFound` otherwise)."""
    outcome = NbaOutcome.objects.select_related("customer").filter(pk=outcome_id).first()
    if outcome is None:
        raise NotFound(_("No such outcome."))
    customer_get_for(user, outcome.customer_id)
    return outcome


def offer_of_action(offer_id: int) -> Offer:
    """The offer an action proposes (the decision already checked the customer may have it)."""
    offer = Offer.objects.select_related("product").filter(pk=offer_id, active=True).first()
    if offer is None:
        raise NotFound(_("Offer not found."))
    return offer
