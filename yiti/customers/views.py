"""Customer pages: the list, create/edit, the 360 view and its actions, reassignment, audit."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.core.audit import audit_values_reveal
from yiti.core.errors import ValidationFailed, YitiError
from yiti.core.htmx import is_htmx, render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.panels import render_panels
from yiti.core.selectors import audit_display, audit_of_customer
from yiti.core.web import yiti_errors
from yiti.customers import selectors, services
from yiti.customers.choices import Channel, CustomerKind, CustomerStatus, Purpose, ValueTier
from yiti.customers.contacts import normalize_phone
from yiti.customers.digest import digest_subscribe
from yiti.customers.forms import (
    CONTACT_ERROR_FIELDS,
    STATUS_FILTER_CHOICES,
    BulkReassignForm,
    ConsentForm,
    ContactPointForm,
    CustomerForm,
    ReassignForm,
)
from yiti.customers.models import Customer
from yiti.customers.saved_filters import (
    saved_filter_create,
    saved_filter_delete,
    saved_filters_of,
)
from yiti.customers.services import ContactInput
from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.forms import apply_error
from yiti.org.roles import Perm
from yiti.org.selectors import account_managers_visible, units_visible
from yiti.org.web import acting_user

# --- list ------------------------------------------------------------------------------------


LIST_KEY = "customers"
COUNT_CAP = 10_000  # the list counts its matches up to here ("more than 10,000")
LIST_PARAMS = ("q", "unit", "owner", "kind", "tier", "status", "city", "unassigned", "page")


def _screen_pop(q: str, page: Any) -> Customer | None:
    """The one customer an exact external id or a full phone number found (screen-pop)."""
    if not q or page.number != 1 or page.has_next or len(page.items) != 1:
        return None
    customer: Customer = page.items[0]
    if customer.external_id and customer.external_id == q:
        return customer
    try:
        normalize_phone(q)  # a complete, valid number: its match is exact, not a prefix
    except ValidationFailed:
        return None
    return customer


@login_required
@yiti_errors
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """Search and filter the customers the user may see; htmx swaps only the results.

    An account manager opening the list without filters lands on his own customers
    (the owner filter set to him; "Anyone" shows his unit's). An exact external id or a
    full phone number in ``q`` (or ``?phone=`` from a CTI integration) opens the customer.
    """
    access = access_for(request.user)
    params = request.GET.copy()
    if params.get("phone") and not params.get("q"):
        params["q"] = str(params.get("phone", ""))
    filters = selectors.CustomerFilters.from_mapping(params)
    everyone = filters
    if not any(k in params for k in (*LIST_PARAMS, "phone")) and (
        Role.ACCOUNT_MANAGER in access.roles and not access.is_admin
    ):
        # an account manager starts from his own customers ("Anyone" shows the unit's)
        filters = dataclasses.replace(filters, owner_id=request.user.pk)
    matches = selectors.customer_list(request.user, filters)
    page = paginate(
        matches,
        page=parse_page(params.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    if not page.items and filters is not everyone:
        # none of his own yet (a new branch, customers not assigned): his unit's instead
        filters = everyone
        matches = selectors.customer_list(request.user, filters)
        page = paginate(matches, page=1, size=settings.YITI_PAGE_SIZE)
    popped = _screen_pop(filters.q, page)
    if popped is not None and not is_htmx(request):
        return redirect("customers:detail", popped.pk)
    total = matches[: COUNT_CAP + 1].count()  # bounded: a million matches cost no more
    context = {
        "page": page,
        "filters": filters,
        "total": min(total, COUNT_CAP),
        "total_capped": total > COUNT_CAP,
        "exact": popped,
        "mine": filters.owner_id == request.user.pk,
        "is_account_manager": Role.ACCOUNT_MANAGER in access.roles,
        "mine_url": reverse("customers:list") + f"?owner={request.user.pk}"
        if Role.ACCOUNT_MANAGER in access.roles
        else "",
        "saved_filters": saved_filters_of(acting_user(request), LIST_KEY),
        "current_query": _list_query(params),
        "can_create": access.has(Perm.CUSTOMER_CREATE),
        "can_export": access.has(Perm.CUSTOMER_EXPORT),
        "can_import": access.has(Perm.CUSTOMER_IMPORT),
    }
    if not is_htmx(request):
        context.update(
            units=units_visible(request.user),
            owners=account_managers_visible(request.user),
            kinds=CustomerKind.choices,
            statuses=STATUS_FILTER_CHOICES,
            tiers=ValueTier.choices,
        )
    return render_page_or_partial(
        request, "customers/list.html", "customers/_results.html", context
    )


@login_required
@require_GET
def customer_cti(request: HttpRequest) -> HttpResponse:
    """The screen-pop link for a telephony (CTI) integration: ``/customers/cti/?phone=…``
    opens the customer with this number, or the list searched by it."""
    phone = (request.GET.get("phone") or request.GET.get("ani") or "").strip()[:40]
    return redirect(reverse("customers:list") + "?" + urlencode({"phone": phone}))


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return fallback


@login_required
@yiti_errors
@require_POST
def saved_filter_save(request: HttpRequest) -> HttpResponse:
    """Save the current filters of a list under a name (the user's own)."""
    list_key = request.POST.get("list_key", "")
    try:
        saved = saved_filter_create(
            actor=acting_user(request),
            list_key=list_key,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
        )
    except YitiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Filters saved as “%(name)s”.") % {"name": saved.name})
    return redirect(_next_url(request, reverse("customers:list")))


@login_required
@yiti_errors
@require_POST
def saved_filter_remove(request: HttpRequest, filter_id: int) -> HttpResponse:
    saved_filter_delete(actor=acting_user(request), filter_id=filter_id)
    messages.success(request, _("Saved filter deleted."))
    return redirect(_next_url(request, reverse("customers:list")))


@login_required
@yiti_errors
@require_POST
def digest_toggle(request: HttpRequest) -> HttpResponse:
    """Turn the daily e-mail digest of notifications on or off."""
    daily = request.POST.get("daily") == "on"
    digest_subscribe(actor=acting_user(request), daily=daily)
    if daily:
        messages.success(request, _("You will get a daily digest of what waits for you."))
    else:
        messages.success(request, _("Daily digest turned off."))
    return redirect(_next_url(request, reverse("org:notifications")))


def _list_query(params: Any) -> str:
    """The list's filters as a query string (without the page), to save them."""
    kept = params.copy()
    kept.pop("page", None)
    kept.pop("phone", None)
    return str(kept.urlencode())


# --- create and edit -------------------------------------------------------------------------


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    access_for(request.user).require(Perm.CUSTOMER_CREATE)
    form = CustomerForm(request.POST or None, user=acting_user(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contacts = [
            ContactInput(kind=kind, value=data[kind], primary=True)
            for kind in ("phone", "email")
            if data[kind]
        ]
        try:
            customer = services.customer_create(
                actor=acting_user(request),
                name=data["name"],
                kind=data["kind"],
                unit=data["unit"],
                owner=data["owner"],
                external_id=data["external_id"],
                contacts=contacts,
                city=data["city"],
                industry=data["industry"],
                address=data["address"],
                birth_date=data["birth_date"],
                since=data["since"],
                note=data["note"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Customer “%(name)s” created.") % {"name": customer.name})
            return redirect("customers:detail", customer.pk)
    status = 422 if form.errors else 200
    return render(request, "customers/form.html", {"form": form, "customer": None}, status=status)


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.customer_get_for(request.user, customer_id)
    if not selectors.customer_can_edit(request.user, customer):
        raise DjangoPermissionDenied(_("You may not change this customer."))
    form = CustomerForm(
        request.POST or None,
        user=acting_user(request),
        customer=customer,
        initial=CustomerForm.initial_for(customer),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(
                actor=acting_user(request), customer=customer, **form.changes()
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customers:detail", customer.pk)
    status = 422 if form.errors else 200
    return render(
        request, "customers/form.html", {"form": form, "customer": customer}, status=status
    )


# --- the 360 page ----------------------------------------------------------------------------


def _contacts_context(
    request: HttpRequest,
    customer: Customer,
    *,
    revealed: bool = False,
    form: ContactPointForm | None = None,
) -> dict[str, Any]:
    access = access_for(request.user)
    merged = customer.status == CustomerStatus.MERGED
    return {
        "customer": customer,
        "contacts": selectors.contact_points_for(request.user, customer, revealed=revealed),
        "revealed": revealed,
        "can_reveal": access.has(Perm.PII_REVEAL),
        "can_edit": not merged and selectors.customer_can_edit(request.user, customer),
        "contact_form": form or ContactPointForm(),
    }


def _consent_context(
    request: HttpRequest, customer: Customer, *, form: ConsentForm | None = None
) -> dict[str, Any]:
    matrix = selectors.consent_matrix(customer)
    rows = [
        {
            "label": label,
            "cells": [matrix.get((channel, purpose)) for purpose, _l in Purpose.choices],
        }
        for channel, label in Channel.choices
    ]
    access = access_for(request.user)
    return {
        "customer": customer,
        "consent_rows": rows,
        "purposes": Purpose.choices,
        "consent_history": selectors.consent_history(customer, limit=20),
        "can_consent": access.has(Perm.CONSENT_CHANGE) and customer.status != CustomerStatus.MERGED,
        "consent_form": form or ConsentForm(),
    }


def _detail_context(
    request: HttpRequest,
    customer: Customer,
    *,
    revealed: bool = False,
    contact_form: ContactPointForm | None = None,
    consent_form: ConsentForm | None = None,
    reassign_form: ReassignForm | None = None,
) -> dict[str, Any]:
    access = access_for(request.user)
    merged = customer.status == CustomerStatus.MERGED
    context = {
        "customer": customer,
        "merged": merged,
        "orders": selectors.orders_of(customer, limit=20),
        "orders_total": selectors.orders_total(customer),
        "assignments": selectors.assignments_of(customer, limit=20),
        "can_reassign": access.has(Perm.CUSTOMER_REASSIGN) and not merged,
        "can_audit": access.has(Perm.AUDIT_VIEW_CUSTOMER) or access.has(Perm.AUDIT_VIEW_ALL),
        "panels": render_panels("customer360", request, customer),
        # the order form, contributed by the service app (taking an order opens its ticket)
        "order_panels": render_panels("customer360.orders", request, customer),
    }
    if context["can_reassign"]:
        context["reassign_form"] = reassign_form or ReassignForm(
            user=acting_user(request), initial={"to_user": customer.owner_id}
        )
    context.update(_contacts_context(request, customer, revealed=revealed, form=contact_form))
    context.update(_consent_context(request, customer, form=consent_form))
    return context


@login_required
@yiti_errors
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.customer_get_for(request.user, customer_id)
    return render(request, "customers/detail.html", _detail_context(request, customer))


def _detail_or_partial(
    request: HttpRequest,
    customer: Customer,
    partial: str,
    partial_context: dict[str, Any],
    *,
    status: int = 200,
    **detail_kwargs: Any,
) -> HttpResponse:
    """The card htmx asked for, or the whole 360 page for a plain form post."""
    if is_htmx(request):
        return render(request, partial, partial_context, status=status)
    context = _detail_context(request, customer, **detail_kwargs)
    return render(request, "customers/detail.html", context, status=status)


@login_required
@yiti_errors
@require_POST
def contacts_reveal(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Show the contact points in full: permitted roles only, and audited."""
    customer = selectors.customer_get_for(request.user, customer_id)
    services.contacts_reveal(actor=acting_user(request), customer=customer, reason=_("360 page"))
    return _detail_or_partial(
        request,
        customer,
        "customers/_contacts.html",
        _contacts_context(request, customer, revealed=True),
        revealed=True,
    )


@login_required
@yiti_errors
@require_POST
def contact_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.customer_get_for(request.user, customer_id)
    form = ContactPointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.contact_point_add(
                actor=acting_user(request),
                customer=customer,
                kind=data["kind"],
                value=data["value"],
                label=data["label"],
                primary=data["primary"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc, fields=CONTACT_ERROR_FIELDS)
        else:
            if not is_htmx(request):
                messages.success(request, _("Contact point added."))
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#contacts")
            form = None  # type: ignore[assignment]
    return _detail_or_partial(
        request,
        customer,
        "customers/_contacts.html",
        _contacts_context(request, customer, form=form),
        status=422 if form is not None else 200,
        contact_form=form,
    )


@login_required
@yiti_errors
@require_POST
def consent_change(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.customer_get_for(request.user, customer_id)
    form = ConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_record(
                actor=acting_user(request),
                customer=customer,
                channel=data["channel"],
                purpose=data["purpose"],
                granted=data["granted"],
                source=data["source"],
                note=data["note"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            if not is_htmx(request):
                messages.success(request, _("Consent recorded."))
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#consent")
            form = None  # type: ignore[assignment]
    return _detail_or_partial(
        request,
        customer,
        "customers/_consent.html",
        _consent_context(request, customer, form=form),
        status=422 if form is not None else 200,
        consent_form=form,
    )


@login_required
@yiti_errors
@require_POST
def customer_reassign(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = selectors.customer_get_for(request.user, customer_id)
    access_for(request.user).require(Perm.CUSTOMER_REASSIGN)
    form = ReassignForm(request.POST, user=acting_user(request))
    if form.is_valid():
        try:
            services.customer_reassign(
                actor=acting_user(request),
                customer=customer,
                to_user=form.cleaned_data["to_user"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc, fields={"owner": "to_user"})
        else:
            messages.success(request, _("Account manager changed."))
            return redirect(reverse("customers:detail", args=[customer.pk]) + "#ownership")
    context = _detail_context(request, customer, reassign_form=form)
    return render(request, "customers/detail.html", context, status=422)


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def customer_audit(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's audit trail, personal data masked; POST ``reveal`` shows this page's
    values in full to a user allowed to reveal, recorded as ``pii.reveal``."""
    customer = selectors.customer_get_for(request.user, customer_id)
    access = access_for(request.user)
    if not (access.has(Perm.AUDIT_VIEW_CUSTOMER) or access.has(Perm.AUDIT_VIEW_ALL)):
        raise DjangoPermissionDenied(_("You may not read this customer's audit trail."))
    page = paginate(
        audit_of_customer(customer.pk),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    revealed = request.method == "POST" and "reveal" in request.POST
    if revealed:
        audit_values_reveal(
            actor=acting_user(request),
            allowed=access.has(Perm.PII_REVEAL),
            events=page.items,
            customer=customer,
            where=_("customer audit trail"),
        )
    context = {
        "customer": customer,
        "page": page,
        **audit_display(page.items, can_reveal=access.has(Perm.PII_REVEAL), revealed=revealed),
    }
    response = render(request, "customers/audit.html", context)
    if revealed:
        response["Cache-Control"] = "no-store"
    return response


# --- bulk reassignment -----------------------------------------------------------------------


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def reassign_bulk(request: HttpRequest) -> HttpResponse:
    """Choose, confirm (with the plan's counts), then move a departing manager's customers."""
    access_for(request.user).require(Perm.CUSTOMER_REASSIGN)
    initial = {"from_user": request.GET.get("from_user")}
    form = BulkReassignForm(request.POST or None, user=acting_user(request), initial=initial)
    if request.method == "POST" and "edit" not in request.POST and form.is_valid():
        data = form.cleaned_data
        to_users = list(data["to_users"])
        arguments = {
            "actor": request.user,
            "from_user": data["from_user"],
            "to_users": to_users,
            "rule": data["rule"],
            "reason": data["reason"],
        }
        try:
            if request.POST.get("confirm") == "1":
                result = services.customers_reassign_bulk(**arguments)
            else:
                plan = services.customers_reassign_bulk(**arguments, dry_run=True)
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            names = {u.pk: str(u) for u in to_users}
            if request.POST.get("confirm") == "1":
                request.session["reassign_result"] = {
                    "batch": result.batch,
                    "moved": result.moved,
                    "from_user": str(data["from_user"]),
                    "rows": [[names.get(pk, str(pk)), n] for pk, n in result.per_user.items()],
                }
                return redirect("customers:reassign_bulk_done")
            context = {
                "form": form,
                "plan": plan,
                "rows": [(names.get(pk, str(pk)), n) for pk, n in plan.per_user.items()],
                "data": data,
            }
            return render(request, "customers/reassign_confirm.html", context)
    status = 422 if form.errors else 200
    return render(request, "customers/reassign_bulk.html", {"form": form}, status=status)


@login_required
@yiti_errors
@require_GET
def reassign_owned(request: HttpRequest) -> HttpResponse:
    """How many customers the chosen manager owns that this user can move (htmx hint)."""
    access_for(request.user).require(Perm.CUSTOMER_REASSIGN)
    filters = selectors.CustomerFilters.from_mapping(
        {"owner": request.GET.get("from_user"), "status": "all"}
    )
    count = None
    if filters.owner_id:
        count = (
            selectors.customer_list(request.user, filters)
            .exclude(status=CustomerStatus.MERGED)
            .count()
        )
    return render(request, "customers/_reassign_owned.html", {"count": count})


@login_required
@require_GET
def reassign_bulk_done(request: HttpRequest) -> HttpResponse:
    result = request.session.pop("reassign_result", None)
    if result is None:
        return redirect("customers:reassign_bulk")
    return render(request, "customers/reassign_done.html", {"result": result})
