"""Writes of attribution: a campaign's plan (model and allocation agreement) and the credit
run that stores each converted order's allocation among units.

* ``plan_set``: the owner unit's campaign managers choose the model and the agreement. Before
  launch it may change freely; once launched only with a reason. Every change is audited
  with the values before and after (and the reason).
* ``credit_attribute``: one campaign, orders placed in ``[start, end)``: the campaign's whole
  book is built and attributed at once, the rows of those orders are replaced as a whole in
  one transaction — a re-run gives the same rows.
* ``credit_attribute_day``: the nightly job's work, every campaign that may have converted.
* ``credit_recompute``: all of one campaign's conversions again — enqueued (after commit)
  when the plan of a launched campaign changes, so every page shows the new terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.attribution.attribute import (
    campaign_allocate,
    campaign_book,
    campaign_units,
    plan_of,
    plan_terms,
)
from yiti.attribution.choices import AgreementBasis, AttributionModel, CreditBasis
from yiti.attribution.errors import AttributionErrorCode as Code
from yiti.attribution.models import AgreedShare, AttributionPlan, Credit
from yiti.attribution.sql import CHANNELS, O_AT, O_ID, T_AT, T_CHANNEL, T_ID
from yiti.campaigns.choices import CampaignStatus
from yiti.campaigns.models import Campaign
from yiti.campaigns.rules import require_manage
from yiti.core.audit import audit_record
from yiti.core.errors import ValidationFailed
from yiti.org.models import User

LAUNCHED = (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED)
HUNDRED = Decimal(100)
CREDIT_BATCH = 5000


def is_launched(campaign: Campaign) -> bool:
    return campaign.launched_at is not None or campaign.status in LAUNCHED


def _decimal(value: Any, field: str, *, low: Decimal, high: Decimal | None = None) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace("%", ""))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter a number."), code=Code.INVALID, field=field) from None
    if not number.is_finite() or number < low or (high is not None and number > high):
        raise ValidationFailed(
            _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high}
            if high is not None
            else _("Enter a number of at least %(low)s.") % {"low": low},
            code=Code.INVALID,
            field=field,
        )
    return number


def _plain(number: Decimal) -> str:
    """90.50 → "90.5", 90.00 → "90" (no exponent)."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plan_state(plan: AttributionPlan) -> dict[str, Any]:
    return {
        "model": plan.model,
        "basis": plan.basis,
        "touch_weight": str(plan.touch_weight),
        "lookback_days": plan.lookback_days,
        "half_life_days": str(plan.half_life_days),
        "shares": {str(s.unit_id): str(s.percent) for s in plan.shares.all()} if plan.pk else {},
    }


