"""API endpoints for customers, contact points and consent (mounted at /api/v1/customers).

Thin: schemas in, a selector or service call, schemas out. Every read is scoped by the
selectors exactly as in the web UI; personal data is masked unless the caller asks to
reveal it (``?reveal=true``), holds ``pii.reveal``, and the reveal is audited.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, field_validator

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.ids import MAX_ID, parse_id
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.core.schema_types import Flag, Id, IsoDate, Text
from yiti.customers import selectors, services
from yiti.customers.choices import (
    Channel,
    ConsentSource,
    ContactKind,
    CustomerKind,
    CustomerStatus,
    Purpose,
    ValueTier,
)
from yiti.customers.models import ContactPoint, Customer
from yiti.org.api import UnitRef, UserRef
from yiti.org.models import OrgUnit, User

router = Router(tags=["customers"])


# --- schemas --------------------------------------------------------------------------------


class ContactPointOut(Schema):
    id: int
    kind: str
    value: str = Field(description="Masked unless revealed.")
    label: str
    primary: bool
    masked: bool

    @classmethod
    def masked_view(cls, view: selectors.ContactView) -> ContactPointOut:
        return cls(
            id=view.id,
            kind=view.kind,
            value=view.value,
            label=view.label,
            primary=view.is_primary,
            masked=view.masked,
        )

    @classmethod
    def of(cls, point: ContactPoint, *, revealed: bool = False) -> ContactPointOut:
        value = point.value if revealed else selectors.mask_contact(point.kind, point.value)
        return cls(
            id=point.pk,
            kind=point.kind,
            value=value,
            label=point.label,
            primary=point.is_primary,
            masked=not revealed,
        )


class CustomerOut(Schema):
    id: int
    kind: str
    name: str
    status: str
    external_id: str | None
    unit: UnitRef
    owner: UserRef | None
    city: str
    primary_phone: str = Field(description="Masked unless revealed.")
    primary_email: str = Field(description="Masked unless revealed.")
    since: date | None
    last_contact_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, customer: Customer, *, revealed: bool = False) -> dict[str, Any]:
        def shown(kind: str, value: str) -> str:
            return value if revealed or not value else selectors.mask_contact(kind, value)

        return {
            "id": customer.pk,
            "kind": customer.kind,
            "name": customer.name,
            "status": customer.status,
            "external_id": customer.external_id,
            "unit": UnitRef.of(customer.unit),
            "owner": UserRef.of(customer.owner),
            "city": customer.city,
            "primary_phone": shown(ContactKind.PHONE, customer.primary_phone),
            "primary_email": shown(ContactKind.EMAIL, customer.primary_email),
            "since": customer.since,
            "last_contact_at": customer.last_contact_at,
            "created_at": customer.created_at,
            "updated_at": customer.updated_at,
        }

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(**cls.fields_of(customer))


class CustomerDetailOut(CustomerOut):
    address: str
    industry: str
    note: str
    birth_date: date | None
    merged_into_id: int | None
    can_edit: bool
    revealed: bool
    contact_points: list[ContactPointOut]


class CustomerPage(Schema):
    items: list[CustomerOut]
    page: int
    page_size: int
    has_next: bool


class CustomerQuery(Schema):
    """Filters shared with the web list. Lists are always masked: reveal one customer at a time."""

    q: str = Field(
        "",
        max_length=100,
        description="Phone (full or leading digits), name prefix or external id.",
    )
    unit: int | None = Field(None, ge=1, le=MAX_ID, description="Only customers of this unit (id).")
    owner: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only customers of this account manager (user id)."
    )
    unassigned: bool = False
    kind: CustomerKind | None = None
    status: str = Field(
        CustomerStatus.ACTIVE, json_schema_extra={"enum": [*CustomerStatus.values, "all"]}
    )
    city: str = Field("", max_length=60)
    tier: ValueTier | None = Field(None, description="Only customers of this value tier.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in [*CustomerStatus.values, "all"]:
            raise ValueError(_("Unknown status: %(s)s") % {"s": value})
        return value


class RevealQuery(Schema):
    reveal: bool = Field(
        False, description="Show phones, e-mails and IM ids in full (needs pii.reveal; audited)."
    )


# a unit named by its id (a JSON integer) or its code (text)
UnitRefIn = Id | Annotated[Text, Field(min_length=1, max_length=64)]


class ContactIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: ContactKind
    value: Text = Field(min_length=1, max_length=254)
    label: Text = Field("", max_length=40)
    primary: Flag = False


class CustomerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(max_length=200)
    kind: CustomerKind = CustomerKind.PERSON
    unit: UnitRefIn = Field(description="Unit id or code.")
    owner: Id | None = Field(None, description="Account manager (user id).")
    external_id: Text | None = Field(None, max_length=64)
    city: Text = Field("", max_length=60)
    address: Text = Field("", max_length=255)
    industry: Text = Field("", max_length=60)
    note: Text = Field("", max_length=10_000)
    birth_date: IsoDate | None = None
    since: IsoDate | None = None
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(None, max_length=200)
    kind: CustomerKind | None = None
    unit: UnitRefIn | None = Field(None, description="Unit id or code.")
    external_id: Text | None = Field(None, max_length=64)
    city: Text | None = Field(None, max_length=60)
    address: Text | None = Field(None, max_length=255)
    industry: Text | None = Field(None, max_length=60)
    note: Text | None = Field(None, max_length=10_000)
    birth_date: IsoDate | None = None
    since: IsoDate | None = None


class ConsentStateOut(Schema):
    channel: str
    purpose: str
    granted: bool | None = Field(description="None when nothing was ever recorded.")
    since: datetime | None


class ConsentEventOut(Schema):
    id: int
    channel: str
    purpose: str
    granted: bool
    source: str
    note: str
    at: datetime
    actor: UserRef | None


class ConsentOut(Schema):
    matrix: list[ConsentStateOut]
    events: list[ConsentEventOut]


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    purpose: Purpose
    granted: Flag
    source: ConsentSource = ConsentSource.API
    note: Text = Field("", max_length=255)


# --- helpers --------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _unit(ref: int | str) -> OrgUnit:
    unit = None
    if isinstance(ref, str):
        unit = OrgUnit.objects.filter(code=ref.strip()).first()
        if unit is None and (pk := parse_id(ref)) is not None:
            unit = OrgUnit.objects.filter(pk=pk).first()
    elif 0 < ref <= MAX_ID:
        unit = OrgUnit.objects.filter(pk=ref).first()
    if unit is None:
        raise ValidationFailed(
            _("No unit with id or code %(ref)s.") % {"ref": ref}, field="unit", code="unknown_unit"
        )
    return unit


def _owner(owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = User.objects.filter(pk=owner_id).first()
    if owner is None:
        raise ValidationFailed(
            _("No user with id %(id)s.") % {"id": owner_id}, field="owner", code="unknown_user"
        )
    return owner


def _contacts(user: Any, customer: Customer, *, reveal: bool) -> list[ContactPointOut]:
    if reveal:
        points = services.contacts_reveal(actor=user, customer=customer)
        return [ContactPointOut.of(p, revealed=True) for p in points]
    return [ContactPointOut.masked_view(v) for v in selectors.contact_points_for(user, customer)]


def _detail(user: Any, customer: Customer, *, reveal: bool = False) -> CustomerDetailOut:
    contacts = _contacts(user, customer, reveal=reveal)
    return CustomerDetailOut(
        **CustomerOut.fields_of(customer, revealed=reveal),
        address=customer.address,
        industry=customer.industry,
        note=customer.note,
        birth_date=customer.birth_date,
        merged_into_id=customer.merged_into_id,
        can_edit=selectors.customer_can_edit(user, customer),
        revealed=reveal,
        contact_points=contacts,
    )


def _point(customer: Customer, point_id: int) -> ContactPoint:
    point = customer.contact_points.filter(pk=point_id).first()
    if point is None:
        raise NotFound(_("Contact point not found."))
    return point


# --- customers ------------------------------------------------------------------------------


@router.get("", response=CustomerPage, summary="List the customers you may see")
def customers_list(request: HttpRequest, query: Query[CustomerQuery]) -> CustomerPage:
    filters = selectors.CustomerFilters.from_mapping(query.model_dump())
    page = paginate(
        selectors.customer_list(_user(request), filters), page=query.page, size=query.page_size
    )
    return CustomerPage(
        items=[CustomerOut.of(c) for c in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post("", response={201: CustomerDetailOut}, summary="Create a customer")
def customers_create(request: HttpRequest, payload: CustomerIn) -> Status[CustomerDetailOut]:
    user = _user(request)
    customer = services.customer_create(
        actor=user,
        name=payload.name,
        kind=payload.kind,
        unit=_unit(payload.unit),
        owner=_owner(payload.owner),
        external_id=payload.external_id,
        city=payload.city,
        address=payload.address,
        industry=payload.industry,
        note=payload.note,
        birth_date=payload.birth_date,
        since=payload.since,
        contacts=[
            services.ContactInput(kind=c.kind, value=c.value, label=c.label, primary=c.primary)
            for c in payload.contacts
        ],
    )
    customer = selectors.customer_get_for(user, customer.pk)
    return Status(201, _detail(user, customer))


@router.get("/{customer_id}", response=CustomerDetailOut, summary="One customer")
def customers_detail(
    request: HttpRequest, customer_id: int, query: Query[RevealQuery]
) -> CustomerDetailOut:
    user = _user(request)
    customer = selectors.customer_get_for(user, customer_id)
    return _detail(user, customer, reveal=query.reveal)


@router.patch("/{customer_id}", response=CustomerDetailOut, summary="Change a customer")
def customers_update(
    request: HttpRequest, customer_id: int, payload: CustomerPatch
) -> CustomerDetailOut:
    user = _user(request)
    customer = selectors.customer_get_for(user, customer_id)
    changes = payload.model_dump(exclude_unset=True)
    for text_field in ("city", "address", "industry", "note"):
        if text_field in changes and changes[text_field] is None:
            changes[text_field] = ""
    if "unit" in changes:
        if changes["unit"] is None:
            raise ValidationFailed(_("A customer needs a unit."), field="unit", code="required")
        changes["unit"] = _unit(changes["unit"])
    services.customer_update(actor=user, customer=customer, **changes)
    return _detail(user, selectors.customer_get_for(user, customer_id))


# --- contact points -------------------------------------------------------------------------


@router.get(
    "/{customer_id}/contact-points",
    response=list[ContactPointOut],
    summary="The customer's phones, e-mails and IM ids",
)
def contact_points_list(
    request: HttpRequest, customer_id: int, query: Query[RevealQuery]
) -> list[ContactPointOut]:
    user = _user(request)
    customer = selectors.customer_get_for(user, customer_id)
    return _contacts(user, customer, reveal=query.reveal)


@router.post(
    "/{customer_id}/contact-points",
    response={201: ContactPointOut},
    summary="Add a contact point",
)
def contact_points_add(
    request: HttpRequest, customer_id: int, payload: ContactIn
) -> Status[ContactPointOut]:
    user = _user(request)
    customer = selectors.customer_get_for(user, customer_id)
    point = services.contact_point_add(
        actor=user,
        customer=customer,
        kind=payload.kind,
        value=payload.value,
        label=payload.label,
        primary=payload.primary,
    )
    return Status(201, ContactPointOut.of(point))


@router.delete(
    "/{customer_id}/contact-points/{point_id}",
    response={204: None},
    summary="Remove a contact point",
)
def contact_points_remove(request: HttpRequest, customer_id: int, point_id: int) -> Status[None]:
    user = _user(request)
    customer = selectors.customer_get_for(user, customer_id)
    services.contact_point_remove(actor=user, point=_point(customer, point_id))
    return Status(204, None)


@router.post(
    "/{customer_id}/contact-points/{point_id}/primary",
    response=ContactPointOut,
    summary="Make a contact point the primary one of its kind",
)
def contact_points_set_primary(
    request: HttpRequest, customer_id: int, point_id: int
) -> ContactPointOut:
    user = _user(request)
    customer = selectors.customer_get_for(user, customer_id)
    point = services.contact_point_set_primary(actor=user, point=_point(customer, point_id))
    return ContactPointOut.of(point)


# --- consent --------------------------------------------------------------------------------


def _event_out(event: Any) -> ConsentEventOut:
    return ConsentEventOut(
        id=event.pk,
        channel=event.channel,
        purpose=event.purpose,
        granted=event.granted,
        source=event.source,
        note=event.note,
        at=event.at,
        actor=UserRef.of(event.actor),
    )


@router.get(
    "/{customer_id}/consent",
    response=ConsentOut,
    summary="Current consent per channel and purpose, and the latest changes",
)
def consent_get(request: HttpRequest, customer_id: int) -> ConsentOut:
    customer = selectors.customer_get_for(_user(request), customer_id)
    states = selectors.consent_matrix(customer)
    matrix = []
    for channel in Channel.values:
        for purpose in Purpose.values:
            state = states.get((channel, purpose))
            matrix.append(
                ConsentStateOut(
                    channel=channel,
                    purpose=purpose,
                    granted=state.granted if state else None,
                    since=state.since if state else None,
                )
            )
    events = [_event_out(e) for e in selectors.consent_history(customer)]
    return ConsentOut(matrix=matrix, events=events)


@router.post(
    "/{customer_id}/consent",
    response={201: ConsentEventOut},
    summary="Record consent given or withdrawn",
)
def consent_post(
    request: HttpRequest, customer_id: int, payload: ConsentIn
) -> Status[ConsentEventOut]:
    user = _user(request)
    customer = selectors.customer_get_for(user, customer_id)
    event = services.consent_record(
        actor=user,
        customer=customer,
        channel=payload.channel,
        purpose=payload.purpose,
        granted=payload.granted,
        source=payload.source,
        note=payload.note,
    )
    return Status(201, _event_out(event))
