"""Writes for customers: create/update, contact points, consent, ownership, merge, orders."""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_bulk, audit_record, diff, snapshot
from yiti.core.bulk import insert_rows
from yiti.core.errors import Conflict, ValidationFailed
from yiti.core.search import search_key
from yiti.customers.choices import (
    Channel,
    ConsentSource,
    ContactKind,
    CustomerKind,
    CustomerStatus,
    OrderStatus,
    ProductCategory,
    Purpose,
    ReassignRule,
    SalesChannel,
)
from yiti.customers.contacts import normalize_contact
from yiti.customers.models import (
    Assignment,
    ConsentEvent,
    ConsentState,
    ContactPoint,
    Customer,
    Order,
    Product,
)
from yiti.customers.rules import (
    require_edit,
    require_perm,
    require_unit_in_scope,
    require_visible,
)
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.roles import Perm

EDITABLE_FIELDS = (
    "kind",
    "name",
    "external_id",
    "unit",
    "city",
    "address",
    "industry",
    "birth_date",
    "note",
    "since",
)
AUDITED_FIELDS = (*EDITABLE_FIELDS, "owner", "status")


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_("Name is required."), field="name", code="required")
    if len(name) > 120:
        raise ValidationFailed(_("Name is longer than 120 characters."), field="name")
    return name


def _clean_external_id(external_id: str | None, *, exclude_pk: int | None = None) -> str | None:
    external_id = (external_id or "").strip() or None
    if external_id is None:
        return None
    if len(external_id) > 64:
        raise ValidationFailed(_("External id is longer than 64 characters."), field="external_id")
    clash = Customer.objects.filter(external_id=external_id)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationFailed(
            _("Another customer already has external id %(id)s.") % {"id": external_id},
            field="external_id",
            code="duplicate_external_id",
        )
    return external_id


def _check_owner(owner: User | None) -> None:
    if owner is None:
        return
    if not Membership.objects.current().filter(user=owner, role=Role.ACCOUNT_MANAGER).exists():
        raise ValidationFailed(
            _("%(user)s is not an account manager.") % {"user": owner}, field="owner"
        )
    if not owner.is_active:
        raise ValidationFailed(_("%(user)s is no longer active.") % {"user": owner}, field="owner")


@dataclass
class ContactInput:
    kind: str
    value: str
    label: str = ""
    primary: bool = False


@transaction.atomic
def customer_create(
    *,
    actor: User | None,
    name: str,
    unit: OrgUnit,
    kind: str = CustomerKind.PERSON,
    external_id: str | None = None,
    owner: User | None = None,
    contacts: Sequence[ContactInput] = (),
    city: str = "",
    address: str = "",
    industry: str = "",
    birth_date: date | None = None,
    note: str = "",
    since: date | None = None,
    reason: str = "",
) -> Customer:
    require_perm(actor, Perm.CUSTOMER_CREATE)
    require_unit_in_scope(actor, unit.pk)
    if kind not in CustomerKind.values:
        raise ValidationFailed(_("Unknown customer kind."), field="kind")
    name = _clean_name(name)
    _check_owner(owner)
    customer = Customer.objects.create(
        kind=kind,
        name=name,
        name_key=search_key(name),
        external_id=_clean_external_id(external_id),
        unit=unit,
        owner=owner,
        city=city,
        address=address,
        industry=industry,
        birth_date=birth_date,
        note=note,
        since=since or timezone.localdate(),
    )
    for contact in contacts:
        _contact_add(
            customer=customer,
            kind=contact.kind,
            value=contact.value,
            label=contact.label,
            primary=contact.primary,
        )
    _sync_primary_fields(customer)
    if owner is not None:
        Assignment.objects.create(
            customer=customer,
            from_user=None,
            to_user=owner,
            from_unit=None,
            to_unit=unit,
            at=timezone.now(),
            actor=actor,
            reason=reason or _("Created"),
        )
    audit_record(
        actor=actor,
        action="customer.create",
        obj=customer,
        customer_id=customer.pk,
        changes={
            k: [None, v]
            for k, v in snapshot(customer, AUDITED_FIELDS).items()
            if v not in (None, "")
        },
    )
    return customer


