"""Writes of accounting: campaign budgets, cost lines, contact costs and the weekly scorecard
snapshots. Keyword-only, validated, in one transaction, audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from yiti.accounting import daily, rules
from yiti.accounting.choices import CostKind
from yiti.accounting.errors import AccountingErrorCode as Code
from yiti.accounting.models import CampaignBudget, ContactCost, CostLine, ScorecardSnapshot
from yiti.campaigns.choices import CampaignStatus, WaveChannel
from yiti.campaigns.models import Campaign
from yiti.core.audit import audit_record, diff, snapshot
from yiti.core.errors import ValidationFailed
from yiti.org.models import OrgUnit, User

MAX_AMOUNT = Decimal("999999999999.99")


def _money(value: Any, field: str, *, places: str = "0.01", positive: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("Enter an amount in yuan."), code=Code.INVALID_AMOUNT, field=field
        ) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT or (positive and amount == 0):
        raise ValidationFailed(
            _("Enter an amount greater than zero.")
            if positive
            else _("Enter an amount of zero or more."),
            code=Code.INVALID_AMOUNT,
            field=field,
        )
    return amount.quantize(Decimal(places))


def _campaign_unit(campaign: Campaign, unit: OrgUnit) -> None:
    allowed = set(campaign.participating_units.values_list("pk", flat=True))
    allowed.add(campaign.owner_unit_id)
    if unit.pk not in allowed:
        raise ValidationFailed(
            _("%(unit)s neither owns nor takes part in this campaign.") % {"unit": unit.name},
            code=Code.UNIT_NOT_IN_CAMPAIGN,
            field="unit",
        )


@transaction.atomic
def budget_set(
    *, actor: User | None, campaign: Campaign, unit: OrgUnit, amount: Any, note: str = ""
) -> CampaignBudget:
    """Set a unit's budget for the campaign (zero keeps the row: the unit said "nothing")."""
    rules.require_edit_costs(actor, campaign)
    _campaign_unit(campaign, unit)
    value = _money(amount, "amount")
    note = (note or "").strip()[:255]
    budget = CampaignBudget.objects.select_for_update().filter(campaign=campaign, unit=unit).first()
    if budget is None:
        budget = CampaignBudget.objects.create(
            campaign=campaign, unit=unit, amount=value, note=note
        )
        changes: dict[str, Any] = {"unit": unit.pk, "amount": value, "note": note}
    else:
        before = snapshot(budget, ("amount", "note"))
        budget.amount, budget.note = value, note
        budget.save(update_fields=["amount", "note", "updated_at"])
        changes = diff(before, snapshot(budget, ("amount", "note")))
    audit_record(
        actor=actor,
        action="campaign.budget_set",
        obj=campaign,
        changes={"unit": unit.pk, **changes},
        summary=f"{unit.name}: {value}",
    )
    return budget


