"""Reads for the value model: fits, tier counts and migration, one customer's scores, settings.

The value page shows company-wide aggregates (counts, parameters) and no personal data, for
the roles that compare the whole book (``rules.can_view_value``). One customer's scores are
read only through a customer the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet

from yiti.customers.choices import ValueTier
from yiti.customers.models import Customer, CustomerValue
from yiti.customers.selectors import customer_get_for
from yiti.decisions.choices import DEFAULT_COSTS, CostItem, FitStatus
from yiti.decisions.models import ServiceCost, TierChange, ValueModelFit, ValueSettings

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
