"""Context weights of the next best action: what the reason for contact and the channel do to
an action's score (score = propensity × value × priority weight × context weight, ADR 0007).

They are data: administrators set them on the value settings page, stored on the
``ValueSettings`` row (``context_weights``), so a change reaches decisions at once through
the catalogue's version. The defaults below hold for anything not set: a customer who came
about a fault or a complaint is asked for a follow-up before he is sold to, and an offer
made face to face lands better than one on a screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from yiti.core.errors import ValidationFailed
from yiti.decisions.choices import ActionKind, ContactReason
from yiti.engagement.choices import InteractionChannel

KINDS = (ActionKind.OFFER.value, ActionKind.CARE.value)
CHANNEL = "channel"
MAX_WEIGHT = Decimal("5")

DEFAULT_REASON_WEIGHT: dict[str, dict[str, float]] = {
    ActionKind.OFFER.value: {
        ContactReason.GENERAL.value: 1.0,
        ContactReason.BILLING.value: 1.1,
        ContactReason.CONSULTATION.value: 1.2,
        ContactReason.REPAIR.value: 0.6,
        ContactReason.SERVICE_REQUEST.value: 0.8,
        ContactReason.ORDER_PROCESSING.value: 0.9,
        ContactReason.COMPLAINT.value: 0.3,
    },
    ActionKind.CARE.value: {
        ContactReason.GENERAL.value: 1.0,
        ContactReason.BILLING.value: 1.0,
        ContactReason.CONSULTATION.value: 1.0,
        ContactReason.REPAIR.value: 1.4,
        ContactReason.SERVICE_REQUEST.value: 1.1,
        ContactReason.ORDER_PROCESSING.value: 1.1,
        ContactReason.COMPLAINT.value: 1.8,
    },
}
DEFAULT_CHANNEL_WEIGHT: dict[str, float] = {
    InteractionChannel.COUNTER.value: 1.2,
    InteractionChannel.VISIT.value: 1.2,
    InteractionChannel.CALL.value: 1.0,
    InteractionChannel.IM.value: 0.9,
    InteractionChannel.PORTAL.value: 0.8,
    InteractionChannel.EMAIL.value: 0.7,
    InteractionChannel.SMS.value: 0.6,
    InteractionChannel.PUSH.value: 0.6,
    InteractionChannel.FAX.value: 0.5,
}


def keys() -> list[str]:
    """Every weight's key, as forms, the audit and ``clean`` name it: ``offer:<reason>``,
    ``care:<reason>``, ``channel:<channel>``."""
    return [f"{k}:{r}" for k in KINDS for r in ContactReason.values] + [
        f"{CHANNEL}:{c}" for c in InteractionChannel.values
    ]


@dataclass(frozen=True)
class ContextWeights:
    reason: Mapping[str, Mapping[str, float]]  # kind -> reason -> weight
    channel: Mapping[str, float]

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> ContextWeights:
        """The weights of a stored ``context_weights`` value over the defaults."""
        stored = stored or {}
        reason = {
            kind: {**DEFAULT_REASON_WEIGHT[kind], **_floats(stored.get(kind))} for kind in KINDS
        }
        channel = {**DEFAULT_CHANNEL_WEIGHT, **_floats(stored.get(CHANNEL))}
        return cls(reason=reason, channel=channel)

    def reason_weight(self, kind: str, reason: str) -> float:
        return self.reason.get(kind, {}).get(reason, 1.0)

    def channel_weight(self, channel: str) -> float:
        return self.channel.get(channel, 1.0)

    def get(self, key: str) -> float:
        """The weight of a key of :func:`keys` (``offer:complaint``, ``channel:sms``)."""
        group, name = key.split(":", 1)
        return self.channel_weight(name) if group == CHANNEL else self.reason_weight(group, name)

    def flat(self) -> dict[str, float]:
        """Every weight by its key (``keys``)."""
        return {key: self.get(key) for key in keys()}


def _floats(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): float(v) for k, v in value.items()}


def clean(raw: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Submitted weights (by key) as the stored value: each from 0 to 5, two decimals.
    :class:`ValidationFailed` names the first wrong key."""
    known = set(keys())
    out: dict[str, dict[str, float]] = {}
    for key, value in raw.items():
        if key not in known:
            raise ValidationFailed(_("Unknown context weight."), field=key)
        try:
            number = Decimal(str(value)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationFailed(_("Enter a weight from 0 to 5."), field=key) from exc
        if not number.is_finite() or number < 0 or number > MAX_WEIGHT:
            raise ValidationFailed(_("Enter a weight from 0 to 5."), field=key)
        group, name = key.split(":", 1)
        out.setdefault(group, {})[name] = float(number)
    return out