@transaction.atomic
def customer_update(*, actor: User | None, customer: Customer, **changes: Any) -> Customer:
    require_edit(actor, customer)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    before = snapshot(customer, AUDITED_FIELDS)
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
        customer.name_key = search_key(changes["name"])
    if "external_id" in changes:
        changes["external_id"] = _clean_external_id(changes["external_id"], exclude_pk=customer.pk)
    if "kind" in changes and changes["kind"] not in CustomerKind.values:
        raise ValidationFailed(_("Unknown customer kind."), field="kind")
    if "unit" in changes and changes["unit"].pk != customer.unit_id:
        require_unit_in_scope(actor, changes["unit"].pk)
    for key, value in changes.items():
        setattr(customer, key, value)
    after = snapshot(customer, AUDITED_FIELDS)
    delta = diff(before, after)
    if not delta:
        return customer
    update_fields = [f for f in EDITABLE_FIELDS if f in changes] + ["name_key", "updated_at"]
    customer.save(update_fields=update_fields)
    if "unit" in delta:
        Assignment.objects.create(
            customer=customer,
            from_user=customer.owner,
            to_user=customer.owner,
            from_unit_id=before["unit"],
            to_unit=customer.unit,
            at=timezone.now(),
            actor=actor,
            reason=_("Unit changed"),
        )
    audit_record(
        actor=actor, action="customer.update", obj=customer, customer_id=customer.pk, changes=delta
    )
    return customer


# --- contact points -------------------------------------------------------------------------


def _contact_add(
    *, customer: Customer, kind: str, value: str, label: str = "", primary: bool = False
) -> ContactPoint:
    norm = normalize_contact(kind, value)
    if ContactPoint.objects.filter(
        customer=customer, kind=kind, normalized=norm.normalized
    ).exists():
        raise ValidationFailed(
            _("This customer already has %(value)s.") % {"value": norm.value},
            field=kind,
            code="duplicate_contact",
        )
    has_primary = ContactPoint.objects.filter(
        customer=customer, kind=kind, is_primary=True
    ).exists()
    if primary and has_primary:
        ContactPoint.objects.filter(customer=customer, kind=kind, is_primary=True).update(
            is_primary=False
        )
    return ContactPoint.objects.create(
        customer=customer,
        kind=kind,
        value=norm.value,
        normalized=norm.normalized,
        search_key=norm.search_key,
        label=label[:40],
        is_primary=primary or not has_primary,
    )


def _sync_primary_fields(customer: Customer) -> None:
    primaries = dict(
        ContactPoint.objects.filter(
            customer=customer, is_primary=True, kind__in=[ContactKind.PHONE, ContactKind.EMAIL]
        ).values_list("kind", "value")
    )
    phone, email = primaries.get(ContactKind.PHONE, ""), primaries.get(ContactKind.EMAIL, "")
    if (customer.primary_phone, customer.primary_email) != (phone, email):
        customer.primary_phone, customer.primary_email = phone, email
        customer.save(update_fields=["primary_phone", "primary_email", "updated_at"])


@transaction.atomic
def contact_point_add(
    *,
    actor: User | None,
    customer: Customer,
    kind: str,
    value: str,
    label: str = "",
    primary: bool = False,
) -> ContactPoint:
    require_edit(actor, customer)
    point = _contact_add(customer=customer, kind=kind, value=value, label=label, primary=primary)
    _sync_primary_fields(customer)
    audit_record(
        actor=actor,
        action="contact.add",
        obj=point,
        customer_id=customer.pk,
        changes={"kind": kind, "value": [None, point.normalized], "primary": point.is_primary},
    )
    return point


@transaction.atomic
def contact_point_set_primary(*, actor: User | None, point: ContactPoint) -> ContactPoint:
    customer = point.customer
    require_edit(actor, customer)
    ContactPoint.objects.filter(customer=customer, kind=point.kind, is_primary=True).exclude(
        pk=point.pk
    ).update(is_primary=False)
    point.is_primary = True
    point.save(update_fields=["is_primary", "updated_at"])
    _sync_primary_fields(customer)
    audit_record(actor=actor, action="contact.set_primary", obj=point, customer_id=customer.pk)
    return point


