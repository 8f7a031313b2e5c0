"""The quality pages: the unit ranking, the indicator catalogue, the hot issues and the topic
catalogue. Thin: selectors and services do the work."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.campaigns.models import Campaign
from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.web import acting_user
from yiti.quality import charts, selectors, services, xlsx
from yiti.quality.choices import RunKind
from yiti.quality.forms import IndicatorForm, TopicForm
from yiti.quality.periods import parse_month, week_start
from yiti.quality.rules import (
    can_compute,
    can_manage_indicators,
    can_view_hot,
    can_view_ranking,
)
from yiti.service.models import Topic
from yiti.service.rules import can_manage_sla
from yiti.service.topics import topic_save


def _tabs(request: HttpRequest, active: str) -> list[tuple[str, str, str, bool]]:
    access = access_for(request.user)
    tabs = []
    if can_view_ranking(access):
        tabs.append(("ranking", _("Unit ranking"), reverse("quality:ranking"), active == "ranking"))
    if can_view_hot(access):
        tabs.append(("hot", _("Hot issues"), reverse("quality:hot"), active == "hot"))
    tabs.append(
        ("indicators", _("Indicators"), reverse("quality:indicators"), active == "indicators")
    )
    tabs.append(("topics", _("Topics"), reverse("quality:topics"), active == "topics"))
    return tabs


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    if can_view_ranking(access):
        return redirect("quality:ranking")
    if can_view_hot(access):
        return redirect("quality:hot")
    return redirect("quality:indicators")


def _month(text: str | None) -> date | None:
    try:
        return parse_month(text or "") if text else None
    except ValueError:
        return None


@login_required
@yiti_errors
@require_GET
def ranking(request: HttpRequest) -> HttpResponse:
    view = selectors.ranking(
        request.user, month=_month(request.GET.get("month")), kind=request.GET.get("kind", "")
    )
    palette = charts.colour_of(view.codes)
    context = {
        "view": view,
        "tabs": _tabs(request, "ranking"),
        "bars": {row.unit_id: charts.contribution_bar(row, palette) for row in view.rows},
        "sparks": {row.unit_id: charts.sparkline(row.trend) for row in view.rows},
        "can_compute": can_compute(access_for(request.user)),
        "legend": charts.legend(view.codes),
        "this_month": services.slot_period(RunKind.RANKING, None, current=True),
        "latest": selectors.runs(RunKind.RANKING).first(),
    }
    return render_page_or_partial(
        request, "quality/ranking.html", "quality/_ranking_results.html", context
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@yiti_errors
@require_GET
def ranking_export(request: HttpRequest) -> HttpResponse:
    view = selectors.ranking(
        request.user, month=_month(request.GET.get("month")), kind=request.GET.get("kind", "")
    )
    month = view.month.strftime("%Y-%m") if view.month else "none"
    return _download(xlsx.ranking_workbook(view), f"quality-ranking-{month}-{view.kind}.xlsx")


@login_required
@yiti_errors
@require_POST
def compute(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    text = request.POST.get("start", "")
    try:
        start = parse_month(text) if kind == RunKind.RANKING else date.fromisoformat(text)
    except ValueError:
        messages.error(request, _("Choose a month or a week."))
        return redirect("quality:ranking" if kind == RunKind.RANKING else "quality:hot")
    try:
        services.run_request(actor=acting_user(request), kind=kind, start=start)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Computing in the background; reload the page in a minute."))
    if kind == RunKind.RANKING:
        return redirect(reverse("quality:ranking") + f"?month={start:%Y-%m}")
    return redirect(reverse("quality:hot") + f"?week={week_start(start).isoformat()}")


@login_required
@yiti_errors
@require_GET
def indicators(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "quality/indicators.html",
        {
            "indicators": selectors.indicators(),
            "tabs": _tabs(request, "indicators"),
            "can_manage": can_manage_indicators(access_for(request.user)),
        },
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def indicator_edit(request: HttpRequest, code: str) -> HttpResponse:
    if not can_manage_indicators(access_for(request.user)):
        raise DjangoPermissionDenied(_("Only administrators change the indicator catalogue."))
    indicator = selectors.indicator_get(code)
    form = IndicatorForm(request.POST or None, indicator=indicator)
    if request.method == "POST" and form.is_valid():
        try:
            services.indicator_save(
                actor=acting_user(request),
                indicator=indicator,
                direction=form.cleaned_data["direction"],
                active=form.cleaned_data["active"],
                note=form.cleaned_data["note"],
                targets=form.targets(),
            )
        except ValidationFailed as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Indicator saved; the next computation uses it."))
            return redirect("quality:indicators")
    return render(
        request,
        "quality/indicator_form.html",
        {"indicator": indicator, "form": form, "tabs": _tabs(request, "indicators")},
        status=422 if form.errors else 200,
    )


def _week(text: str | None) -> date | None:
    try:
        return week_start(date.fromisoformat(text)) if text else None
    except ValueError:
        return None


@login_required
@yiti_errors
@require_GET
def hot(request: HttpRequest) -> HttpResponse:
    view = selectors.hot_issues(request.user, week=_week(request.GET.get("week")))
    return render(
        request,
        "quality/hot.html",
        {
            "view": view,
            "tabs": _tabs(request, "hot"),
            "can_compute": can_compute(access_for(request.user)),
            "last_week": services.slot_period(RunKind.THEMES, None),
            "latest": selectors.runs(RunKind.THEMES).first(),
        },
    )


@login_required
@yiti_errors
@require_GET
def hot_export(request: HttpRequest) -> HttpResponse:
    view = selectors.hot_issues(request.user, week=_week(request.GET.get("week")))
    week = view.week.isoformat() if view.week else "none"
    return _download(xlsx.hot_workbook(view), f"hot-issues-{week}.xlsx")


@login_required
@yiti_errors
@require_GET
def topics(request: HttpRequest) -> HttpResponse:
    rows = Topic.objects.select_related("product").order_by("-active", "name")
    names = dict(
        Campaign.objects.filter(pk__in={t.campaign_id for t in rows if t.campaign_id}).values_list(
            "id", "name"
        )
    )
    return render(
        request,
        "quality/topics.html",
        {
            "topics": [(t, names.get(t.campaign_id or 0, "")) for t in rows],
            "tabs": _tabs(request, "topics"),
            "can_manage": can_manage_sla(access_for(request.user)),
        },
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def topic_edit(request: HttpRequest, topic_id: int | None = None) -> HttpResponse:
    if not can_manage_sla(access_for(request.user)):
        raise DjangoPermissionDenied(
            _("Only administrators and region managers keep the topic catalogue.")
        )
    topic = Topic.objects.filter(pk=topic_id).first() if topic_id else None
    if topic_id and topic is None:
        raise NotFound(_("Topic not found."))
    initial: dict[str, Any] = {"active": True}
    if topic is not None:
        initial = {
            "name": topic.name,
            "applies_to": topic.applies_to,
            "product": topic.product_id,
            "campaign": topic.campaign_id,
            "keywords": topic.keywords,
            "active": topic.active,
        }
    form = TopicForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            topic_save(
                actor=acting_user(request),
                topic=topic,
                name=data["name"],
                applies_to=data["applies_to"],
                product=data["product"],
                campaign_id=data["campaign"].pk if data["campaign"] else None,
                keywords=data["keywords"],
                active=data["active"],
            )
        except ValidationFailed as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Topic saved."))
            return redirect("quality:topics")
    return render(
        request,
        "quality/topic_form.html",
        {"topic": topic, "form": form, "tabs": _tabs(request, "topics")},
        status=422 if form.errors else 200,
    )
