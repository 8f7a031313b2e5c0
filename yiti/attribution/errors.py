"""Error codes of attribution (STYLE.md habit 8): what the API and the pages answer."""

from __future__ import annotations

from enum import StrEnum


class AttributionErrorCode(StrEnum):
    SHARES_NOT_100 = "shares_not_100"  # the agreed shares do not add up to 100 %
    SHARES_MISSING = "shares_missing"  # fixed or mixed agreement without shares
    UNIT_NOT_IN_CAMPAIGN = "unit_not_in_campaign"  # a share for a unit outside the campaign
    REASON_REQUIRED = "reason_required"  # changing the plan of a launched campaign
    INVALID = "invalid"  # a value out of range (model, weight, days)