@transaction.atomic
def contact_point_remove(*, actor: User | None, point: ContactPoint) -> None:
    customer = point.customer
    require_edit(actor, customer)
    was_primary, kind, value = point.is_primary, point.kind, point.normalized
    audit_record(
        actor=actor,
        action="contact.remove",
        obj=point,
        customer_id=customer.pk,
        changes={"kind": kind, "value": [value, None]},
    )
    point.delete()
    if was_primary:
        successor = ContactPoint.objects.filter(customer=customer, kind=kind).order_by("id").first()
        if successor:
            successor.is_primary = True
            successor.save(update_fields=["is_primary", "updated_at"])
    _sync_primary_fields(customer)


# --- consent --------------------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *,
    actor: User | None,
    customer: Customer,
    channel: str,
    purpose: str,
    granted: bool,
    source: str = ConsentSource.STAFF,
    note: str = "",
    at: datetime | None = None,
    check_access: bool = True,
) -> ConsentEvent:
    """Append a consent event and update the derived current state.

    ``check_access=False`` is for the customer acting for himself (portal) or the system.
    """
    if check_access:
        require_perm(actor, Perm.CONSENT_CHANGE)
        require_visible(actor, customer)
    if channel not in Channel.values:
        raise ValidationFailed(_("Unknown channel: %(c)s") % {"c": channel}, field="channel")
    if purpose not in Purpose.values:
        raise ValidationFailed(_("Unknown purpose: %(p)s") % {"p": purpose}, field="purpose")
    if source not in ConsentSource.values:
        raise ValidationFailed(_("Unknown consent source."), field="source")
    at = at or timezone.now()
    event = ConsentEvent.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source,
        actor=actor,
        note=note[:255],
        at=at,
    )
    current = ConsentState.objects.filter(
        customer=customer, channel=channel, purpose=purpose
    ).first()
    previous = current.granted if current else None
    if current is None:
        ConsentState.objects.create(
            customer=customer, channel=channel, purpose=purpose, granted=granted, since=at
        )
    elif current.since <= at:
        current.granted, current.since = granted, at
        current.save(update_fields=["granted", "since"])
    audit_record(
        actor=actor,
        action="consent.record",
        obj=event,
        customer_id=customer.pk,
        changes={f"{channel}/{purpose}": [previous, granted], "source": source},
    )
    return event


@transaction.atomic
def consent_rebuild(*, customer_ids: Iterable[int] | None = None) -> int:
    """Rebuild ``ConsentState`` from the ledger (set-based: one delete, one insert-select)."""
    states = ConsentState.objects.all()
    events = ConsentEvent.objects.all()
    ids = list(customer_ids) if customer_ids is not None else None
    if ids is not None:
        states = states.filter(customer_id__in=ids)
        events = events.filter(customer_id__in=ids)
    states.delete()
    latest = events.filter(
        ~models.Exists(
            ConsentEvent.objects.filter(
                customer_id=models.OuterRef("customer_id"),
                channel=models.OuterRef("channel"),
                purpose=models.OuterRef("purpose"),
            ).filter(
                Q(at__gt=models.OuterRef("at"))
                | Q(at=models.OuterRef("at"), id__gt=models.OuterRef("id"))
            )
        )
    ).values_list("customer_id", "channel", "purpose", "granted", "at")
    rows = [
        ConsentState(customer_id=c, channel=ch, purpose=p, granted=g, since=a)
        for c, ch, p, g, a in latest
    ]
    ConsentState.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- ownership ------------------------------------------------------------------------------