@transaction.atomic
def plan_set(
    *,
    actor: User | None,
    campaign: Campaign,
    model: str,
    basis: str,
    shares: Mapping[int, Any] | None = None,
    touch_weight: Any = "0.5",
    lookback_days: Any = 30,
    half_life_days: Any = 7,
    reason: str = "",
) -> AttributionPlan:
    """Choose the campaign's model and allocation agreement (module docstring).

    ``shares`` maps unit ids (the owner or participating units) to percents; for a fixed or
    mixed agreement they must add up to exactly 100 %."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    require_manage(actor, campaign)
    if model not in AttributionModel.values:
        raise ValidationFailed(_("Choose an attribution model."), code=Code.INVALID, field="model")
    if basis not in AgreementBasis.values:
        raise ValidationFailed(_("Choose how units share."), code=Code.INVALID, field="basis")
    weight = _decimal(touch_weight, "touch_weight", low=Decimal(0), high=Decimal(1))
    lookback = int(_decimal(lookback_days, "lookback_days", low=Decimal(1), high=Decimal(365)))
    half_life = _decimal(half_life_days, "half_life_days", low=Decimal("0.1"), high=Decimal(365))
    reason = (reason or "").strip()[:500]
    if is_launched(campaign) and not reason:
        raise ValidationFailed(
            _("The campaign has been launched: give the reason for changing its attribution."),
            code=Code.REASON_REQUIRED,
            field="reason",
        )
    allowed = {u.pk: u for u in campaign_units(campaign)}
    cleaned: dict[int, Decimal] = {}
    for unit_id, percent in (shares or {}).items():
        if int(unit_id) not in allowed:
            raise ValidationFailed(
                _("Only the owner unit and the participating units can have a share."),
                code=Code.UNIT_NOT_IN_CAMPAIGN,
                field="shares",
            )
        value = _decimal(percent, "shares", low=Decimal(0), high=HUNDRED)
        if value > 0:
            cleaned[int(unit_id)] = value
    if basis != AgreementBasis.TOUCHES:
        if not cleaned:
            raise ValidationFailed(
                _("Give each unit its agreed share (they must add up to 100 %)."),
                code=Code.SHARES_MISSING,
                field="shares",
            )
        total = sum(cleaned.values(), Decimal(0))
        if total != HUNDRED:
            raise ValidationFailed(
                _("The agreed shares add up to %(total)s %%; they must add up to 100 %%.")
                % {"total": _plain(total)},
                code=Code.SHARES_NOT_100,
                field="shares",
            )
    else:
        cleaned = {}
    plan = AttributionPlan.objects.select_for_update().filter(
        campaign=campaign
    ).first() or AttributionPlan(campaign=campaign)
    before = _plan_state(plan) if plan.pk else {}
    plan.model, plan.basis, plan.touch_weight = model, basis, weight
    plan.lookback_days, plan.half_life_days = lookback, half_life
    plan.changed_by = actor if getattr(actor, "pk", None) else None
    plan.change_reason = reason
    plan.save()
    plan.shares.all().delete()
    AgreedShare.objects.bulk_create(
        [AgreedShare(plan=plan, unit_id=u, percent=p) for u, p in sorted(cleaned.items())]
    )
    after = _plan_state(plan)
    if is_launched(campaign):  # credit already stored follows the new terms
        campaign_id = campaign.pk
        transaction.on_commit(lambda: _enqueue_recompute(campaign_id))
    audit_record(
        actor=actor,
        action="attribution.plan_set",
        obj=plan,
        changes={"before": before, "after": after, "reason": reason},
        summary=(
            _("Attribution of “%(campaign)s” changed after launch: %(reason)s")
            % {"campaign": campaign.name, "reason": reason}
            if is_launched(campaign)
            else _("Attribution of “%(campaign)s” set") % {"campaign": campaign.name}
        ),
    )
    return plan


def _enqueue_recompute(campaign_id: int) -> None:
    from yiti.attribution.tasks import recompute_campaign

    recompute_campaign.enqueue(campaign_id=campaign_id)


@dataclass
class RunResult:
    campaigns: int = 0
    orders: int = 0
    rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"campaigns": self.campaigns, "orders": self.orders, "rows": self.rows}


def _aware(epoch: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(int(t), tz=UTC) for t in epoch.tolist()]


@transaction.atomic
def credit_attribute(
    *, campaign: Campaign, start: datetime, end: datetime, now: datetime | None = None
) -> RunResult:
    """Store the credit of the campaign's orders placed in ``[start, end)`` (module
    docstring): their old rows are deleted and the new ones written in one transaction."""
    now = now or timezone.now()
    plan = plan_of(campaign)
    terms = plan_terms(plan)
    cb = campaign_book(campaign, terms, until=min(end, now))
    allocation = campaign_allocate(cb, terms)
    orders = cb.book.orders
    in_period = (orders[:, O_AT] >= start.timestamp()) & (orders[:, O_AT] < end.timestamp())
    keep = in_period[allocation.order]
    order_idx = allocation.order[keep]
    touch_row = allocation.touch_row[keep]
    has_touch = (touch_row >= 0).tolist()
    safe_row = np.where(touch_row >= 0, touch_row, 0) if len(cb.touches) else None
    zeros = [0] * len(order_idx)
    touch_ids = cb.touches[safe_row, T_ID].tolist() if safe_row is not None else zeros
    touched = cb.touches[safe_row, T_AT].tolist() if safe_row is not None else zeros
    codes = cb.touches[safe_row, T_CHANNEL].tolist() if safe_row is not None else zeros
    order_ids = orders[order_idx, O_ID].tolist()
    ordered_at = _aware(orders[order_idx, O_AT])
    units = allocation.unit[keep].tolist()
    shares = allocation.share[keep].tolist()
    revenue = allocation.revenue[keep].tolist()
    margin = allocation.margin[keep].tolist()
    cents = Decimal("0.01")
    rows = [
        Credit(
            order_id=order_ids[i],
            campaign_id=campaign.pk,
            unit_id=units[i],
            basis=CreditBasis.TOUCH if has_touch[i] else CreditBasis.AGREEMENT,
            channel=CHANNELS[codes[i]] if has_touch[i] and codes[i] < len(CHANNELS) else "",
            touch_id=touch_ids[i] if has_touch[i] else None,
            touched_at=datetime.fromtimestamp(touched[i], tz=UTC) if has_touch[i] else None,
            model=terms.model,
            share=shares[i],
            revenue=Decimal(revenue[i]) * cents,
            margin=Decimal(margin[i]) * cents,
            ordered_at=ordered_at[i],
            computed_at=now,
        )
        for i in range(len(order_ids))
    ]
    Credit.objects.filter(campaign=campaign, ordered_at__gte=start, ordered_at__lt=end).delete()
    Credit.objects.bulk_create(rows, batch_size=CREDIT_BATCH)
    return RunResult(campaigns=1, orders=len(set(order_ids)), rows=len(rows))


def credit_recompute(*, campaign: Campaign, now: datetime | None = None) -> RunResult:
    """Attribute all of the campaign's conversions again (after its plan changed)."""
    now = now or timezone.now()
    lookback = plan_of(campaign).lookback_days
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(campaign.starts_on, time.min, tzinfo=tz) - timedelta(days=lookback)
    return credit_attribute(campaign=campaign, start=start, end=now, now=now)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def campaigns_to_attribute(*, start: datetime, end: datetime) -> list[Campaign]:
    """Campaigns that may have converted orders placed in ``[start, end)``: launched, and
    not ended more than the longest lookback before ``start``."""
    return list(
        Campaign.objects.filter(launched_at__isnull=False, launched_at__lt=end)
        .exclude(ends_on__lt=(start - timedelta(days=366)).date())
        .select_related("owner_unit")
        .prefetch_related("offers")
        .order_by("pk")
    )


def credit_attribute_day(*, day: date, now: datetime | None = None) -> RunResult:
    """Attribute every campaign's conversions of the local ``day`` (the nightly job)."""
    start, end = day_bounds(day)
    total = RunResult()
    for campaign in campaigns_to_attribute(start=start, end=end):
        done = credit_attribute(campaign=campaign, start=start, end=end, now=now)
        total.campaigns += 1
        total.orders += done.orders
        total.rows += done.rows
    return total
