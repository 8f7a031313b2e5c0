"""Segment pages: the list, the rule editor with its live count, and the two endpoints the
editor posts to (redraw the rows, count the customers). Offers use the same editor for
their eligibility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.campaigns import rule_editor, rules, segments, selectors, services
from yiti.campaigns.forms import SegmentForm
from yiti.campaigns.models import Segment
from yiti.campaigns.rule_editor import RuleEditor
from yiti.campaigns.views import require_manage, require_view
from yiti.core.errors import ValidationFailed
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.selectors import units_visible
from yiti.org.web import acting_user


@login_required
@yiti_errors
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    require_view(request)
    page = paginate(
        selectors.segments_list(request.user),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    rows = [(s, segments.describe(s.rules)) for s in page.items]
    return render(
        request,
        "campaigns/segments.html",
        {"page": page, "rows": rows, "can_manage": rules.can_manage(access_for(request.user))},
    )


def form_with_rules(
    request: HttpRequest,
    form: Form,
    stored: dict[str, Any] | None,
    save: Callable[[dict[str, Any]], None],
) -> tuple[RuleEditor, int | None]:
    """Read a form that carries the rule editor. Returns the editor to draw and the status of
    the page, or ``None`` when ``save`` (called with the rule) succeeded. A press of one of
    the editor's own buttons redraws it without saving; a rule error shows on its row."""
    if request.method != "POST":
        return rule_editor.editor_from_rule(stored), 200
    editor = rule_editor.editor_from_post(request.POST)
    if rule_editor.is_editor_action(request.POST):
        # only the rows change: show the rest of the form as typed, without judging it yet
        form.errors.clear()
        return editor, 200
    if form.is_valid():
        try:
            save(editor.rule())
        except ValidationFailed as exc:
            if (exc.field or "").startswith("rules"):
                editor.show_error(exc)
            else:
                apply_error(form, exc)
        else:
            return editor, None
    failed = bool(form.errors) or bool(editor.error) or any(r.error for r in editor.rows)
    return editor, 422 if failed else 200


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, segment_id: int | None = None) -> HttpResponse:
    segment = selectors.segment_get(request.user, segment_id) if segment_id else None
    require_manage(request)
    initial = (
        {"name": segment.name, "description": segment.description, "unit": segment.unit_id}
        if segment
        else {"unit": next(iter(access_for(request.user).home_unit_ids), None)}
    )
    form = SegmentForm(request.POST or None, initial=initial, units=units_visible(request.user))
    saved: list[Segment] = []

    def save(rule: dict[str, Any]) -> None:
        data = form.cleaned_data
        if segment is None:
            saved.append(
                services.segment_create(
                    actor=acting_user(request),
                    name=data["name"],
                    description=data["description"],
                    unit=data["unit"],
                    rules=rule,
                )
            )
        else:
            saved.append(
                services.segment_update(
                    actor=acting_user(request),
                    segment=segment,
                    name=data["name"],
                    description=data["description"],
                    rules=rule,
                )
            )

    editor, status = form_with_rules(request, form, segment.rules if segment else None, save)
    if status is None:
        count = services.segment_recount(segment=saved[0])
        messages.success(request, _("Segment saved: %(n)d customers now.") % {"n": count})
        return redirect("campaigns:segments")
    context = {"form": form, "segment": segment, **editor_context(editor, _("Conditions"))}
    return render(request, "campaigns/segment_form.html", context, status=status)


@login_required
@yiti_errors
@require_POST
def rule_editor_rows(request: HttpRequest) -> HttpResponse:
    """The editor drawn again from what was posted (a row added, removed or its field
    changed); tells the live count to count again."""
    require_view(request)
    editor = rule_editor.editor_from_post(request.POST)
    response = render(request, "campaigns/_rule_rows.html", {"editor": editor})
    response["HX-Trigger"] = "rules-changed"
    return response


@login_required
@yiti_errors
@require_POST
def rule_count(request: HttpRequest) -> HttpResponse:
    """How many active customers the posted rule selects (one COUNT), or what is wrong."""
    require_view(request)
    count, error = counted(rule_editor.editor_from_post(request.POST))
    return render(request, "campaigns/_rule_count.html", {"count": count, "error": error})


def counted(editor: RuleEditor) -> tuple[int | None, str]:
    """The editor's rule counted (one COUNT), or the message of what is wrong with it."""
    try:
        return services.segment_count(editor.rule()), ""
    except ValidationFailed as exc:
        return None, exc.message


def editor_context(editor: RuleEditor, legend: str) -> dict[str, Any]:
    count, error = counted(editor)
    return {"editor": editor, "count": count, "count_error": error, "legend": legend}


@login_required
@yiti_errors
@require_POST
def segment_recount(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(request.user, segment_id)
    require_manage(request)
    n = services.segment_recount(segment=segment)
    messages.success(request, _("%(name)s: %(n)d customers now.") % {"name": segment.name, "n": n})
    return redirect("campaigns:segments")
