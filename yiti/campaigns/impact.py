"""What a contact-rule change would do to the waves already planned: a dry run through the planner.

Before a rule is saved, the policy page asks: of the customers the planned waves of the
campaigns under way (``ACTIVE_STATUSES``) would contact, how many would the proposed rule set
exclude that the current one does not? Each planned wave is planned twice with
``wave_plan(dry_run=True)`` — once with the rules as they are, once with the proposed set put
in their place (``policy_data.rules_proposed``, a context variable: the planner reads the rules
as data, and no other request sees the proposal). Both runs happen inside a transaction that
is always rolled back, so even a future planner that wrote during a dry run would leave
nothing behind.

Per wave: customers planned now and with the change, the difference (newly excluded, or newly
planned when a rule loosens), and the exclusion reasons that grew. The planner decides each
wave together with its competitors, so the counts include arbitration's knock-on effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from yiti.campaigns.choices import ACTIVE_STATUSES, WaveStatus
from yiti.campaigns.models import Campaign, Wave
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.selectors import reason_label
from yiti.engagement.models import ContactPolicyRule
from yiti.engagement.policy import Rule
from yiti.engagement.policy_data import rule_of, rules_active, rules_proposed


@dataclass
class WaveImpact:
    campaign: str  # the campaign's name
    wave: str  # the wave's name
    number: int
    scheduled_at: datetime
    planned_now: int
    planned_after: int
    reasons: dict[str, int] = field(default_factory=dict)  # exclusion reasons that grew
    labels: list[tuple[str, int]] = field(default_factory=list)  # the same, in words

    @property
    def newly_excluded(self) -> int:
        return max(0, self.planned_now - self.planned_after)

    @property
    def newly_planned(self) -> int:
        return max(0, self.planned_after - self.planned_now)


@dataclass
class Impact:
    waves: list[WaveImpact]

    @property
    def planned_waves(self) -> int:
        return len(self.waves)

    @property
    def newly_excluded(self) -> int:
        return sum(w.newly_excluded for w in self.waves)

    @property
    def newly_planned(self) -> int:
        return sum(w.newly_planned for w in self.waves)

    @property
    def changed(self) -> list[WaveImpact]:
        return [w for w in self.waves if w.planned_now != w.planned_after]


def planned_waves() -> list[Wave]:
    """The planned waves of the campaigns under way, soonest first."""
    return list(
        Wave.objects.filter(status=WaveStatus.PLANNED, campaign__status__in=ACTIVE_STATUSES)
        .select_related("campaign")
        .order_by("scheduled_at", "pk")
    )


def rules_with(
    values: dict[str, Any] | None, *, replacing: ContactPolicyRule | None = None
) -> list[Rule]:
    """The active rule set with one rule changed: ``replacing`` (a stored rule) swapped for
    ``values`` (its proposed fields incl. ``active``), or ``values`` added as a new rule;
    in the engine's order (stored rules by id, a new one last)."""
    out: list[Rule] = []
    proposed = None
    if values is not None and values.get("active", True):
        proposed = rule_of(ContactPolicyRule(**{k: v for k, v in values.items() if k != "active"}))
    for stored in ContactPolicyRule.objects.filter(active=True).order_by("id"):
        if replacing is not None and stored.pk == replacing.pk:
            if proposed is not None:
                out.append(proposed)
                proposed = None
            continue
        out.append(rule_of(stored))
    if proposed is not None:  # new, or a stored rule being switched on
        if replacing is not None and replacing.pk is not None:
            ids = [
                r.pk
                for r in ContactPolicyRule.objects.filter(active=True).order_by("id")
                if r.pk < replacing.pk
            ]
            out.insert(len(ids), proposed)
        else:
            out.append(proposed)
    return out


def rule_change_impact(proposed: list[Rule]) -> Impact:
    """Dry-run every planned wave with the current and the ``proposed`` rules (nothing kept)."""
    waves = planned_waves()
    results: list[WaveImpact] = []
    with transaction.atomic():
        current = rules_active()
        for wave in waves:
            with rules_proposed(current):
                before = wave_plan(actor=None, wave=wave, dry_run=True)
            with rules_proposed(proposed):
                after = wave_plan(actor=None, wave=wave, dry_run=True)
            grew = {
                reason: count - before.excluded.get(reason, 0)
                for reason, count in after.excluded.items()
                if count > before.excluded.get(reason, 0)
            }
            results.append(
                WaveImpact(
                    campaign=wave.campaign.name,
                    wave=wave.name,
                    number=wave.number,
                    scheduled_at=wave.scheduled_at,
                    planned_now=before.planned,
                    planned_after=after.planned,
                    reasons=dict(sorted(grew.items())),
                )
            )
        transaction.set_rollback(True)
    arbitration = {
        int(r.split(":", 1)[1])
        for w in results
        for r in w.reasons
        if r.startswith("lost_arbitration:") and r.split(":", 1)[1].isdigit()
    }
    names = dict(Campaign.objects.filter(pk__in=arbitration).values_list("pk", "name"))
    for w in results:
        w.labels = [(reason_label(r, names), n) for r, n in w.reasons.items()]
    return Impact(waves=results)
