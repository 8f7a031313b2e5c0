"""Reads for customers, always restricted to what the acting user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.db import connections
from django.db.models import BigIntegerField, F, Func, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound
from yiti.core.masking import mask_email, mask_generic, mask_phone
from yiti.core.search import prefix_q, search_key
from yiti.customers.choices import (
    ContactKind,
    CustomerStatus,
    OrderStatus,
    ProductCategory,
    ValueTier,
)
from yiti.customers.contacts import phone_search_key
from yiti.customers.models import (
    Assignment,
    ConsentEvent,
    ConsentState,
    ContactPoint,
    Customer,
    Order,
    Product,
)
from yiti.customers.rules import can_edit, visible_q
from yiti.org.access import access_for
from yiti.org.models import Membership, User
from yiti.org.roles import ROLE_PERMS, UNIT_ONLY_ROLES, Perm


@dataclass(frozen=True)
class CustomerFilters:
    """One filter for the web list, the API and exports (STYLE habit 7)."""

    q: str = ""
    unit_id: int | None = None
    owner_id: int | None = None
    unassigned: bool = False
    kind: str = ""
    status: str = CustomerStatus.ACTIVE
    city: str = ""
    no_contact_since: Any = None  # a datetime: customers not contacted since
    tier: str = ""  # a ValueTier value: the latest value tier (CustomerValue)
    no_contact_days: int | None = None  # ?quiet=N: not contacted for N days (sets the above)
    churn_min: float | None = None  # ?churn_min=0.6: churn risk at least (CustomerValue)

    QUIET_DAYS: ClassVar[tuple[int, ...]] = (30, 60, 90, 180)

    @property
    def quiet_choices(self) -> tuple[int, ...]:
        """The "not contacted for" choices of the list, with the asked number of days."""
        days = self.no_contact_days
        if days is None or days in self.QUIET_DAYS:
            return self.QUIET_DAYS
        return (days, *self.QUIET_DAYS)

    @classmethod
    def from_mapping(cls, data: Any) -> CustomerFilters:
        def _int(name: str) -> int | None:
            raw = data.get(name)
            try:
                return int(raw) if raw not in (None, "") else None
            except (TypeError, ValueError):
                return None

        def _float(name: str) -> float | None:
            try:
                value = float(data.get(name))
            except (TypeError, ValueError):
                return None
            return value if 0 <= value <= 1 else None

        status = data.get("status", CustomerStatus.ACTIVE)
        quiet = _int("quiet")
        quiet = quiet if quiet is not None and 1 <= quiet <= 3650 else None
        return cls(
            q=(data.get("q") or "").strip()[:100],
            unit_id=_int("unit"),
            owner_id=_int("owner"),
            unassigned=str(data.get("unassigned", "")).lower() in {"1", "true", "on", "yes"},
            kind=data.get("kind") or "",
            status=status if status in [*CustomerStatus.values, "all"] else CustomerStatus.ACTIVE,
            city=(data.get("city") or "").strip()[:60],
            tier=tier if (tier := data.get("tier") or "") in ValueTier.values else "",
            no_contact_days=quiet,
            no_contact_since=timezone.now() - timedelta(days=quiet) if quiet else None,
            churn_min=_float("churn_min"),
        )


def customers_visible(user: Any) -> QuerySet[Customer]:
    """The customers the user may see (ADR 0002), as a queryset to filter further.

    On SQLite the unit test is written ``+unit_id IN (…)``: the unary plus keeps SQLite from
    answering "my unit OR mine" with a MULTI-INDEX OR that collects and sorts a whole branch
    (~90 ms for 160,000 customers) and lets it walk the ``(status, id)`` index newest first,
    stopping after one page (~0.1 ms). PostgreSQL's planner needs no such help.
    """
    access = access_for(user)
    qs = Customer.objects.all()
    if access.is_admin:
        return qs
    if access.user_id is not None and connections[qs.db].vendor == "sqlite":
        unit = Func(F("unit_id"), template="+%(expressions)s", output_field=BigIntegerField())
        return qs.alias(scope_unit=unit).filter(
            Q(scope_unit__in=access.unit_ids) | Q(owner_id=access.user_id)
        )
    return qs.filter(visible_q(access))


def _search(qs: QuerySet[Customer], q: str) -> tuple[QuerySet[Customer], tuple[str, ...]]:
    """Phone (full or leading digits), external id (exact) or name (leading characters).

    Returns the filtered queryset and its ordering. An exact external id wins outright; a name
    search is ordered by name so a common surname walks the (status, name_key, id) index
    instead of sorting every match by id.
    """
    if Customer.objects.filter(external_id=q).exists():
        return qs.filter(external_id=q), ("-id",)
    key = phone_search_key(q)
    if key is not None:
        phone_match = ContactPoint.objects.filter(
            prefix_q("search_key", key), kind=ContactKind.PHONE
        )
        return qs.filter(pk__in=phone_match.values("customer_id")), ("-id",)
    return qs.filter(prefix_q("name_key", search_key(q))), ("name_key", "id")


def customer_list(user: Any, filters: CustomerFilters) -> QuerySet[Customer]:
    qs = customers_visible(user).select_related("unit", "owner")
    if filters.status != "all":
        qs = qs.filter(status=filters.status)
    ordering: tuple[str, ...] = ("-id",)
    if filters.q:
        qs, ordering = _search(qs, filters.q)
    if filters.unit_id:
        qs = qs.filter(unit_id=filters.unit_id)
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.unassigned:
        qs = qs.filter(owner__isnull=True)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.city:
        qs = qs.filter(city=filters.city)
    if filters.tier:
        qs = qs.filter(value__tier=filters.tier)
    if filters.churn_min is not None:
        qs = qs.filter(value__churn_risk__gte=filters.churn_min)
    if filters.no_contact_since is not None:
        qs = qs.filter(
            Q(last_contact_at__lt=filters.no_contact_since) | Q(last_contact_at__isnull=True)
        )
    return qs.order_by(*ordering)


def customer_get_for(user: Any, customer_id: int) -> Customer:
    customer = (
        customers_visible(user)
        .select_related("unit", "owner", "merged_into")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def customer_can_edit(user: Any, customer: Customer) -> bool:
    return can_edit(access_for(user), customer)


@dataclass(frozen=True)
class ContactView:
    id: int
    kind: str
    kind_label: str
    value: str
    label: str
    is_primary: bool
    masked: bool


def mask_contact(kind: str, value: str) -> str:
    if kind == ContactKind.PHONE:
        return mask_phone(value)
    if kind == ContactKind.EMAIL:
        return mask_email(value)
    return mask_generic(value)


def contact_points_for(
    user: Any, customer: Customer, *, revealed: bool = False
) -> list[ContactView]:
    """Contact points, masked unless ``revealed`` (the caller audited the reveal)."""
    show_full = revealed and access_for(user).has(Perm.PII_REVEAL)
    return [
        ContactView(
            id=p.pk,
            kind=p.kind,
            kind_label=p.get_kind_display(),
            value=p.value if show_full else mask_contact(p.kind, p.value),
            label=p.label,
            is_primary=p.is_primary,
            masked=not show_full,
        )
        for p in ContactPoint.objects.filter(customer=customer)
    ]


def consent_matrix(customer: Customer) -> dict[tuple[str, str], ConsentState]:
    return {(s.channel, s.purpose): s for s in ConsentState.objects.filter(customer=customer)}


def consent_history(customer: Customer, *, limit: int = 50) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(customer=customer)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


def orders_of(customer: Customer, *, limit: int = 50) -> QuerySet[Order]:
    return (
        Order.objects.filter(customer=customer)
        .select_related("product", "sold_by")
        .order_by("-ordered_at")[:limit]
    )


def orders_total(customer: Customer) -> Decimal:
    """What the customer has bought, cancelled orders left out."""
    total = (
        Order.objects.filter(customer=customer)
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal("0")


def assignments_of(customer: Customer, *, limit: int = 100) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(customer=customer)
        .select_related("from_user", "to_user", "from_unit", "to_unit", "actor")
        .order_by("-at", "-id")[:limit]
    )


# --- the product catalogue and orders ---------------------------------------------------------


@dataclass(frozen=True)
class ProductFilters:
    """One filter for the product pages and the API."""

    q: str = ""
    category: str = ""
    active: bool | None = True  # None: active and inactive

    @classmethod
    def from_mapping(cls, data: Any) -> ProductFilters:
        raw = str(data.get("active", "true") if data.get("active") is not None else "true")
        active: bool | None = {"true": True, "1": True, "false": False, "0": False}.get(raw.lower())
        category = data.get("category") or ""
        return cls(
            q=(data.get("q") or "").strip()[:100],
            category=category if category in ProductCategory.values else "",
            active=active,
        )


def product_list(filters: ProductFilters) -> QuerySet[Product]:
    """The catalogue (readable by every signed-in user): code or name contains ``q``."""
    qs = Product.objects.all()
    if filters.q:
        qs = qs.filter(Q(code__icontains=filters.q) | Q(name__icontains=filters.q))
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.active is not None:
        qs = qs.filter(active=filters.active)
    return qs.order_by("category", "code", "pk")


def product_get(ref: int | str) -> Product:
    """A product by id or code."""
    text = str(ref).strip()
    product = Product.objects.filter(code=text.lower()).first()
    if product is None and text.isdigit():
        product = Product.objects.filter(pk=int(text)).first()
    if product is None:
        raise NotFound(_("Product not found."))
    return product


def products_on_sale() -> QuerySet[Product]:
    """Active products, for the order forms' picker."""
    return Product.objects.filter(active=True).order_by("category", "name", "pk")


