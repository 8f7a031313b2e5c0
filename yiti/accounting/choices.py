from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CostKind(models.TextChoices):
    """What a campaign's money went on. Gifts, contacts and agents' time are also computed from
    the campaign's own records (``accounting.economics``); lines of these kinds entered by
    hand add to them (an invoice the records do not show)."""

    GIFTS = "gifts", _("Gifts")
    CONTACTS = "contacts", _("SMS, e-mail and call charges")
    AGENT_TIME = "agent_time", _("Agents' time")
    MATERIALS = "materials", pgettext_lazy("campaign cost", "Materials")  # 物料
    OTHER = "other", _("Other")


class ScorecardMetric(models.TextChoices):
    """The ranking measure of the scorecards: profit, not volume."""

    PROFIT = "profit", _("Margin sold and credited")
