"""Reads of accounting, scoped to the acting user (``accounting.rules``): a campaign's
economics, unit × product results, scorecards and their weekly snapshots."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.accounting import rules
from yiti.accounting.economics import Economics, campaign_economics, contact_costs
from yiti.accounting.errors import AccountingErrorCode as Code
from yiti.accounting.models import CostLine, ScorecardSnapshot
from yiti.accounting.results import Results, unit_product_results
from yiti.accounting.scorecards import DEFAULT_IDLE_DAYS, Scorecard, scorecards
from yiti.campaigns.models import Campaign
from yiti.campaigns.selectors import campaign_get
from yiti.core.errors import NotFound, ValidationFailed
from yiti.org.access import access_for
from yiti.org.models import OrgUnit

MAX_PERIOD_DAYS = 731


def period_check(start: date, end: date) -> tuple[date, date]:
    if end < start:
        raise ValidationFailed(
            _("The period ends before it starts."), code=Code.INVALID_PERIOD, field="end"
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed(
            _("Choose a period of at most two years."), code=Code.PERIOD_TOO_LONG, field="start"
        )
    return start, end


def default_period(today: date | None = None) -> tuple[date, date]:
    """This month so far."""
    today = today or timezone.localdate()
    return today.replace(day=1), today


def visible_units(user: Any) -> QuerySet[OrgUnit]:
    """The units whose results the user sees, in tree order (for the unit picker)."""
    scope = rules.results_scope(access_for(user))
    qs = OrgUnit.objects.order_by("path")
    return qs if scope is None else qs.filter(pk__in=scope)


def _unit_in(user: Any, unit: OrgUnit | int | None, scope: frozenset[int] | None) -> OrgUnit | None:
    if unit is None:
        return None
    unit_id = unit.pk if isinstance(unit, OrgUnit) else int(unit)
    if scope is not None and unit_id not in scope:
        raise NotFound(_("Unit not found."), code=Code.UNIT_NOT_VISIBLE)
    found = OrgUnit.objects.filter(pk=unit_id).first()
    if found is None:
        raise NotFound(_("Unit not found."), code=Code.UNIT_NOT_VISIBLE)
    return found


def results_for(user: Any, *, start: date, end: date, unit: OrgUnit | int | None = None) -> Results:
    rules.require_results(user)
    period_check(start, end)
    scope = rules.results_scope(access_for(user))
    root = _unit_in(user, unit, scope)
    return unit_product_results(start=start, end=end, scope=scope, root=root)


def scorecards_for(
    user: Any,
    *,
    start: date,
    end: date,
    unit: OrgUnit | int | None = None,
    idle_days: int = DEFAULT_IDLE_DAYS,
) -> list[Scorecard]:
    rules.require_scorecards(user)
    period_check(start, end)
    if not 1 <= idle_days <= 365:
        raise ValidationFailed(
            _("Count idle customers over 1 to 365 days."),
            code=Code.INVALID_PERIOD,
            field="idle_days",
        )
    scope, own = rules.scorecard_scope(access_for(user))
    root = _unit_in(user, unit, scope) if own is None else None
    if root is not None:
        subtree = set(
            OrgUnit.objects.filter(path__startswith=root.path).values_list("pk", flat=True)
        )
        scope = frozenset(subtree if scope is None else subtree & scope)
    return scorecards(start=start, end=end, scope=scope, only_user=own, idle_days=idle_days)


def snapshots_for(user: Any, *, week_start: date) -> QuerySet[ScorecardSnapshot]:
    rules.require_scorecards(user)
    scope, own = rules.scorecard_scope(access_for(user))
    qs = ScorecardSnapshot.objects.filter(week_start=week_start).select_related("user", "unit")
    if own is not None:
        return qs.filter(user_id=own)
    if scope is not None:
        qs = qs.filter(unit_id__in=scope)
    return qs.order_by("unit__path", "rank")


def snapshot_weeks(limit: int = 12) -> list[date]:
    return list(
        ScorecardSnapshot.objects.order_by("-week_start")
        .values_list("week_start", flat=True)
        .distinct()[:limit]
    )


def economics_for(user: Any, campaign_id: int) -> Economics:
    campaign = campaign_get(user, campaign_id)
    return campaign_economics(campaign)


def campaign_for_costs(user: Any, campaign_id: int) -> Campaign:
    campaign = campaign_get(user, campaign_id)
    rules.require_edit_costs(user, campaign)
    return campaign


def cost_line_get(user: Any, campaign: Campaign, line_id: int) -> CostLine:
    line = CostLine.objects.filter(pk=line_id, campaign=campaign).first()
    if line is None:
        raise NotFound(_("Cost line not found."))
    return line


def contact_cost_rows() -> list[tuple[str, Any, Any, Any]]:
    from yiti.campaigns.choices import WaveChannel

    rates = contact_costs()
    return [(c.value, *rates[c.value]) for c in WaveChannel]


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
