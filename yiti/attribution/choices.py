"""Choices of attribution: the models and the bases of an allocation agreement."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AttributionModel(models.TextChoices):
    FIRST_TOUCH = "first_touch", _("First touch")
    LAST_TOUCH = "last_touch", _("Last touch")
    LINEAR = "linear", _("Linear")
    POSITION_BASED = "position_based", _("Position-based (40/20/40)")
    TIME_DECAY = "time_decay", _("Time decay")
    MARKOV = "markov", _("Markov removal effect")
    SHAPLEY = "shapley", _("Shapley value")


class AgreementBasis(models.TextChoices):
    TOUCHES = "touches", _("By attributed touches")
    FIXED = "fixed", _("Fixed shares agreed in advance")
    MIX = "mix", pgettext_lazy("agreement basis", "Mix of both")


class CreditBasis(models.TextChoices):
    """Why a unit got a piece of an order: one of its touches, or its agreed fixed share."""

    TOUCH = "touch", _("Touch")
    AGREEMENT = "agreement", _("Agreed share")
