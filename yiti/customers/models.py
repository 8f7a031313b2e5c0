"""Customers owned by the company: contact points, consent, products, orders, ownership."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiti.core.models import TimeStampedModel
from yiti.customers.choices import (
    Channel,
    ConsentSource,
    ContactKind,
    CustomerKind,
    CustomerStatus,
    ImportKind,
    ImportStatus,
    OrderStatus,
    ProductCategory,
    Purpose,
    SalesChannel,
    ValueTier,
)
from yiti.org.models import OrgUnit


class Customer(TimeStampedModel):
    """One customer, person or organisation, belonging to the company (not to a salesperson).

    ``unit`` is the territory or branch that serves the customer; ``owner`` the assigned
    account manager. ``primary_phone``/``primary_email`` mirror the primary contact points
    so lists need no join; services keep them in step.
    """

    kind = models.CharField(
        _("kind"), max_length=16, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    name = models.CharField(_("name"), max_length=120)
    name_key = models.CharField(max_length=120, db_index=True, editable=False)
    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("territory / unit"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_customers",
        verbose_name=_("account manager"),
    )
    primary_phone = models.CharField(max_length=32, blank=True, editable=False)
    primary_email = models.CharField(max_length=254, blank=True, editable=False)
    city = models.CharField(_("city"), max_length=60, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    since = models.DateField(_("customer since"), null=True, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["unit", "status", "-id"], name="customer_unit_status_id"),
            models.Index(fields=["owner", "-id"], name="customer_owner_id"),
            models.Index(fields=["status", "-id"], name="customer_status_id"),
            models.Index(fields=["last_contact_at"], name="customer_last_contact"),
            # planning a wave reads who cannot be reached by e-mail or phone from these
            # instead of every customer's row
            models.Index(fields=["id"], name="customer_no_email", condition=Q(primary_email="")),
            models.Index(fields=["id"], name="customer_no_phone", condition=Q(primary_phone="")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=CustomerStatus.MERGED) | Q(merged_into__isnull=False),
                name="customer_merged_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContactPoint(TimeStampedModel):
    """A way to reach the customer. Phones are normalised to E.164; at most one primary per kind."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=16, choices=ContactKind.choices)
    value = models.CharField(_("value"), max_length=254)
    normalized = models.CharField(max_length=254, editable=False)
    search_key = models.CharField(max_length=64, db_index=True, editable=False)
    label = models.CharField(_("label"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["kind", "-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=Q(is_primary=True),
                name="contact_one_primary_per_kind",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "normalized"], name="contact_unique_value"
            ),
        ]
        indexes = [models.Index(fields=["kind", "normalized"], name="contact_kind_normalized")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class ConsentEvent(models.Model):
    """Append-only ledger of consent given or withdrawn, per channel and purpose."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=16, choices=ConsentSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "channel", "purpose", "-at"], name="consent_event_lookup"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}/{self.purpose} {'+' if self.granted else '-'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Consent events are append-only")
        super().save(*args, **kwargs)


class ConsentState(models.Model):
    """Current consent per customer, channel and purpose, derived from the ledger.

    Rebuilt from ``ConsentEvent`` by ``consent_rebuild``; kept as a table so that audience
    selection and the contact policy can join it in one set-based query.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_states")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    granted = models.BooleanField()
    since = models.DateTimeField()

    class Meta:
        ordering = ["customer_id", "channel", "purpose"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "channel", "purpose"], name="consent_state_unique"
            )
        ]
        indexes = [
            # covering for the contact policy's consent read (customers by channel × purpose)
            models.Index(
                fields=["channel", "purpose", "granted", "customer"], name="consent_state_scan"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}/{self.purpose}={self.granted}"


class Product(TimeStampedModel):
    """An item of the catalogue: plans, broadband, devices, value-added services."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    category = models.CharField(_("category"), max_length=16, choices=ProductCategory.choices)
    price = models.DecimalField(_("list price"), max_digits=12, decimal_places=2)
    margin_rate = models.DecimalField(_("margin rate"), max_digits=5, decimal_places=4, default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_nonnegative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def unit_margin(self) -> Decimal:
        """The margin of one unit in yuan (price × margin rate); the rate is what is stored."""
        return (Decimal(self.price) * Decimal(self.margin_rate)).quantize(Decimal("0.01"))


class Order(TimeStampedModel):
    """A purchase: what the customer bought, for how much, at what margin, sold by whom."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField(_("quantity"), default=1, db_default=1)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    margin = models.DecimalField(_("margin"), max_digits=12, decimal_places=2, default=0)
    ordered_at = models.DateTimeField(_("ordered at"))
    channel = models.CharField(_("channel"), max_length=16, choices=SalesChannel.choices)
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    external_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # the one-time key of the form or call that took the order: a double submit finds the
    # order it made instead of making a second one (unique, so two at once cannot both insert)
    idempotency_key = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [
            # covering for the segments' order windows (count and spend per customer over the
            # last days) as well as a customer's orders newest first
            models.Index(
                fields=["customer", "-ordered_at", "status", "amount"], name="order_customer_at"
            ),
            models.Index(fields=["ordered_at"], name="order_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_nonnegative")
        ]

    def __str__(self) -> str:
        return f"{self.product} · {self.amount}"


class Assignment(models.Model):
    """One change of a customer's account manager or unit: who, from, to, when, why."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assignments")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=255)
    batch = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"], name="assignment_customer_at")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_user_id} → {self.to_user_id}"


class ImportJob(TimeStampedModel):
    """One import (upload page or ``yiti import KIND FILE``): options, progress, counts, errors.

    Kept so the result page can be reopened and its error report downloaded. ``errors`` is a
    list of ``[row, column, value, reason]``, rows numbered as in the spreadsheet (header = 1).
    A web upload is stored under the data directory (``upload``) and run by the worker; the
    progress fields (``bytes_read`` of ``bytes_total``, ``rows_read``) are updated as it reads.
    ``mapping`` is the column mapping the user chose: column key -> header position.
    """

    kind = models.CharField(
        _("kind"), max_length=16, choices=ImportKind.choices, default=ImportKind.CUSTOMERS
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(_("file"), max_length=255)
    upload = models.CharField(max_length=500, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices)
    bytes_total = models.BigIntegerField(default=0)
    bytes_read = models.BigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(_("validate only"), default=False)
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    errors = models.JSONField(default=list, blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["actor", "-created_at"], name="importjob_actor_at")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


_SCORES = (
    "clv", "expected_purchases", "churn_risk", "cost_to_serve", "net_value", "growth_gap",
)  # fmt: skip
_FINITE = 1e300


class CustomerValue(models.Model):
    """The latest value scores of one customer, written by ``yiti.decisions``' refit (set-based).

    Lives here, below decisions, so that campaigns and other apps that may not import
    decisions can filter by tier and rank by lifetime value (ADR 0005). One row per customer
    that is not merged away, including customers without orders (clv 0: below zero when
    they cost something to serve, else standard). Money is in yuan, over the fit's horizon,
    discounted.
    """

    # No foreign-key constraint in the database: the refit replaces every row at once from
    # the customers table itself, and on SQLite the constraint costs a lookup per deleted and
    # inserted row (a third of the write of a million rows). Deleting a customer through the
    # ORM still deletes its row (CASCADE).
    customer = models.OneToOneField(
        Customer,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="value",
        db_constraint=False,
    )
    tier = models.CharField(_("value tier"), max_length=10, choices=ValueTier.choices)
    clv = models.FloatField(_("lifetime value"))  # predicted margin over the horizon, yuan
    expected_purchases = models.FloatField(_("expected purchases"))
    p_alive = models.FloatField(_("probability active"))
    churn_risk = models.FloatField(_("churn risk"))  # 1 - p_alive
    cost_to_serve = models.FloatField(_("cost to serve"))  # same horizon, from unit costs
    net_value = models.FloatField(_("net value"))  # clv - cost_to_serve
    growth_gap = models.FloatField(_("growth gap"), default=0)  # peers' value - clv, >= 0
    rising = models.BooleanField(_("rising spend"), default=False)
    purchases = models.IntegerField(_("purchase days in the window"), default=0)
    last_purchase_on = models.DateField(_("last purchase"), null=True, blank=True)
    fit_id = models.BigIntegerField()  # the decisions fit that produced it (plain id)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["customer_id"]
        verbose_name = _("customer value")
        verbose_name_plural = _("customer values")
        indexes = [
            models.Index(fields=["tier"], name="customer_value_tier"),
            models.Index(fields=["clv"], name="customer_value_clv"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(p_alive__gte=0, p_alive__lte=1), name="customer_value_p_alive_range"
            ),
            models.CheckConstraint(
                condition=Q(tier__in=ValueTier.values), name="customer_value_tier_known"
            ),
            # never NaN or infinite: NaN compares above every number on PostgreSQL (and is
            # NULL on SQLite), so a finite range refuses NaN and both infinities on both
            models.CheckConstraint(
                condition=Q(
                    **{
                        f"{name}__{op}": bound
                        for name in _SCORES
                        for op, bound in (("gte", -_FINITE), ("lte", _FINITE))
                    }
                ),
                name="customer_value_scores_finite",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier} ¥{self.clv:.0f}"

    @classmethod
    def merge_customers(cls, *, source_id: int, target_id: int) -> int:
        """A merged-away customer's scores go; the target keeps its own until the next refit
        (which scores the target on the orders of both)."""
        deleted, _rows = cls.objects.filter(customer_id=source_id).delete()
        return deleted


class SavedFilter(TimeStampedModel):
    """A user's named filters of a list page (``list_key``: ``customers``, ``tickets``, ``care``),
    kept as the query string the page reads, so opening one is following a link."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    list_key = models.CharField(_("list"), max_length=20)
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=500, blank=True)

    class Meta:
        ordering = ["list_key", "name", "id"]
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_key", "name"], name="saved_filter_unique_name"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="saved_filter_named"),
        ]

    def __str__(self) -> str:
        return self.name


class DigestSubscription(TimeStampedModel):
    """A user who asked for a daily e-mail digest of his unread notifications (by kind), sent
    each morning when something still waits for him (``customers.digest``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscription"
    )
    active = models.BooleanField(_("daily digest"), default=True)
    last_sent_on = models.DateField(_("last sent on"), null=True, blank=True)

    class Meta:
        ordering = ["user_id"]
        verbose_name = _("notification digest")
        verbose_name_plural = _("notification digests")
        indexes = [models.Index(fields=["active", "last_sent_on"], name="digest_due")]

    def __str__(self) -> str:
        return f"{self.user_id}: {'on' if self.active else 'off'}"