@transaction.atomic
def customer_reassign(
    *,
    actor: User | None,
    customer: Customer,
    to_user: User | None,
    reason: str,
    to_unit: OrgUnit | None = None,
) -> Customer:
    require_perm(actor, Perm.CUSTOMER_REASSIGN)
    require_visible(actor, customer)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the customer is reassigned."), field="reason", code="required"
        )
    unit = to_unit or customer.unit
    if to_unit is not None:
        require_unit_in_scope(actor, to_unit.pk)
    _check_owner(to_user)
    if customer.owner_id == (to_user.pk if to_user else None) and customer.unit_id == unit.pk:
        return customer
    Assignment.objects.create(
        customer=customer,
        from_user_id=customer.owner_id,
        to_user=to_user,
        from_unit_id=customer.unit_id,
        to_unit=unit,
        at=timezone.now(),
        actor=actor,
        reason=reason[:255],
    )
    audit_record(
        actor=actor,
        action="customer.reassign",
        obj=customer,
        customer_id=customer.pk,
        changes={
            "owner": [customer.owner_id, to_user.pk if to_user else None],
            "unit": [customer.unit_id, unit.pk],
        },
        summary=reason,
    )
    customer.owner, customer.unit = to_user, unit
    customer.save(update_fields=["owner", "unit", "updated_at"])
    return customer


@dataclass
class ReassignResult:
    batch: str
    moved: int
    per_user: dict[int, int] = field(default_factory=dict)


def _reassign_plan(
    rows: Sequence[tuple[int, int]],
    targets: Sequence[User],
    rule: str,
    target_units: dict[int, set[int]],
) -> dict[int, list[int]]:
    """Which customer ids go to which target user. ``rows`` are ``(customer_id, unit_id)``.

    EVEN deals customers out round-robin in id order; TERRITORY gives each customer to a
    target who is a member of the customer's unit, round-robin among those.
    """
    plan: dict[int, list[int]] = defaultdict(list)
    if rule == ReassignRule.EVEN:
        for i, (cid, _unit) in enumerate(rows):
            plan[targets[i % len(targets)].pk].append(cid)
        return plan
    by_unit: dict[int, list[int]] = defaultdict(list)
    for user in targets:
        for unit_id in target_units.get(user.pk, set()):
            by_unit[unit_id].append(user.pk)
    uncovered: Counter[int] = Counter()
    cursor: Counter[int] = Counter()
    for cid, unit_id in rows:
        candidates = by_unit.get(unit_id)
        if not candidates:
            uncovered[unit_id] += 1
            continue
        plan[candidates[cursor[unit_id] % len(candidates)]].append(cid)
        cursor[unit_id] += 1
    if uncovered:
        names = dict(OrgUnit.objects.filter(pk__in=uncovered).values_list("pk", "name"))
        detail = ", ".join(f"{names.get(u, u)} ({n})" for u, n in uncovered.most_common())
        raise ValidationFailed(
            _(
                "No chosen colleague serves these units: %(units)s. Add a colleague from each, or split evenly."
            )
            % {"units": detail},
            field="to_users",
            code="territory_uncovered",
        )
    return plan


