"""The checks of an interaction's ``campaign_id`` and ``wave_id`` (``engagement.references``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from yiti.campaigns.models import Campaign, Wave
from yiti.engagement.references import register_reference


def campaign_reference(
    actor: Any, customer: Any, value: int, refs: Mapping[str, int | None]
) -> str | None:
    """Campaigns are the company's: any existing one may be named."""
    return None if Campaign.objects.filter(pk=value).exists() else _("No such campaign.")


def wave_reference(
    actor: Any, customer: Any, value: int, refs: Mapping[str, int | None]
) -> str | None:
    """An existing wave, of the campaign named with it (if one is)."""
    campaign_id = Wave.objects.filter(pk=value).values_list("campaign_id", flat=True).first()
    if campaign_id is None:
        return _("No such wave.")
    named = refs.get("campaign_id")
    if named is not None and named != campaign_id:
        return _("This wave belongs to another campaign.")
    return None


def register() -> None:
    register_reference("campaign_id", campaign_reference)
    register_reference("wave_id", wave_reference)
