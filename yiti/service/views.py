"""Service desk pages: unit queues, the ticket page, new tickets, SLA policies, calendars.

Thin: forms read the input, selectors scope the reads, services make every change.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.htmx import is_htmx, render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.panels import render_panels
from yiti.core.web import yiti_errors
from yiti.customers.saved_filters import saved_filters_of
from yiti.customers.selectors import contact_points_for, customer_get_for
from yiti.engagement.selectors import is_suppressed, timeline
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.models import User
from yiti.org.selectors import units_visible
from yiti.org.web import acting_user as _actor
from yiti.service import holidays, selectors, services, workflow
from yiti.service.choices import (
    COMPLAINT_REASON_CLASS,
    ComplaintClass,
    ComplaintReason,
    SlaState,
    TicketKind,
    TicketStatus,
)
from yiti.service.complaints import complaint_classify
from yiti.service.filters import STATUS_ALL, STATUS_OPEN, TicketFilters
from yiti.service.forms import (
    AssignForm,
    CalendarForm,
    HolidayScheduleForm,
    ReplyForm,
    RoutingRuleForm,
    SlaPolicyForm,
    TicketForm,
)
from yiti.service.models import RoutingRule, SlaPolicy, Ticket
from yiti.service.pickers import choices_for
from yiti.service.routing import agents_of
from yiti.service.rules import can_manage_sla, can_work
from yiti.service.sla import sla_notes

# --- queues ----------------------------------------------------------------------------------

COUNT_CAP = 10_000  # lists count their matches up to here


@login_required
@require_GET
def service_home(request: HttpRequest) -> HttpResponse:
    """/service/: the queue of the user's own service unit (or of ``?unit=``, the switcher)."""
    requested = request.GET.get("unit", "")
    if requested.isdigit():
        return redirect("service:queue", int(requested))
    unit_id = selectors.home_queue_unit_id(request.user)
    if unit_id is None:
        return render(request, "service/no_queue.html", {})
    return redirect("service:queue", unit_id)


@login_required
@yiti_errors
@require_GET
def queue(request: HttpRequest, unit_id: int) -> HttpResponse:
    """One unit's queue with filters; htmx swaps only the results."""
    unit = selectors.queue_unit(request.user, unit_id)
    filters = TicketFilters.from_mapping(request.GET)
    tickets = selectors.queue(request.user, unit.pk, filters)
    page = paginate(
        tickets,
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    total = tickets[: COUNT_CAP + 1].count()  # bounded: a huge queue costs no more
    named = {t.campaign_id for t in page.items if t.campaign_id}
    names = dict(choices_for("campaign_name", request.user) or []) if named else {}
    for t in page.items:
        t.campaign_name = names.get(t.campaign_id, "") if t.campaign_id else ""
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "unit": unit,
        "page": page,
        "filters": filters,
        "total": min(total, COUNT_CAP),
        "total_capped": total > COUNT_CAP,
        "saved_filters": saved_filters_of(_actor(request), "tickets"),
        "current_query": query.urlencode(),
    }
    if not is_htmx(request):
        context.update(
            queue_units=selectors.queue_units(request.user),
            agents=agents_of(unit),
            statuses=[
                (STATUS_OPEN, pgettext("ticket status", "Open")),
                (STATUS_ALL, _("All")),
                *TicketStatus.choices,
            ],
            kinds=TicketKind.choices,
            classes=ComplaintClass.choices,
            sla_states=SlaState.choices,
        )
    return render_page_or_partial(
        request, "service/queue.html", "service/_queue_results.html", context
    )


@login_required
@require_GET
def my_orders(request: HttpRequest) -> HttpResponse:
    """The seller's view of the order-processing tickets of the orders they sold
    (``?status=open``: only those still in service)."""
    open_only = request.GET.get("status") == STATUS_OPEN
    page = paginate(
        selectors.tickets_for_orders_sold_by(request.user, open_only=open_only),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    return render(request, "service/my_orders.html", {"page": page, "open_only": open_only})


# --- the ticket page -------------------------------------------------------------------------


def _ticket_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    assign_form: AssignForm | None = None,
    transition_error: str = "",
) -> dict[str, Any]:
    access = access_for(request.user)
    customer = ticket.customer
    working = can_work(access, ticket)
    agents = agents_of(ticket.unit_id) if working else []
    return {
        "ticket": ticket,
        "customer": customer,
        "events": selectors.ticket_history(ticket),
        "can_work": working,
        "transitions": [(s, TicketStatus(s).label) for s in workflow.next_statuses(ticket.status)]
        if working
        else [],
        # an internal note unless the agent switches to a public reply (nothing leaks by default)
        "reply_form": reply_form or ReplyForm(initial={"public": False}),
        "assign_form": assign_form
        or AssignForm(agents=agents, initial={"assignee": ticket.assignee_id}),
        "show_assign": working
        and ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED),
        "transition_error": transition_error,
        "sla_notes": sla_notes(ticket, now=timezone.now()),
        # the customer's 360 summary beside the ticket
        "contacts": [c for c in contact_points_for(request.user, customer) if c.is_primary],
        "customer_tickets": selectors.tickets_of_customer(request.user, customer, limit=6),
        "open_count": selectors.open_ticket_count(customer),
        "recent": list(timeline(customer)[:5]),
        "suppressed": is_suppressed(customer),
        # panels of higher apps beside the ticket (the next best action, from decisions)
        "panels": render_panels("ticket", request, ticket),
        "complaint_classes": ComplaintClass.choices,
        "complaint_reasons": ComplaintReason.choices,
        "reason_classes_json": json.dumps(
            {str(k): str(v) for k, v in COMPLAINT_REASON_CLASS.items()}
        ),
        # the campaign's name, from the app above (a complaint stores only its id)
        "campaign_name": "".join(
            html for _key, html in render_panels("ticket_campaign", request, ticket)
        ),
    }


