"""Forms of the campaign pages. They read input; the services decide and validate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiti.campaigns.choices import (
    BROADCAST_CHANNELS,
    AgentRole,
    BenefitKind,
    CallOutcome,
    CampaignStatus,
    WaveChannel,
    WaveKind,
    WaveSource,
)
from yiti.campaigns.models import Campaign, Offer, Segment, Wave
from yiti.customers.models import Product
from yiti.org.models import OrgUnit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MAX_CHANNELS = 4


def unit_label(unit: Any) -> str:
    """A unit's name indented by its depth, for flat select lists."""
    return "\u2003" * max(unit.depth - 1, 0) + unit.name


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return unit_label(obj)


class UnitsChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return unit_label(obj)


class CampaignFilterForm(forms.Form):
    """Only renders the filter bar; ``selectors.CampaignFilters`` reads the values."""

    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *CampaignStatus.choices],
    )


class CampaignForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"), max_length=40, help_text=_("Letters, digits and hyphens, e.g. bb-winter.")
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    owner_unit = UnitChoice(label=_("Owner unit"), queryset=OrgUnit.objects.none())
    participating_units = UnitsChoice(
        label=_("Participating units"),
        queryset=OrgUnit.objects.none(),
        help_text=_("The audience is the segment's customers in these units and below."),
    )
    service_unit = UnitChoice(
        label=_("Service unit that reviews the offer"), queryset=OrgUnit.objects.none()
    )
    stock_unit = UnitChoice(
        label=_("Unit that holds the gift stock"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=_("The owner unit"),
    )
    segment = forms.ModelChoiceField(
        label=pgettext_lazy("customer group", "Segment"), queryset=Segment.objects.none()
    )
    offers = forms.ModelMultipleChoiceField(label=_("Offers"), queryset=Offer.objects.none())
    starts_on = forms.DateField(label=_("Starts on"), widget=DATE)
    ends_on = forms.DateField(label=_("Ends on"), widget=DATE)
    priority = forms.IntegerField(
        label=_("Priority (1–10)"),
        initial=5,
        min_value=1,
        max_value=10,
        help_text=_("When campaigns compete for a customer, the higher priority wins."),
    )
    goal = forms.CharField(label=_("Goal"), max_length=255, required=False)
    goal_conversions = forms.IntegerField(label=_("Target conversions"), initial=0, min_value=0)
    expected_take_up = forms.DecimalField(
        label=_("Expected take-up rate"),
        initial="0.05",
        min_value=0,
        max_value=1,
        decimal_places=4,
        help_text=_("A share of the audience between 0 and 1: 0.05 is 5 %. Sizes the gift stock."),
    )
    lead_days = forms.IntegerField(
        label=_("Days the front line needs to learn the offer"),
        initial=3,
        min_value=0,
        max_value=365,
    )
    complaint_threshold = forms.DecimalField(
        label=_("Pause at complaints per 1,000 contacts"), initial=5, min_value=0, decimal_places=2
    )
    complaint_min_contacts = forms.IntegerField(
        label=_("Count complaints after (contacts)"), initial=200, min_value=0
    )
    attribution_days = forms.IntegerField(
        label=_("Orders count as conversions within (days)"),
        initial=14,
        min_value=1,
        max_value=365,
    )

    def __init__(self, *args: Any, owner_units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        every_unit = OrgUnit.objects.order_by("path")
        fields: dict[str, Any] = self.fields
        fields["owner_unit"].queryset = owner_units if owner_units is not None else every_unit
        for name in ("participating_units", "service_unit", "stock_unit"):
            fields[name].queryset = every_unit
        fields["participating_units"].widget.attrs["size"] = 8
        fields["segment"].queryset = Segment.objects.order_by("name")
        fields["offers"].queryset = Offer.objects.filter(active=True).order_by("code")

    @staticmethod
    def initial_for(campaign: Campaign) -> dict[str, Any]:
        names = [n for n in CampaignForm.base_fields if n not in ("participating_units", "offers")]
        initial: dict[str, Any] = {n: getattr(campaign, n) for n in names}
        for name in ("owner_unit", "service_unit", "stock_unit", "segment"):
            initial[name] = getattr(campaign, f"{name}_id")
        initial["participating_units"] = list(
            campaign.participating_units.values_list("pk", flat=True)
        )
        initial["offers"] = list(campaign.offers.values_list("pk", flat=True))
        return initial


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


class SignForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class ConflictAcceptForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the conflict is acceptable"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- waves -----------------------------------------------------------------------------------


def _channel_choices(kind: str | None = None) -> list[tuple[str, Any]]:
    allowed = [c.value for c in BROADCAST_CHANNELS]
    if kind != WaveKind.BROADCAST:
        allowed.append(WaveChannel.CALL.value)
    return [("", "—"), *[(v, label) for v, label in WaveChannel.choices if v in allowed]]


class WaveForm(forms.Form):
    """A wave; the page shows the fields of the chosen kind (``data-kinds`` on each field)."""

    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=WaveKind.choices)
    scheduled_at = forms.DateTimeField(label=_("Send at / calls start"), widget=DATETIME)
    offer = forms.ModelChoiceField(
        label=_("Offer"),
        queryset=Offer.objects.none(),
        required=False,
        empty_label=_("The campaign's first offer"),
    )
    source = forms.ChoiceField(label=_("Audience"), choices=WaveSource.choices, initial="audience")
    source_wave = forms.ModelChoiceField(
        label=_("Of wave"), queryset=Wave.objects.none(), required=False, empty_label="—"
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Placeholders: {name} the customer's name, {offer} the offer, {gift} the gift, "
            "{link} the response link (added at the end when missing)."
        ),
    )
    ends_at = forms.DateTimeField(label=_("Calls end"), widget=DATETIME, required=False)
    agent_role = forms.ChoiceField(
        label=_("Worked by"), choices=AgentRole.choices, initial=AgentRole.SERVICE_AGENT
    )
    agents = forms.IntegerField(label=_("Agents"), min_value=0, required=False)
    hours = forms.DecimalField(
        label=_("Hours"), min_value=0, decimal_places=1, required=False, max_digits=5
    )
    calls_per_agent_hour = forms.IntegerField(
        label=_("Calls per agent-hour"), min_value=0, required=False
    )
    visit_min_value = forms.DecimalField(
        label=_("Visit customers worth at least (yuan)"),
        required=False,
        min_value=0,
        decimal_places=2,
        help_text=_(
            "Customers of this lifetime value or more get a visit by their account manager."
        ),
    )

    holdout_share = forms.DecimalField(
        label=_("Hold out (per cent of the audience)"),
        required=False,
        min_value=0,
        max_value=50,
        decimal_places=1,
        help_text=_(
            "A random control group, not contacted by this wave, so that the campaign page "
            "can show the uplift against it."
        ),
    )

    # which kinds show which field (all fields show without JavaScript)
    KINDS: dict[str, tuple[str, ...]] = {
        "subject": ("broadcast", "follow_up"),
        "message": ("broadcast", "follow_up"),
        "ends_at": ("call",),
        "agent_role": ("call",),
        "agents": ("call",),
        "hours": ("call",),
        "calls_per_agent_hour": ("call",),
        "visit_min_value": ("follow_up",),
        **{f"channel_{i}": ("broadcast", "follow_up") for i in range(1, MAX_CHANNELS + 1)},
    }

    def __init__(self, *args: Any, campaign: Campaign, wave: Wave | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["offer"].queryset = campaign.offers.order_by("code")
        earlier = campaign.waves.order_by("number")
        if wave is not None:
            earlier = earlier.filter(number__lt=wave.number)
        fields["source_wave"].queryset = earlier
        fields["source_wave"].label_from_instance = lambda w: f"{w.number}. {w.name}"
        for i in range(1, MAX_CHANNELS + 1):
            fields[f"channel_{i}"] = forms.ChoiceField(
                label=_("Channel, choice %(n)d") % {"n": i},
                choices=_channel_choices(),
                required=False,
                help_text=_("Each customer gets the first channel he can be reached on.")
                if i == 1
                else "",
            )
        self.order_fields(
            [
                "name",
                "kind",
                "scheduled_at",
                "offer",
                "source",
                "source_wave",
                *[f"channel_{i}" for i in range(1, MAX_CHANNELS + 1)],
            ]
        )
        fields = self.fields  # order_fields made a new dict
        for name, kinds in self.KINDS.items():
            fields[name].widget.attrs["data-kinds"] = " ".join(kinds)
        for name in ("agents", "hours", "calls_per_agent_hour"):
            fields[name].widget.attrs["data-capacity"] = name

    @staticmethod
    def initial_for(wave: Wave) -> dict[str, Any]:
        initial: dict[str, Any] = {
            n: getattr(wave, n)
            for n in (
                "name",
                "kind",
                "scheduled_at",
                "source",
                "subject",
                "message",
                "ends_at",
                "agent_role",
                "agents",
                "hours",
                "calls_per_agent_hour",
                "visit_min_value",
            )
        }
        initial["offer"] = wave.offer_id
        initial["source_wave"] = wave.source_wave_id
        initial["holdout_share"] = (Decimal(wave.holdout_share) * 100).quantize(Decimal("0.1"))
        for i, channel in enumerate(wave.channels[:MAX_CHANNELS], start=1):
            initial[f"channel_{i}"] = channel
        return initial

    def service_data(self) -> dict[str, Any]:
        """The cleaned data as the keyword arguments of ``wave_create``/``wave_update``."""
        data = self.cleaned_data
        out = {
            n: data.get(n)
            for n in (
                "name",
                "kind",
                "scheduled_at",
                "offer",
                "source",
                "source_wave",
                "subject",
                "message",
                "ends_at",
                "agent_role",
                "visit_min_value",
            )
        }
        out["channels"] = [
            data[f"channel_{i}"] for i in range(1, MAX_CHANNELS + 1) if data.get(f"channel_{i}")
        ]
        for name in ("agents", "hours", "calls_per_agent_hour"):
            out[name] = data.get(name) or 0
        out["subject"] = out["subject"] or ""
        out["message"] = out["message"] or ""
        if data.get("source") == WaveSource.AUDIENCE:
            out["source_wave"] = None
        out["holdout_share"] = (data.get("holdout_share") or 0) / 100
        return out


# --- offers and segments -------------------------------------------------------------------


class OfferForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=120)
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none())
    benefit = forms.ChoiceField(label=_("Benefit"), choices=BenefitKind.choices)
    benefit_value = forms.DecimalField(
        label=_("Benefit value"),
        min_value=0,
        decimal_places=2,
        initial=0,
        help_text=_("Discount in per cent, credit in yuan, or the gift's cost in yuan."),
    )
    gift_name = forms.CharField(label=_("Gift"), max_length=120, required=False)
    stock_total = forms.IntegerField(
        label=_("Gift stock"), min_value=0, initial=0, help_text=_("Gifts on hand for this offer.")
    )
    terms = forms.CharField(
        label=_("Terms and conditions"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    faq = forms.CharField(
        label=_("FAQ for the front line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What agents answer when customers ask; service reviews it before launch."),
    )
    incompatible_with = forms.ModelMultipleChoiceField(
        label=_("Incompatible with"),
        queryset=Offer.objects.none(),
        required=False,
        help_text=_("Campaigns with these offers conflict when their audiences overlap."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, offer: Offer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["product"].queryset = Product.objects.order_by("code")
        others = Offer.objects.order_by("code")
        fields["incompatible_with"].queryset = others.exclude(pk=offer.pk) if offer else others
        if offer is None:
            del fields["active"]  # a new offer is active

    @staticmethod
    def initial_for(offer: Offer) -> dict[str, Any]:
        names = ("code", "name", "benefit", "benefit_value", "gift_name", "stock_total")
        initial: dict[str, Any] = {n: getattr(offer, n) for n in names}
        initial.update(terms=offer.terms, faq=offer.faq, active=offer.active)
        initial["product"] = offer.product_id
        initial["incompatible_with"] = list(offer.incompatible_with.values_list("pk", flat=True))
        return initial


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    unit = UnitChoice(label=_("Owner unit"), queryset=OrgUnit.objects.none())

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["unit"].queryset = units if units is not None else OrgUnit.objects.order_by("path")


# --- call lists and deliveries -------------------------------------------------------------


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=CallOutcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