@dataclass(frozen=True)
class OrderFilters:
    customer_id: int | None = None
    product_id: int | None = None
    status: str = ""
    since: Any = None  # a datetime: ordered at or after
    until: Any = None  # a datetime: ordered before
    sold_by_id: int | None = None


def order_list(user: Any, filters: OrderFilters) -> QuerySet[Order]:
    """Orders of the customers the user may see, newest first."""
    access = access_for(user)
    qs = Order.objects.filter(visible_q(access, prefix="customer__"))
    if filters.customer_id is not None:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.product_id is not None:
        qs = qs.filter(product_id=filters.product_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.since is not None:
        qs = qs.filter(ordered_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(ordered_at__lt=filters.until)
    if filters.sold_by_id is not None:
        qs = qs.filter(sold_by_id=filters.sold_by_id)
    return qs.select_related("customer", "product", "sold_by", "unit").order_by(
        "-ordered_at", "-id"
    )


def order_get_for(user: Any, order_id: int) -> Order:
    order = order_list(user, OrderFilters()).filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def sellers_for(customer: Customer) -> QuerySet[User]:
    """Who may be named as the salesperson of the customer's order: active users whose current
    membership may take orders and opens the customer's unit (account managers in the unit
    itself, other roles there or above), and the customer's account manager."""
    unit = customer.unit
    ancestors = _path_prefixes(unit.path)
    roles = [role for role, perms in ROLE_PERMS.items() if Perm.ORDER_TAKE in perms]
    in_scope = (
        Membership.objects.current()
        .filter(role__in=roles)
        .filter(Q(unit_id=unit.pk) | (Q(unit__path__in=ancestors) & ~Q(role__in=UNIT_ONLY_ROLES)))
    )
    q = Q(pk__in=in_scope.values("user_id"))
    if customer.owner_id:
        q |= Q(pk=customer.owner_id)
    return User.objects.filter(q, is_active=True).order_by("display_name", "username")


def _path_prefixes(path: str) -> list[str]:
    """The materialised paths of a unit and its ancestors (``/1/4/17/`` → ``/1/``, ``/1/4/``,
    ``/1/4/17/``)."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