@transaction.atomic
def customers_reassign_bulk(
    *,
    actor: User | None,
    from_user: User,
    to_users: Sequence[User],
    rule: str = ReassignRule.TERRITORY,
    reason: str,
    batch_size: int = 5000,
    dry_run: bool = False,
) -> ReassignResult:
    """Move every customer of ``from_user`` to ``to_users`` by ``rule``, in one transaction.

    Set-based: one read of (id, unit) pairs, one UPDATE per target and chunk, bulk inserts of
    the assignment history and the audit events. Orders, tickets and the timeline are keyed
    by customer and stay where they are. ``dry_run`` checks and plans without writing.
    """
    access = require_perm(actor, Perm.CUSTOMER_REASSIGN)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the customers are reassigned."), field="reason", code="required"
        )
    targets = [u for u in to_users if u.pk != from_user.pk]
    if not targets:
        raise ValidationFailed(
            _("Choose at least one colleague to take over."), field="to_users", code="required"
        )
    for user in targets:
        _check_owner(user)
    qs = Customer.objects.filter(owner=from_user).exclude(status=CustomerStatus.MERGED)
    if access is not None and not access.is_admin:
        qs = qs.filter(unit_id__in=access.unit_ids)
    rows = list(qs.order_by("id").values_list("id", "unit_id"))
    if not rows:
        raise ValidationFailed(
            _("%(user)s owns no customers you can reassign.") % {"user": from_user},
            code="nothing_to_do",
        )
    target_units: dict[int, set[int]] = defaultdict(set)
    for user_id, unit_id in (
        Membership.objects.current()
        .filter(user__in=targets, role=Role.ACCOUNT_MANAGER)
        .values_list("user_id", "unit_id")
    ):
        target_units[user_id].add(unit_id)
    plan = _reassign_plan(rows, targets, rule, target_units)
    if dry_run:  # the confirmation step: same checks and plan, nothing written
        return ReassignResult(
            batch="", moved=len(rows), per_user={k: len(v) for k, v in plan.items()}
        )
    unit_of = dict(rows)
    batch = uuid.uuid4().hex
    now = timezone.now()
    history: list[tuple[Any, ...]] = []
    audit_rows: list[tuple[int, int, dict[str, Any]]] = []
    actor_id = actor.pk if actor is not None else None
    for user_id, ids in plan.items():
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            Customer.objects.filter(pk__in=chunk).update(owner_id=user_id, updated_at=now)
        for cid in ids:
            unit_id = unit_of[cid]
            history.append(
                (cid, from_user.pk, user_id, unit_id, unit_id, now, actor_id, reason[:255], batch)
            )
            audit_rows.append((cid, cid, {"owner": [from_user.pk, user_id], "batch": batch}))
    insert_rows(
        Assignment,
        (
            "customer",
            "from_user",
            "to_user",
            "from_unit",
            "to_unit",
            "at",
            "actor",
            "reason",
            "batch",
        ),
        history,
        batch_size=batch_size,
    )
    audit_bulk(
        actor=actor,
        action="customer.reassign",
        object_type="customers.customer",
        rows=audit_rows,
        summary=reason,
    )
    audit_record(
        actor=actor,
        action="customer.reassign_bulk",
        object_type="org.user",
        object_id=from_user.pk,
        changes={
            "batch": batch,
            "rule": rule,
            "moved": len(rows),
            "to": {str(k): len(v) for k, v in plan.items()},
        },
        summary=reason,
    )
    return ReassignResult(
        batch=batch, moved=len(rows), per_user={k: len(v) for k, v in plan.items()}
    )


# --- merge ----------------------------------------------------------------------------------

_HANDLED_RELATIONS = {
    (ContactPoint, "customer"),
    (ConsentState, "customer"),
    (Customer, "merged_into"),
}