@login_required
@yiti_errors
@require_GET
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for(request.user, ticket_id)
    return render(request, "service/ticket_detail.html", _ticket_context(request, ticket))


def _back(ticket: Ticket, anchor: str = "") -> HttpResponse:
    return redirect(reverse("service:ticket", args=[ticket.pk]) + anchor)


@login_required
@yiti_errors
@require_POST
def ticket_transition(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for(request.user, ticket_id)
    to_status = request.POST.get("to_status", "")
    try:
        services.ticket_transition(
            actor=_actor(request),
            ticket=ticket,
            to_status=to_status,
            body=request.POST.get("body", ""),
        )
    except ValidationFailed as exc:
        context = _ticket_context(request, ticket, transition_error=exc.message)
        return render(request, "service/ticket_detail.html", context, status=422)
    messages.success(
        request, _("Ticket is now “%(status)s”.") % {"status": ticket.get_status_display()}
    )
    return _back(ticket)


@login_required
@yiti_errors
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for(request.user, ticket_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_reply(
                actor=_actor(request),
                ticket=ticket,
                body=form.cleaned_data["body"],
                public=form.cleaned_data["public"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request,
                _("Reply sent.") if form.cleaned_data["public"] else _("Note added."),
            )
            return _back(ticket, "#events")
    context = _ticket_context(request, ticket, reply_form=form)
    return render(request, "service/ticket_detail.html", context, status=422)


@login_required
@yiti_errors
@require_POST
def ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for(request.user, ticket_id)
    form = AssignForm(request.POST, agents=agents_of(ticket.unit_id))
    if form.is_valid():
        try:
            services.ticket_assign(
                actor=_actor(request), ticket=ticket, assignee=form.cleaned_data["assignee"]
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Assigned to %(user)s.") % {"user": ticket.assignee})
            return _back(ticket)
    context = _ticket_context(request, ticket, assign_form=form)
    return render(request, "service/ticket_detail.html", context, status=422)


@login_required
@yiti_errors
@require_POST
def ticket_classify(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Correct a complaint's class and reason (an internal note says what changed)."""
    ticket = selectors.ticket_get_for(request.user, ticket_id)
    try:
        complaint_classify(
            actor=_actor(request),
            ticket=ticket,
            complaint_class=request.POST.get("complaint_class", ""),
            complaint_reason=request.POST.get("complaint_reason", ""),
        )
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Complaint class saved."))
    return _back(ticket)


# --- new ticket ------------------------------------------------------------------------------


def _staff_choices(user: Any) -> Any:
    """Staff a complaint may name: the people of the units the user can see."""
    return (
        User.objects.filter(is_active=True, memberships__unit_id__in=access_for(user).unit_ids)
        .distinct()
        .order_by("username")
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def ticket_create(request: HttpRequest) -> HttpResponse:
    try:
        customer_id = int(request.GET.get("customer") or request.POST.get("customer") or 0)
    except ValueError:
        customer_id = 0
    customer = customer_get_for(request.user, customer_id)
    initial = {"kind": request.GET.get("kind") or TicketKind.CONSULTATION}
    form = TicketForm(
        request.POST or None,
        staff=_staff_choices(request.user),
        campaigns=choices_for("campaign", request.user),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=_actor(request),
                customer=customer,
                kind=data["kind"],
                subject=data["subject"],
                description=data["description"],
                priority=data["priority"],
                channel=data["channel"],
                complaint_class=data["complaint_class"],
                complaint_reason=data["complaint_reason"],
                campaign_id=data["campaign_id"] if data["kind"] == TicketKind.COMPLAINT else None,
                staff_concerned=data["staff_concerned"]
                if data["kind"] == TicketKind.COMPLAINT
                else None,
                topic=data.get("topic"),
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Ticket #%(id)s opened.") % {"id": ticket.pk})
            return redirect("service:ticket", ticket.pk)
    context = {
        "form": form,
        "customer": customer,
        "reason_classes": {str(k): str(v) for k, v in COMPLAINT_REASON_CLASS.items()},
    }
    return render(request, "service/ticket_form.html", context, status=422 if form.errors else 200)


# --- SLA policies and calendars ----------------------------------------------------------------


def _require_manager(request: HttpRequest) -> None:
    if not can_manage_sla(access_for(request.user)):
        raise DjangoPermissionDenied(
            _(
                "Only administrators and region managers manage SLA policies, calendars and routing rules."
            )
        )


@login_required
@yiti_errors
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return render(request, "service/policies.html", {"policies": selectors.sla_policies()})


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, policy_id: int | None = None) -> HttpResponse:
    _require_manager(request)
    policy = SlaPolicy.objects.filter(pk=policy_id).first() if policy_id else None
    if policy_id and policy is None:
        raise NotFound(_("SLA policy not found."))
    form = SlaPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            services.sla_policy_save(actor=_actor(request), policy=policy, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_error(cast(forms.Form, form), exc)
        else:
            messages.success(request, _("SLA policy saved."))
            return redirect("service:policies")
    return render(
        request,
        "service/policy_form.html",
        {"form": form, "policy": policy},
        status=422 if form.errors else 200,
    )


@login_required
@yiti_errors
@require_GET
def calendar_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return render(
        request,
        "service/calendars.html",
        {
            "calendars": selectors.calendars_visible(request.user),
            "schedules": holidays.holiday_schedules(),
            "missing_years": holidays.missing_years(timezone.now()),
            "package_last_year": holidays.package_last_year(),
            "is_admin": access_for(request.user).is_admin,
        },
    )


def _require_admin(request: HttpRequest) -> None:
    if not access_for(request.user).is_admin:
        raise DjangoPermissionDenied(_("Only administrators change the official holiday schedule."))


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def holiday_year_edit(request: HttpRequest, year: int | None = None) -> HttpResponse:
    """Load a year's holiday schedule from a file or typed dates (``year`` None: a new year)."""
    _require_admin(request)
    schedule = holidays.holiday_schedule_get(year) if year is not None else None
    wanted = year or holidays.year_param(request.GET.get("year"))
    form = HolidayScheduleForm(
        request.POST or None,
        request.FILES or None,
        initial={"dates": holidays.schedule_text(schedule)},
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        field = "file" if upload else "dates"
        try:
            if upload:
                rows = holidays.read_schedule_file(file_name=upload.name, data=upload.read())
                source = upload.name
            else:
                rows = holidays.read_schedule_text(form.cleaned_data["dates"])
                source = _("entered on the calendar page")
            saved = holidays.holiday_schedule_load(
                actor=_actor(request), rows=rows, source=source, year=wanted
            )
        except holidays.ScheduleInvalid as exc:
            form.add_error(field, [str(p) for p in exc.problems])
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Holiday schedule %(year)s saved.") % {"year": saved.year})
            return redirect("service:calendars")
    return render(
        request,
        "service/holiday_form.html",
        {"form": form, "schedule": schedule, "year": year, "wanted_year": wanted},
        status=422 if form.errors else 200,
    )


@login_required
@yiti_errors
@require_POST
def holiday_year_delete(request: HttpRequest, year: int) -> HttpResponse:
    _require_admin(request)
    holidays.holiday_schedule_delete(actor=_actor(request), year=year)
    messages.success(request, _("Holiday schedule %(year)s removed.") % {"year": year})
    return redirect("service:calendars")


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, calendar_id: int | None = None) -> HttpResponse:
    _require_manager(request)
    calendar = selectors.calendar_get_for(request.user, calendar_id) if calendar_id else None
    form = CalendarForm(
        request.POST or None,
        units=units_visible(request.user),
        initial=CalendarForm.initial_for(calendar),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.calendar_save(
                actor=_actor(request),
                calendar=calendar,
                unit=data["unit"],
                name=data["name"],
                weekly_hours=data["weekly_hours"],
                time_zone=data["time_zone"],
                use_cn_holidays=data["use_cn_holidays"],
                adjusted_workday_as=data["adjusted_workday_as"],
                exceptions=data["exception_rows"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Calendar saved."))
            return redirect("service:calendars")
    return render(
        request,
        "service/calendar_form.html",
        {"form": form, "calendar": calendar},
        status=422 if form.errors else 200,
    )


# --- routing rules ---------------------------------------------------------------------------


@login_required
@yiti_errors
@require_GET
def routing_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return render(request, "service/routing.html", {"rules": selectors.routing_rules()})


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def routing_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    _require_manager(request)
    rule = RoutingRule.objects.filter(pk=rule_id).first() if rule_id else None
    if rule_id and rule is None:
        raise NotFound(_("Routing rule not found."))
    form = RoutingRuleForm(request.POST or None, instance=rule, units=units_visible(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.routing_rule_save(actor=_actor(request), rule=rule, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_error(cast(forms.Form, form), exc)
        else:
            messages.success(request, _("Routing rule saved."))
            return redirect("service:routing")
    return render(
        request,
        "service/routing_form.html",
        {"form": form, "rule": rule},
        status=422 if form.errors else 200,
    )
