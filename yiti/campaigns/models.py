"""Campaigns in waves: offers with gift stock, segments, campaigns with their launch checklist
and conflicts, ordered waves, one decision per wave and customer — a delivery row for a contact
(planned, sent, answered, converted, or excluded for a reason another plan may undo) or a
packed final exclusion (``PlanExclusion``)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiti.campaigns.choices import (
    AgentRole,
    BenefitKind,
    CallOutcome,
    CampaignStatus,
    ChecklistKind,
    ConflictKind,
    ConflictStatus,
    DeliveryStatus,
    ReservationStatus,
    ResponseKind,
    WaveChannel,
    WaveKind,
    WaveSource,
    WaveStatus,
)
from yiti.core.models import TimeStampedModel
from yiti.customers.models import Customer, Order, Product
from yiti.org.models import OrgUnit


class Offer(TimeStampedModel):
    """What a campaign proposes: a product with a benefit (discount, gift or credit).

    ``eligibility`` is a segment rule (``yiti.campaigns.segments``) a customer must match to be
    offered it. A gift has stock: ``stock_reserved`` counts the acceptances holding a gift, and
    the database refuses more reservations than ``stock_total``. Offers marked incompatible
    with each other make campaigns that overlap conflict.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="offers", verbose_name=_("product")
    )
    benefit = models.CharField(_("benefit"), max_length=12, choices=BenefitKind.choices)
    benefit_value = models.DecimalField(
        _("benefit value"),
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text=_("Discount in per cent, credit in yuan, or the gift's cost in yuan."),
    )
    gift_name = models.CharField(_("gift"), max_length=120, blank=True)
    stock_total = models.PositiveIntegerField(_("gift stock"), default=0)
    stock_reserved = models.PositiveIntegerField(_("reserved"), default=0)
    eligibility = models.JSONField(_("eligibility"), default=dict, blank=True)
    terms = models.TextField(_("terms and conditions"), blank=True)
    faq = models.TextField(_("FAQ for the front line"), blank=True)
    incompatible_with = models.ManyToManyField(
        "self", symmetrical=True, blank=True, verbose_name=_("incompatible with")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        indexes = [
            # the next best action reads, on every decision, the latest change to any offer
            # and the gifts left of every active gift offer: both from the index alone
            models.Index(fields=["updated_at"], name="offer_updated"),
            models.Index(
                fields=["active", "benefit", "id", "stock_total", "stock_reserved"],
                name="offer_stock_left",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock_reserved__lte=F("stock_total")) | ~Q(benefit=BenefitKind.GIFT),
                name="offer_stock_not_overbooked",
            ),
            models.CheckConstraint(
                condition=Q(benefit_value__gte=0), name="offer_benefit_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_stock(self) -> bool:
        return self.benefit == BenefitKind.GIFT

    @property
    def stock_available(self) -> int | None:
        """Gifts left to reserve, or None when the offer has no gift."""
        return self.stock_total - self.stock_reserved if self.has_stock else None


class Segment(TimeStampedModel):
    """A saved rule over customer fields, holdings, orders, territory, value and consent.

    The rule is JSON (see ``yiti.campaigns.segments``); the audience is computed set-based in
    SQL whenever it is needed, so it never goes stale.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(_("rules"), default=dict)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner unit")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_count = models.PositiveIntegerField(null=True, blank=True)
    last_counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = pgettext_lazy("customer group", "segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class Campaign(TimeStampedModel):
    """A marketing campaign run in waves by an owner unit with participating units.

    The audience is the segment's customers in the participating units (and below). The
    launch checklist must be signed before the campaign can run; ``priority`` ranks it
    against competing campaigns (arbitration keeps the highest priority × expected value).
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    owner_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner unit")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("campaign owner"),
    )
    participating_units = models.ManyToManyField(
        OrgUnit, related_name="campaigns", verbose_name=_("participating units")
    )
    service_unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("service unit that reviews the offer"),
    )
    stock_unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("unit that holds the gift stock"),
    )
    segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=pgettext_lazy("customer group", "segment"),
    )
    offers = models.ManyToManyField(Offer, related_name="campaigns", verbose_name=_("offers"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    priority = models.PositiveSmallIntegerField(_("priority (1–10)"), default=5)
    goal = models.CharField(_("goal"), max_length=255, blank=True)
    goal_conversions = models.PositiveIntegerField(_("target conversions"), default=0)
    expected_take_up = models.DecimalField(
        _("expected take-up rate"), max_digits=5, decimal_places=4, default=0.05
    )
    lead_days = models.PositiveSmallIntegerField(
        _("days the front line needs to learn the offer"), default=3
    )
    complaint_threshold = models.DecimalField(
        _("pause at complaints per 1,000 contacts"), max_digits=6, decimal_places=2, default=5
    )
    complaint_min_contacts = models.PositiveIntegerField(
        _("count complaints after (contacts)"), default=200
    )
    attribution_days = models.PositiveSmallIntegerField(
        _("orders count as conversions within (days)"), default=14
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=255, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    conflicts_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [models.Index(fields=["status", "starts_on"], name="campaign_status_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="campaign_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1) & Q(priority__lte=10), name="campaign_priority_range"
            ),
            models.CheckConstraint(
                condition=Q(expected_take_up__gte=0) & Q(expected_take_up__lte=1),
                name="campaign_take_up_rate",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(TimeStampedModel):
    """One line of the launch checklist, signed by someone of the responsible unit."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="checklist")
    kind = models.CharField(_("item"), max_length=16, choices=ChecklistKind.choices)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("responsible unit")
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["campaign_id", "id"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind", "unit"], name="checklist_item_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.unit}"

    @property
    def signed(self) -> bool:
        return self.signed_at is not None


class Conflict(TimeStampedModel):
    """Two campaigns whose periods and audiences overlap and whose offers clash.

    Stored once per pair and kind (``campaign`` has the lower id), refreshed by every conflict
    check; an accepted conflict keeps its reason until the overlap disappears.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=ConflictKind.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    overlap_customers = models.PositiveIntegerField(_("customers in both"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["-checked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "other", "kind"], name="conflict_unique"),
            models.CheckConstraint(condition=Q(campaign__lt=F("other")), name="conflict_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} × {self.other_id}: {self.kind}"


class Wave(TimeStampedModel):
    """One step of a campaign: a broadcast, an outbound call list or a follow-up.

    ``channels`` is an ordered preference: each customer gets one delivery on the first
    channel he can be reached on and has consented to. A call wave is sized by capacity
    (``agents × hours × calls_per_agent_hour``). A follow-up wave with ``visit_min_value``
    sends the customers of at least that lifetime value to their account manager as visits.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="waves")
    number = models.PositiveSmallIntegerField(_("wave"))
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=WaveKind.choices)
    channels = models.JSONField(_("channels"), default=list)
    source = models.CharField(
        _("audience"), max_length=16, choices=WaveSource.choices, default=WaveSource.AUDIENCE
    )
    source_wave = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("of wave"),
    )
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.PROTECT, related_name="waves"
    )
    scheduled_at = models.DateTimeField(_("send at / calls start"))
    ends_at = models.DateTimeField(_("calls end"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    message = models.TextField(_("message"), blank=True)
    agent_role = models.CharField(
        _("worked by"),
        max_length=20,
        choices=AgentRole.choices,
        default=AgentRole.SERVICE_AGENT,
        blank=True,
    )
    agents = models.PositiveSmallIntegerField(_("agents"), default=0)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, default=0)
    calls_per_agent_hour = models.PositiveSmallIntegerField(_("calls per agent-hour"), default=0)
    visit_min_value = models.DecimalField(
        _("visit customers worth at least (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    # control group (issue 16): the share of the wave's eligible, reachable audience held out
    # at random (``campaigns.holdout``), excluded with reason ``holdout``; the seed is recorded
    # at the first plan so that planning again holds out the same customers
    holdout_share = models.DecimalField(
        _("hold out (share of the audience)"), max_digits=4, decimal_places=3, default=0
    )
    holdout_seed = models.BigIntegerField(null=True, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=WaveStatus.choices, default=WaveStatus.DRAFT
    )
    planned_at = models.DateTimeField(null=True, blank=True)
    plan_summary = models.JSONField(default=dict, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign_id", "number"]
        verbose_name = _("wave")
        verbose_name_plural = _("waves")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="wave_number_unique"),
            models.CheckConstraint(
                condition=Q(source="audience") | Q(source_wave__isnull=False),
                name="wave_outcome_needs_source_wave",
            ),
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0) & Q(holdout_share__lte=Decimal("0.5")),
                name="wave_holdout_share_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.number}. {self.name}"

    @property
    def capacity(self) -> int | None:
        """Calls the agents can make in the wave, or None when the wave is not a call list."""
        if self.kind != WaveKind.CALL:
            return None
        return int(self.agents * self.hours * self.calls_per_agent_hour)


class Delivery(models.Model):
    """One wave's contact with one customer: planned, sent, delivered, opened, answered and
    converted, or excluded for a reason another plan may undo (``lost_arbitration:``,
    ``cap:``) or at send time. Unique per wave and customer; the plan's final exclusions are
    ``PlanExclusion`` rows instead.

    Electronic deliveries are sent by background batches (``SendBatch``); the idempotency key
    ``yiti-d<id>`` goes with every attempt, so a re-run batch never sends twice. Calls and
    visits are worked by ``assignee`` in rank order (best expected value first).
    """

    # wave and customer are found through the unique (wave, customer) and the (customer,
    # planned_for) indexes: no index of their own, each costs a million-row plan its writes
    wave = models.ForeignKey(
        Wave, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=8, choices=WaveChannel.choices)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices)
    reason = models.CharField(_("excluded because"), max_length=120, blank=True)
    planned_for = models.DateTimeField(_("planned for"))
    expected_value = models.FloatField(_("expected value"), default=0)
    rank = models.PositiveIntegerField(_("rank"), default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agent"),
        db_index=False,  # the partial index delivery_assignee serves the call lists
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    opened_at = models.DateTimeField(pgettext_lazy("delivery", "opened"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    response = models.CharField(
        _("response"), max_length=12, choices=ResponseKind.choices, blank=True
    )
    outcome = models.CharField(
        _("call outcome"), max_length=14, choices=CallOutcome.choices, blank=True
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider_id = models.CharField(max_length=120, blank=True)
    error = models.CharField(max_length=255, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["wave_id", "rank", "id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["wave", "customer"], name="delivery_wave_customer"),
        ]
        indexes = [
            models.Index(fields=["wave", "status"], name="delivery_wave_status"),
            models.Index(
                fields=["assignee", "status", "rank"],
                name="delivery_assignee",
                condition=Q(assignee__isnull=False),
            ),
            models.Index(fields=["customer", "-planned_for"], name="delivery_customer"),
            # what competes when another wave is planned (``planning.HELD``): the planned
            # contacts and those that lost arbitration or hit a cap, with every column the
            # planner reads, so that it reads this small index and no delivery row
            models.Index(
                fields=["wave", "customer", "channel", "status", "reason", "expected_value"],
                name="delivery_held",
                condition=Q(status="planned")
                | Q(reason__startswith="lost_arbitration:")
                | Q(reason__startswith="cap:"),
            ),
        ]

    def __str__(self) -> str:
        return f"wave {self.wave_id} → {self.customer_id}: {self.status}"

    @property
    def idempotency_key(self) -> str:
        return f"yiti-d{self.pk}"


class PlanExclusion(models.Model):
    """The customers a wave's plan left out for one reason, kept compactly.

    A plan decides every customer of the audience; most of a large broadcast's audience is
    excluded (no address on file, no consent, suppressed, not eligible, quiet hours), and a
    row per excluded customer made a million-customer plan a million-row write. These
    exclusions are final — nothing revives them but planning the wave again — so they are kept
    as sorted customer-id offsets, one row per (wave, reason, block of 65,536 ids):
    ``customer_id = block * 65536 + offset``. A customer's exclusions are found through the
    (block, wave) index and a binary search of the offsets (``campaigns.exclusions``).

    Exclusions that can change when another wave is planned — ``lost_arbitration:<campaign>``
    and ``cap:<rule>`` — stay delivery rows, as do the contacts excluded at send time.
    Hand-written: no library stores integer sets in a Django model; the layout is the idea of
    Roaring bitmaps' array containers.
    """

    BLOCK_BITS = 16

    # found through the unique (wave, reason, block) and the (block, wave) indexes
    wave = models.ForeignKey(
        Wave, on_delete=models.CASCADE, related_name="exclusions", db_index=False
    )
    reason = models.CharField(_("excluded because"), max_length=120)
    block = models.BigIntegerField()
    count = models.PositiveIntegerField()
    members = models.BinaryField()  # little-endian uint16 offsets, ascending

    class Meta:
        verbose_name = _("plan exclusion")
        verbose_name_plural = _("plan exclusions")
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "reason", "block"], name="planexclusion_wave_reason_block"
            ),
        ]
        indexes = [models.Index(fields=["block", "wave"], name="planexclusion_block")]

    def __str__(self) -> str:
        return f"wave {self.wave_id}: {self.count} × {self.reason} (block {self.block})"


class OfferReservation(TimeStampedModel):
    """A gift held for a customer who accepted an offer; released when the acceptance is
    cancelled. ``unit`` is credited with the sale."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="reservations")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="reservations"
    )
    unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReservationStatus.choices,
        default=ReservationStatus.RESERVED,
    )
    released_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "customer"],
                condition=Q(status="reserved"),
                name="reservation_one_open_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} for {self.customer_id}: {self.status}"


class SendBatch(models.Model):
    """One batch of a wave's electronic deliveries, sent by one background task.

    ``status``: pending (waiting for a worker), running, done. A worker claims the batch and beats ``heartbeat_at`` while sending; a batch whose worker
    stopped beating (killed, crashed) is handed to a new task by the recovery sweep.
    """

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    first_id = models.BigIntegerField()  # the batch is the wave's deliveries with ids in
    last_id = models.BigIntegerField()  # [first_id, last_id]
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, default="pending")
    runs = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)  # the task that will send it
    done_at = models.DateTimeField(null=True, blank=True)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["wave_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "number"], name="send_batch_unique"),
        ]

    def __str__(self) -> str:
        return f"wave {self.wave_id} batch {self.number}: {self.status}"