@transaction.atomic
def cost_line_add(
    *,
    actor: User | None,
    campaign: Campaign,
    unit: OrgUnit,
    kind: str,
    description: str,
    unit_cost: Any,
    quantity: Any = 1,
    incurred_on: date,
) -> CostLine:
    """Record a cost a unit incurred for the campaign (amount = quantity × unit cost)."""
    rules.require_edit_costs(actor, campaign)
    if kind not in CostKind.values:
        raise ValidationFailed(
            _("Choose what the cost was for."), code=Code.INVALID_KIND, field="kind"
        )
    _campaign_unit(campaign, unit)
    text = (description or "").strip()
    if not text:
        raise ValidationFailed(
            _("Say what the cost was for."), code=Code.DESCRIPTION_REQUIRED, field="description"
        )
    qty = _money(quantity, "quantity", positive=True)
    price = _money(unit_cost, "unit_cost")
    amount = (qty * price).quantize(Decimal("0.01"))
    if amount > MAX_AMOUNT:
        raise ValidationFailed(
            _("The amount is too large."), code=Code.INVALID_AMOUNT, field="quantity"
        )
    if not isinstance(incurred_on, date):
        raise ValidationFailed(
            _("Enter the day of the cost."), code=Code.INVALID_PERIOD, field="incurred_on"
        )
    line = CostLine.objects.create(
        campaign=campaign,
        unit=unit,
        kind=kind,
        description=text[:200],
        quantity=qty,
        unit_cost=price,
        amount=amount,
        incurred_on=incurred_on,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    daily.day_unbuild(incurred_on)  # the stored day no longer holds; live until rebuilt
    audit_record(
        actor=actor,
        action="campaign.cost_add",
        obj=line,
        changes=snapshot(
            line,
            (
                "campaign",
                "unit",
                "kind",
                "description",
                "quantity",
                "unit_cost",
                "amount",
                "incurred_on",
            ),
        ),
        summary=f"{campaign.code}: {amount}",
    )
    return line


@transaction.atomic
def cost_line_delete(*, actor: User | None, line: CostLine, reason: str = "") -> None:
    """Remove a cost line entered by mistake (audited with its values)."""
    campaign = Campaign.objects.get(pk=line.campaign_id)
    rules.require_edit_costs(actor, campaign)
    if campaign.status == CampaignStatus.COMPLETED and not (reason or "").strip():
        raise ValidationFailed(
            _("The campaign is completed: say why this cost is removed."),
            code=Code.CAMPAIGN_COMPLETED,
            field="reason",
        )
    audit_record(
        actor=actor,
        action="campaign.cost_delete",
        obj=line,
        changes={
            **snapshot(line, ("campaign", "unit", "kind", "description", "amount", "incurred_on")),
            "reason": (reason or "").strip()[:255],
        },
    )
    daily.day_unbuild(line.incurred_on)
    line.delete()


@transaction.atomic
def contact_cost_set(
    *,
    actor: User | None,
    channel: str,
    per_contact: Any,
    agent_minutes: Any = 0,
    agent_hour_cost: Any = 0,
) -> ContactCost:
    """Set what one contact on a channel costs (charge, agent minutes, agent hourly cost)."""
    rules.require_contact_costs(actor)
    if channel not in WaveChannel.values:
        raise ValidationFailed(_("Unknown channel."), code=Code.INVALID_CHANNEL, field="channel")
    values = {
        "per_contact": _money(per_contact, "per_contact", places="0.0001"),
        "agent_minutes": _money(agent_minutes, "agent_minutes", places="0.1"),
        "agent_hour_cost": _money(agent_hour_cost, "agent_hour_cost"),
    }
    row = ContactCost.objects.select_for_update().filter(channel=channel).first()
    fields = ("per_contact", "agent_minutes", "agent_hour_cost")
    if row is None:
        row = ContactCost.objects.create(channel=channel, **values)
        changes: dict[str, Any] = {"channel": channel, **values}
    else:
        before = snapshot(row, fields)
        for name, value in values.items():
            setattr(row, name, value)
        row.save(update_fields=[*fields, "updated_at"])
        changes = diff(before, snapshot(row, fields))
    if changes:
        audit_record(actor=actor, action="accounting.contact_cost_set", obj=row, changes=changes)
    return row


@transaction.atomic
def scorecards_snapshot(*, week_start: date, rows: list[dict[str, Any]]) -> int:
    """Store one week's scorecards (replacing that week's rows: a re-run gives the same)."""
    ScorecardSnapshot.objects.filter(week_start=week_start).delete()
    ScorecardSnapshot.objects.bulk_create(
        [
            ScorecardSnapshot(
                week_start=week_start,
                user_id=r["user_id"],
                unit_id=r["unit_id"],
                rank=r["rank"],
                of=r["of"],
                profit=r["profit"],
                data=r["data"],
            )
            for r in rows
        ]
    )
    audit_record(
        actor=None,
        action="accounting.scorecards_snapshot",
        object_type="accounting.scorecardsnapshot",
        object_id=week_start.isoformat(),
        changes={"week_start": week_start, "account_managers": len(rows)},
    )
    return len(rows)
