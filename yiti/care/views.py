"""Care pages: the agents' queue, a task with the call form, and the customer's survey link."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.care import selectors, services
from yiti.care.choices import Bucket, TaskKind, TaskStatus
from yiti.care.forms import (
    AttemptForm,
    CancelForm,
    FollowUpRuleForm,
    QuestionFormSet,
    SurveyForm,
    SurveyTemplateForm,
    question_initial,
)
from yiti.care.models import CareTask, FollowUpRule, SurveyTemplate
from yiti.care.rules import can_manage, can_use_queue, can_work, queue_own_only
from yiti.core.errors import Conflict, NotFound, ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.customers.saved_filters import saved_filters_of
from yiti.customers.selectors import contact_points_for
from yiti.engagement.selectors import timeline
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.roles import Perm
from yiti.org.selectors import units_visible
from yiti.org.web import acting_user as _actor

# --- queue -----------------------------------------------------------------------------------


@login_required
@yiti_errors
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Due today, overdue, upcoming and escalated follow-ups; htmx swaps only the results."""
    access = access_for(request.user)
    if not can_use_queue(access):
        raise DjangoPermissionDenied(_("The care queue is for care agents and their managers."))
    filters = selectors.CareTaskFilters.from_mapping(request.GET)
    if queue_own_only(access):  # an account manager: the calls assigned to him
        filters = replace(filters, assignee="me")
    now = timezone.now()
    page = paginate(
        selectors.care_queue(request.user, filters, now=now),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "now": now,
        "counts": selectors.queue_counts(request.user, filters, now=now),
        "buckets": Bucket.choices,
        "kinds": TaskKind.choices,
        "units": units_visible(request.user),
        "can_manage": can_manage(access),
        "saved_filters": saved_filters_of(_actor(request), "care"),
        "current_query": _query_without_page(request),
    }
    return render_page_or_partial(request, "care/queue.html", "care/_queue_results.html", context)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return str(query.urlencode())


# --- task ------------------------------------------------------------------------------------


def _task_context(
    request: HttpRequest,
    task: CareTask,
    *,
    form: AttemptForm | None = None,
    cancel_form: CancelForm | None = None,
) -> dict[str, Any]:
    access = access_for(request.user)
    template = task.rule.survey_template
    customer = task.customer
    return {
        "task": task,
        "customer": customer,
        "now": timezone.now(),
        "attempts": list(selectors.attempts_of(task)),
        "responses": list(selectors.responses_of_task(task)),
        "timeline": list(timeline(customer)[:10]),
        "contacts": contact_points_for(request.user, customer),
        "revealed": False,
        "can_reveal": access.has(Perm.PII_REVEAL),
        "can_edit": False,
        "can_work": can_work(access, task) and task.status == TaskStatus.OPEN,
        "template": template,
        "form": form or AttemptForm(template=template),
        "cancel_form": cancel_form or CancelForm(),
    }


@login_required
@yiti_errors
@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.care_task_get_for(request.user, task_id)
    return render(request, "care/task.html", _task_context(request, task))