@transaction.atomic
def customer_merge(
    *, actor: User | None, source: Customer, target: Customer, reason: str = ""
) -> Customer:
    """Fold ``source`` into ``target`` without losing a contact point, order or interaction.

    Rows of any app that point at the customer are moved with one UPDATE per relation,
    found through the model registry so apps added later are covered without this app
    importing them. Contact points are de-duplicated (target's primary wins); consent is
    rebuilt from the merged ledger. ``source`` stays as a ``merged`` tombstone pointing at
    ``target`` so its external id still resolves.
    """
    require_perm(actor, Perm.CUSTOMER_MERGE)
    require_visible(actor, source)
    require_visible(actor, target)
    if source.pk == target.pk:
        raise ValidationFailed(_("A customer cannot be merged into itself."), code="merge_self")
    if CustomerStatus.MERGED in (source.status, target.status):
        raise Conflict(_("One of these customers has already been merged."), code="already_merged")
    source = Customer.objects.select_for_update().get(pk=source.pk)
    target = Customer.objects.select_for_update().get(pk=target.pk)
    moved: dict[str, int] = {}
    existing = set(ContactPoint.objects.filter(customer=target).values_list("kind", "normalized"))
    dup_ids = [
        pk
        for pk, kind, norm in ContactPoint.objects.filter(customer=source).values_list(
            "pk", "kind", "normalized"
        )
        if (kind, norm) in existing
    ]
    ContactPoint.objects.filter(pk__in=dup_ids).delete()
    target_primary_kinds = set(
        ContactPoint.objects.filter(customer=target, is_primary=True).values_list("kind", flat=True)
    )
    ContactPoint.objects.filter(customer=source, kind__in=target_primary_kinds).update(
        is_primary=False
    )
    moved["contact_points"] = ContactPoint.objects.filter(customer=source).update(customer=target)
    for rel in Customer._meta.related_objects:
        model, fk = rel.related_model, rel.field.name
        if (model, fk) in _HANDLED_RELATIONS or not rel.field.concrete:
            continue
        merge_hook = getattr(model, "merge_customers", None)
        if callable(merge_hook):
            moved[model._meta.label_lower] = merge_hook(source_id=source.pk, target_id=target.pk)
        else:
            moved[model._meta.label_lower] = model._default_manager.filter(**{fk: source}).update(
                **{fk: target}
            )
    ConsentState.objects.filter(customer=source).delete()
    consent_rebuild(customer_ids=[target.pk])
    if target.owner_id is None and source.owner_id is not None:
        target.owner_id = source.owner_id
    target.note = "\n".join(filter(None, [target.note, source.note]))
    if source.since and (target.since is None or source.since < target.since):
        target.since = source.since
    if source.last_contact_at and (
        target.last_contact_at is None or source.last_contact_at > target.last_contact_at
    ):
        target.last_contact_at = source.last_contact_at
    target.save(update_fields=["owner", "note", "since", "last_contact_at", "updated_at"])
    _sync_primary_fields(target)
    source.status, source.merged_into = CustomerStatus.MERGED, target
    source.primary_phone = source.primary_email = ""
    source.save(
        update_fields=["status", "merged_into", "primary_phone", "primary_email", "updated_at"]
    )
    changes = {"merged": [source.pk, target.pk], "moved": moved}
    audit_record(
        actor=actor,
        action="customer.merge",
        obj=target,
        customer_id=target.pk,
        changes=changes,
        summary=reason,
    )
    audit_record(
        actor=actor,
        action="customer.merged_into",
        obj=source,
        customer_id=source.pk,
        changes=changes,
        summary=reason,
    )
    return target


def duplicate_groups_by_phone(*, limit: int = 100) -> list[list[int]]:
    """Groups of active customers sharing a normalised phone (candidates for merging), set-based."""
    dupes = (
        ContactPoint.objects.filter(kind=ContactKind.PHONE, customer__status=CustomerStatus.ACTIVE)
        .values("normalized")
        .annotate(n=models.Count("customer_id", distinct=True))
        .filter(n__gt=1)
        .values_list("normalized", flat=True)[:limit]
    )
    groups: dict[str, list[int]] = defaultdict(list)
    for norm, cid in (
        ContactPoint.objects.filter(kind=ContactKind.PHONE, normalized__in=list(dupes))
        .values_list("normalized", "customer_id")
        .order_by("customer_id")
    ):
        if cid not in groups[norm]:
            groups[norm].append(cid)
    return list(groups.values())


# --- products and orders --------------------------------------------------------------------

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_PRICE = Decimal("9999999999.99")
CENT = Decimal("0.01")
PRODUCT_FIELDS = ("code", "name", "category", "price", "margin_rate", "active")


def _decimal(value: Any, field_name: str) -> Decimal:
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(
            _("%(v)s is not a number.") % {"v": value}, field=field_name
        ) from exc
    if not result.is_finite():
        raise ValidationFailed(_("%(v)s is not a number.") % {"v": value}, field=field_name)
    if result < 0:
        raise ValidationFailed(_("Must not be negative."), field=field_name)
    return result


def _money(value: Any, field_name: str) -> Decimal:
    amount = _decimal(value, field_name)
    if amount > MAX_PRICE:
        raise ValidationFailed(_("The amount is too large."), field=field_name)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)  # 四舍五入, as on a receipt


def _clean_code(code: str, *, exclude_pk: int | None = None) -> str:
    code = (code or "").strip().lower()
    if not code:
        raise ValidationFailed(_("A product needs a code."), field="code", code="required")
    if not CODE_RE.match(code):
        raise ValidationFailed(
            _(
                "Use at most 40 lowercase letters, digits, hyphens or underscores, "
                "starting with a letter or digit."
            ),
            field="code",
        )
    clash = Product.objects.filter(code=code)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationFailed(
            _("A product with code %(code)s exists.") % {"code": code},
            field="code",
            code="duplicate_code",
        )
    return code


