"""Work-order pages: the list (my tasks / open / all), creation, and the work-order page with
its chain and the form for the step the current user may take. Thin: forms in, services out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.core.errors import ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.customers.selectors import CustomerFilters, customer_get_for, customer_list
from yiti.org.forms import apply_error
from yiti.org.selectors import units_visible
from yiti.service.dispatch import rules, selectors, services
from yiti.service.dispatch.choices import (
    Decision,
    LineStage,
    Origin,
    Step,
    WorkOrderStatus,
)
from yiti.service.dispatch.forms import (
    AssignForm,
    ClaimForm,
    CreateForm,
    NoteForm,
    PlanForm,
    ReimburseForm,
    RejectForm,
    ReportForm,
)
from yiti.service.dispatch.models import WorkOrder

# --- the list --------------------------------------------------------------------------------


@login_required
@yiti_errors
@require_GET
def work_order_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.WorkOrderFilters.from_mapping(request.GET)
    page = paginate(
        selectors.work_order_list(request.user, filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "views": [
            ("tasks", _("My tasks")),
            ("open", _("Open in my scope")),
            ("all", _("All")),
        ],
        "statuses": WorkOrderStatus.choices,
        "origins": Origin.choices,
        "units": units_visible(request.user),
    }
    return render_page_or_partial(request, "dispatch/list.html", "dispatch/_results.html", context)


# --- create ----------------------------------------------------------------------------------


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def work_order_create(request: HttpRequest) -> HttpResponse:
    """``/dispatch/new/?ticket=<id>`` or ``?customer=<id>``; without either, find the customer."""
    ticket = customer = None
    ticket_id = _int(request.GET.get("ticket"))
    customer_id = _int(request.GET.get("customer"))
    if ticket_id:
        ticket = selectors.ticket_for_dispatch(request.user, ticket_id)
        customer = ticket.customer
    elif customer_id:
        customer = customer_get_for(request.user, customer_id)
    if customer is None:
        q = (request.GET.get("q") or "").strip()[:100]
        found = list(customer_list(request.user, CustomerFilters(q=q))[:10]) if q else []
        return render(request, "dispatch/new.html", {"q": q, "found": found, "form": None})

    may_create = rules.holds_role_over(request.user, customer.unit, rules.CREATOR_ROLES)
    initial = {"subject": ticket.subject} if ticket else {}
    form = CreateForm(request.POST or None, from_ticket=ticket is not None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            wo = services.work_order_create(
                actor=request.user,  # type: ignore[arg-type]
                customer=customer,
                ticket=ticket,
                origin=data.get("origin") or None,
                subject=data["subject"],
                description=data["description"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Work order %(ref)s created.") % {"ref": wo.reference})
            return redirect("dispatch:detail", wo.pk)
    context = {
        "form": form,
        "ticket": ticket,
        "customer": customer,
        "may_create": may_create,
        "existing": (
            list(selectors.work_orders_of_ticket(request.user, ticket.pk)[:5]) if ticket else []
        ),
    }
    return render(request, "dispatch/new.html", context, status=422 if form.errors else 200)


def _int(raw: Any) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- the work-order page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    slug: str
    step: Step
    label: str
    make_form: Callable[[WorkOrder, Any], forms.Form]
    service: Callable[..., WorkOrder]
    danger: bool = False


def _plan_form(wo: WorkOrder, data: Any) -> forms.Form:
    initial = PlanForm.initial_for(wo, list(selectors.budget_lines(wo)))
    return PlanForm(data, initial=initial)


def _report_form(wo: WorkOrder, data: Any) -> forms.Form:
    initial = {
        "carried_out_at": timezone.localtime(wo.carried_out_at or timezone.now()).replace(
            second=0, microsecond=0
        ),
        "findings": wo.findings,
        "work_done": wo.work_done,
        "parts": wo.parts,
        "customer_signed_off": wo.customer_signed_off,
        "signed_off_by": wo.signed_off_by,
    }
    return ReportForm(data, initial=initial)


def _claim_form(wo: WorkOrder, data: Any) -> forms.Form:
    lines = list(selectors.expense_lines(wo))
    initial: dict[str, Any] = ClaimForm.initial_lines(lines)
    if lines:
        initial.update(receipts_count=wo.receipts_count, over_budget_reason=wo.over_budget_reason)
    return ClaimForm(data, initial=initial)


ACTIONS: dict[str, Action] = {
    a.slug: a
    for a in (
        Action(
            "assign",
            Step.ASSIGN,
            _("Assign the traveller"),
            lambda wo, data: AssignForm(data, travellers=selectors.travellers_for(wo)),
            services.work_order_assign,
        ),
        Action(
            "plan",
            Step.PLAN,
            _("Submit the contact and trip plan"),
            _plan_form,
            services.work_order_plan,
        ),
        Action(
            "approve",
            Step.APPROVE,
            _("Approve the trip"),
            lambda wo, data: NoteForm(data),
            services.work_order_approve,
        ),
        Action(
            "budget-approve",
            Step.BUDGET_APPROVE,
            _("Approve the budget"),
            lambda wo, data: NoteForm(data),
            services.work_order_budget_approve,
        ),
        Action(
            "report",
            Step.REPORT,
            _("File the task report"),
            _report_form,
            services.work_order_report,
        ),
        Action(
            "archive",
            Step.ARCHIVE,
            _("Archive the documents"),
            lambda wo, data: NoteForm(data),
            services.work_order_archive,
        ),
        Action(
            "claim",
            Step.CLAIM,
            _("Submit the expense claim"),
            _claim_form,
            services.work_order_claim,
        ),
        Action(
            "reimburse",
            Step.REIMBURSE,
            _("Reimburse and close"),
            lambda wo, data: ReimburseForm(data, initial={"amount": wo.expense_total}),
            services.work_order_reimburse,
        ),
    )
}
ACTION_BY_STEP = {a.step: a for a in ACTIONS.values()}

REJECT_LABELS = {
    Step.PLAN: _("Decline the assignment"),
    Step.APPROVE: _("Send the plan back"),
    Step.BUDGET_APPROVE: _("Send the budget back"),
    Step.ARCHIVE: _("Send the report back"),
    Step.REIMBURSE: _("Send the claim back"),
}

CHAIN = [Step.CREATE, *[stage.step for stage in rules.STAGES.values()]]
STATUS_ORDER = [s.value for s in WorkOrderStatus]


def _chain(wo: WorkOrder, steps: list[Any]) -> list[dict[str, Any]]:
    """The stepper: each step of the chain, done / current / to do, with who took it when.

    Step ``i`` (after "created") is the step of the ``i-1``-th status, so it is done once the
    order stands at status ``i`` or later. The current step is marked "sent back" when the
    last thing that happened was a rejection.
    """
    latest: dict[str, Any] = {}
    for row in steps:
        if row.decision != Decision.REJECT:
            latest[row.step] = row
    returned = bool(steps) and steps[-1].decision == Decision.REJECT
    position = STATUS_ORDER.index(wo.status)
    out = []
    for i, step in enumerate(CHAIN):
        if i <= position:
            state = "done"
        elif i == position + 1:
            state = "current"
        else:
            state = "todo"
        out.append(
            {
                "step": step,
                "label": Step(step).label,
                "state": state,
                "record": latest.get(step) if state == "done" else None,
                "returned": state == "current" and returned,
                "actor": rules.STAGES[STATUS_ORDER[i - 1]].actor if i else None,
            }
        )
    return out


def _detail_context(
    request: HttpRequest,
    wo: WorkOrder,
    *,
    form: forms.Form | None = None,
    reject_form: forms.Form | None = None,
) -> dict[str, Any]:
    steps = list(selectors.steps_of(wo))
    stage = rules.next_stage_for(request.user, wo)
    action = ACTION_BY_STEP.get(stage.step) if stage else None
    if action and form is None:
        form = action.make_form(wo, None)
    if stage and stage.back and reject_form is None:
        reject_form = RejectForm()
    last = steps[-1] if steps else None
    return {
        "wo": wo,
        "steps": steps,
        "chain": _chain(wo, steps),
        "stage": rules.STAGES.get(wo.status),
        "action": action,
        "form": form,
        "reject_form": reject_form if stage and stage.back else None,
        "reject_label": REJECT_LABELS.get(stage.step) if stage else None,
        "sent_back": last if last and last.decision == Decision.REJECT else None,
        "budget_lines": list(selectors.budget_lines(wo)),
        "expense_lines": list(selectors.expense_lines(wo)),
        "over_budget_limit": (wo.budget_total * (1 + services.OVER_BUDGET_TOLERANCE)).quantize(
            services.CENT
        ),
        "line_stage": LineStage,
    }


@login_required
@yiti_errors
@require_GET
def work_order_detail(request: HttpRequest, work_order_id: int) -> HttpResponse:
    wo = selectors.work_order_get_for(request.user, work_order_id)
    return render(request, "dispatch/detail.html", _detail_context(request, wo))


@login_required
@yiti_errors
@require_POST
def work_order_step(request: HttpRequest, work_order_id: int, slug: str) -> HttpResponse:
    """Take one step of the chain (or send the order back, ``slug`` "reject")."""
    wo = selectors.work_order_get_for(request.user, work_order_id)
    if slug == "reject":
        reject_form = RejectForm(request.POST)
        if reject_form.is_valid():
            return _run(
                request,
                wo,
                services.work_order_reject,
                reject_form,
                _("Sent back with your reason."),
                reject=True,
            )
        return _invalid(request, wo, reject_form=reject_form)
    action = ACTIONS.get(slug)
    if action is None:
        raise Http404
    stage = rules.STAGES.get(wo.status)
    if stage is None or stage.step != action.step:
        # a stale page: the order moved on since it was loaded (the service would refuse too)
        messages.error(
            request,
            _("This work order is at “%(status)s” now.") % {"status": wo.get_status_display()},
        )
        return redirect("dispatch:detail", wo.pk)
    form = action.make_form(wo, request.POST)
    if form.is_valid():
        return _run(
            request, wo, action.service, form, _("Done: %(step)s.") % {"step": action.label}
        )
    return _invalid(request, wo, form=form)


def _run(
    request: HttpRequest,
    wo: WorkOrder,
    service: Callable[..., WorkOrder],
    form: Any,
    done: str,
    *,
    reject: bool = False,
) -> HttpResponse:
    try:
        wo = service(actor=request.user, work_order=wo, **form.service_kwargs())
    except ValidationFailed as exc:
        if exc.code == "invalid_step":
            # someone else took the step meanwhile: show the order as it is now
            messages.error(request, exc.message)
            return redirect("dispatch:detail", wo.pk)
        apply_error(form, exc)
        if reject:
            return _invalid(request, wo, reject_form=form)
        return _invalid(request, wo, form=form)
    messages.success(request, done)
    if not rules.is_visible(request.user, wo):  # e.g. a traveller from another unit declined
        return redirect("dispatch:list")
    return redirect("dispatch:detail", wo.pk)


def _invalid(
    request: HttpRequest,
    wo: WorkOrder,
    *,
    form: forms.Form | None = None,
    reject_form: forms.Form | None = None,
) -> HttpResponse:
    context = _detail_context(request, wo, form=form, reject_form=reject_form)
    return render(request, "dispatch/detail.html", context, status=422)