@login_required
@yiti_errors
@require_POST
def attempt_create(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.care_task_get_for(request.user, task_id)
    form = AttemptForm(request.POST, template=task.rule.survey_template)
    if form.is_valid():
        try:
            attempt = services.care_attempt_record(
                actor=_actor(request),
                task=task,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                answers=form.answers() or None,
            )
        except (ValidationFailed, Conflict) as exc:
            apply_error(form, exc)
        else:
            task = selectors.care_task_get_for(request.user, task_id)
            messages.success(
                request, _("Call recorded: %(o)s.") % {"o": attempt.get_outcome_display()}
            )
            if task.complaint_ticket_id:
                messages.warning(
                    request,
                    format_html(
                        "{} <strong>#{}</strong>",
                        _("The customer is dissatisfied: a complaint was opened."),
                        task.complaint_ticket_id,
                    ),
                )
            if task.status == TaskStatus.ESCALATED:
                messages.warning(request, _("The follow-up was escalated to the care manager."))
            return redirect("care:task", task_id=task.pk)
    return render(request, "care/task.html", _task_context(request, task, form=form), status=422)


@login_required
@yiti_errors
@require_POST
def link_create(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.care_task_get_for(request.user, task_id)
    response = services.survey_link_create(actor=_actor(request), task=task)
    url = request.build_absolute_uri(reverse("care:survey", args=[response.token]))
    messages.success(
        request, format_html("{} <code>{}</code>", _("Survey link for the customer:"), url)
    )
    return redirect("care:task", task_id=task.pk)


@login_required
@yiti_errors
@require_POST
def task_cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.care_task_get_for(request.user, task_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.care_task_cancel(
                actor=_actor(request), task=task, reason=form.cleaned_data["reason"]
            )
        except (ValidationFailed, Conflict) as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Follow-up cancelled."))
            return redirect("care:task", task_id=task.pk)
    return render(
        request, "care/task.html", _task_context(request, task, cancel_form=form), status=422
    )


# --- the customer's survey link (no sign-in) -------------------------------------------------


@require_http_methods(["GET", "POST"])
def survey_public(request: HttpRequest, token: str) -> HttpResponse:
    """One submission per link; expired, used and unknown links get a clear page."""
    try:
        response = services.survey_response_by_token(token)
    except NotFound:
        return render(request, "care/survey_closed.html", {"reason": "invalid"}, status=404)
    template = response.template
    if response.submitted_at is not None:
        return render(
            request, "care/survey_closed.html", {"reason": "used", "template": template}, status=410
        )
    if response.expires_at is not None and response.expires_at <= timezone.now():
        return render(
            request,
            "care/survey_closed.html",
            {"reason": "expired", "template": template},
            status=410,
        )
    form = SurveyForm(request.POST if request.method == "POST" else None, template=template)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_submit(response=response, answers=form.answers())
        except Conflict:
            return render(
                request,
                "care/survey_closed.html",
                {"reason": "used", "template": template},
                status=410,
            )
        except ValidationFailed as exc:
            if exc.code == "link_expired":
                return render(
                    request,
                    "care/survey_closed.html",
                    {"reason": "expired", "template": template},
                    status=410,
                )
            apply_error(form, exc)
        else:
            return render(request, "care/survey_thanks.html", {"template": template})
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "care/survey.html",
        {"form": form, "template": template},
        status=status,
    )


# --- settings: follow-up rules and survey templates --------------------------------------------


def _require_manager(request: HttpRequest) -> None:
    if not can_manage(access_for(request.user)):
        raise DjangoPermissionDenied(
            _("Only administrators and region managers manage follow-up rules and surveys.")
        )


@login_required
@yiti_errors
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return render(request, "care/rules.html", {"rules": selectors.followup_rules()})


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    _require_manager(request)
    rule = FollowUpRule.objects.filter(pk=rule_id).first() if rule_id else None
    if rule_id and rule is None:
        raise NotFound(_("Follow-up rule not found."))
    form = FollowUpRuleForm(request.POST or None, initial=FollowUpRuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        try:
            services.followup_rule_save(actor=_actor(request), rule=rule, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Follow-up rule saved."))
            return redirect("care:rules")
    return render(
        request,
        "care/rule_form.html",
        {"form": form, "rule": rule},
        status=422 if form.errors else 200,
    )


@login_required
@yiti_errors
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return render(
        request, "care/surveys.html", {"templates": selectors.survey_templates(active_only=False)}
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def survey_edit(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    _require_manager(request)
    template = SurveyTemplate.objects.filter(pk=template_id).first() if template_id else None
    if template_id and template is None:
        raise NotFound(_("Survey not found."))
    data = request.POST or None
    form = SurveyTemplateForm(data, initial=SurveyTemplateForm.initial_for(template))
    questions = QuestionFormSet(data, initial=question_initial(template), prefix="questions")
    if request.method == "POST" and form.is_valid() and questions.is_valid():
        rows = [
            q
            for q in questions.cleaned_data
            if q and not q.get("DELETE")  # blank extra rows have no cleaned data
        ]
        try:
            services.survey_template_save(
                actor=_actor(request),
                template=template,
                questions=[
                    services.QuestionInput(
                        id=q["id"],
                        position=q["position"],
                        kind=q["kind"],
                        text=q["text"],
                        target=q["target"],
                        complaint_class=q["complaint_class"],
                        required=q["required"],
                    )
                    for q in rows
                ],
                **form.cleaned_data,
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Survey saved."))
            return redirect("care:surveys")
    failed = bool(form.errors) or (request.method == "POST" and not questions.is_valid())
    return render(
        request,
        "care/survey_form.html",
        {"form": form, "questions": questions, "template": template},
        status=422 if failed else 200,
    )