def _margin_rate(*, price: Decimal, margin_rate: Any, unit_margin: Any) -> Decimal:
    """The margin rate from a rate (0..1) or from a unit margin (0..price)."""
    if unit_margin not in (None, ""):
        margin = _money(unit_margin, "unit_margin")
        if margin > price:
            raise ValidationFailed(
                _("The unit margin cannot be more than the price."), field="unit_margin"
            )
        if price == 0:
            return Decimal("0")
        return (margin / price).quantize(Decimal("0.0001"))
    rate = _decimal(0 if margin_rate in (None, "") else margin_rate, "margin_rate")
    if rate > 1:
        raise ValidationFailed(
            _("The margin rate is a share between 0 and 1 (0.35 for 35 %)."), field="margin_rate"
        )
    return rate.quantize(Decimal("0.0001"))


def _clean_product_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_("A product needs a name."), field="name", code="required")
    if len(name) > 120:
        raise ValidationFailed(_("Name is longer than 120 characters."), field="name")
    return name


def _clean_category(category: str) -> str:
    if category not in ProductCategory.values:
        raise ValidationFailed(_("Choose a category."), field="category")
    return category


@transaction.atomic
def product_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    category: str,
    price: Any,
    margin_rate: Any = None,
    unit_margin: Any = None,
    active: bool = True,
) -> Product:
    """Add a product to the catalogue. The margin is given as a rate (0..1) or as a unit
    margin in yuan (at most the price), and kept as a rate."""
    require_perm(actor, Perm.PRODUCT_MANAGE)
    price_d = _money(price, "price")
    product = Product.objects.create(
        code=_clean_code(code),
        name=_clean_product_name(name),
        category=_clean_category(category),
        price=price_d,
        margin_rate=_margin_rate(price=price_d, margin_rate=margin_rate, unit_margin=unit_margin),
        active=bool(active),
    )
    audit_record(
        actor=actor,
        action="product.create",
        obj=product,
        changes=snapshot(product, PRODUCT_FIELDS),
        summary=product.name,
    )
    return product


@transaction.atomic
def product_update(
    *,
    actor: User | None,
    product: Product,
    code: str | None = None,
    name: str | None = None,
    category: str | None = None,
    price: Any = None,
    margin_rate: Any = None,
    unit_margin: Any = None,
    active: bool | None = None,
) -> Product:
    """Change a product; ``active=False`` takes it out of order forms and offers to come.
    A new price keeps the margin rate unless a rate or unit margin is given with it."""
    require_perm(actor, Perm.PRODUCT_MANAGE)
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = snapshot(product, PRODUCT_FIELDS)
    if code is not None:
        product.code = _clean_code(code, exclude_pk=product.pk)
    if name is not None:
        product.name = _clean_product_name(name)
    if category is not None:
        product.category = _clean_category(category)
    if price is not None:
        product.price = _money(price, "price")
    if margin_rate not in (None, "") or unit_margin not in (None, ""):
        product.margin_rate = _margin_rate(
            price=product.price, margin_rate=margin_rate, unit_margin=unit_margin
        )
    if active is not None:
        product.active = bool(active)
    changes = diff(before, snapshot(product, PRODUCT_FIELDS))
    if not changes:
        return product
    product.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor,
        action="product.deactivate" if changes.get("active") == [True, False] else "product.update",
        obj=product,
        changes=changes,
        summary=product.name,
    )
    return product


def _quantity(value: Any) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("Enter a whole number."), field="quantity") from exc
    if not 1 <= quantity <= 100_000:
        raise ValidationFailed(_("The quantity is between 1 and 100,000."), field="quantity")
    return quantity


def order_by_key(key: str) -> Order | None:
    """The order taken with this one-time key, if any."""
    return Order.objects.filter(idempotency_key=key).first() if key else None


@transaction.atomic
def order_create(
    *,
    actor: User | None,
    customer: Customer,
    product: Product,
    quantity: Any = 1,
    amount: Any = None,
    margin: Any = None,
    channel: str = SalesChannel.BRANCH,
    ordered_at: datetime | None = None,
    sold_by: User | None = None,
    unit: OrgUnit | None = None,
    status: str = OrderStatus.PENDING,
    external_id: str | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """Record an order. The seller is the contact of record; ownership does not change.

    The amount defaults to the product's price × quantity and the margin to the amount × the
    product's margin rate. With an ``idempotency_key`` (a form's one-time token) a second call
    with the same key records nothing: use :func:`order_by_key` to find the first order."""
    require_visible(actor, customer)
    if customer.status == CustomerStatus.MERGED:
        raise ValidationFailed(
            _("This customer was merged; record the order on the surviving customer."),
            code="customer_merged",
        )
    if channel not in SalesChannel.values:
        raise ValidationFailed(_("Unknown sales channel."), field="channel")
    if status not in OrderStatus.values:
        raise ValidationFailed(_("Unknown order status."), field="status")
    quantity_n = _quantity(quantity)
    price = Decimal(str(product.price))
    amount_d = _money(price * quantity_n if amount in (None, "") else amount, "amount")
    margin_d = (
        (amount_d * Decimal(str(product.margin_rate))).quantize(CENT, rounding=ROUND_HALF_UP)
        if margin in (None, "")
        else _money(margin, "margin")
    )
    external_id = (external_id or "").strip() or None
    if external_id is not None and len(external_id) > 64:
        raise ValidationFailed(_("External id is longer than 64 characters."), field="external_id")
    if external_id is not None and Order.objects.filter(external_id=external_id).exists():
        raise ValidationFailed(
            _("An order with this external id exists."),
            field="external_id",
            code="duplicate_external_id",
        )
    try:
        with transaction.atomic():
            order = Order.objects.create(
                customer=customer,
                product=product,
                quantity=quantity_n,
                amount=amount_d,
                margin=margin_d,
                ordered_at=ordered_at or timezone.now(),
                channel=channel,
                sold_by=sold_by or actor,
                unit=unit or customer.unit,
                status=status,
                external_id=external_id,
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError as exc:
        if idempotency_key and order_by_key(idempotency_key) is not None:
            raise Conflict(
                _("This order was already recorded."), code="order_already_taken"
            ) from exc
        raise ValidationFailed(
            _("An order with this external id exists."),
            field="external_id",
            code="duplicate_external_id",
        ) from exc
    audit_record(
        actor=actor,
        action="order.create",
        obj=order,
        customer_id=customer.pk,
        changes={
            "product": product.code,
            "quantity": quantity_n,
            "amount": str(amount_d),
            "channel": channel,
            "sold_by": order.sold_by_id,
            "status": status,
        },
    )
    return order


@transaction.atomic
def order_set_status(*, actor: User | None, order: Order, status: str) -> Order:
    require_visible(actor, order.customer)
    if status not in OrderStatus.values:
        raise ValidationFailed(_("Unknown order status."), field="status")
    before = order.status
    if before == status:
        return order
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="order.status",
        obj=order,
        customer_id=order.customer_id,
        changes={"status": [before, status]},
    )
    return order


def customers_touch(*, customer_ids: Iterable[int], at: datetime) -> int:
    """Move ``last_contact_at`` forward for these customers (one UPDATE; never backwards)."""
    ids = list(customer_ids)
    if not ids:
        return 0
    return (
        Customer.objects.filter(pk__in=ids)
        .filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=at))
        .update(last_contact_at=at)
    )


@transaction.atomic
def contacts_reveal(*, actor: User, customer: Customer, reason: str = "") -> list[ContactPoint]:
    """The customer's contact points in full, for a user allowed to reveal them. Audited."""
    require_perm(actor, Perm.PII_REVEAL)
    require_visible(actor, customer)
    points = list(ContactPoint.objects.filter(customer=customer))
    audit_record(
        actor=actor,
        action="pii.reveal",
        obj=customer,
        customer_id=customer.pk,
        changes={"contact_points": [p.pk for p in points]},
        summary=reason or "contact points",
    )
    return points
