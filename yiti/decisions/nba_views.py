"""The next best action panel (customer 360 and ticket pages, htmx) and the propensity page.

The panel is rendered inside the page (``panels.py``) and refreshed by htmx when the agent
changes the context (channel, reason for contact) or records an outcome; each answer is the
panel again, computed fresh.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.core.errors import Conflict, NotFound, YitiError
from yiti.core.htmx import is_htmx
from yiti.core.web import yiti_errors
from yiti.customers.choices import SalesChannel, ValueTier
from yiti.customers.selectors import customer_get_for
from yiti.decisions import nba, selectors
from yiti.decisions.choices import ContactReason
from yiti.decisions.forms import NbaOrderForm, NbaUndoForm
from yiti.decisions.models import UNSCORED
from yiti.decisions.outcomes import (
    SALES_CHANNEL,
    nba_outcome_record,
    nba_outcome_undo,
    offer_amount,
)
from yiti.decisions.views import _require_view
from yiti.engagement.choices import InteractionChannel
from yiti.org.web import acting_user as _actor

PANEL_CHANNELS = (
    InteractionChannel.CALL,
    InteractionChannel.COUNTER,
    InteractionChannel.VISIT,
    InteractionChannel.IM,
    InteractionChannel.PORTAL,
)
DROP_ORDER = nba.DROP_ORDER
PANEL_TOP = 3  # the card shows the three best actions


def _context_qs(context: nba.Context) -> str:
    """The context as query parameters (the accept page keeps it)."""
    params = {"channel": context.channel, "reason": context.reason, "direction": context.direction}
    if context.ticket_id:
        params["ticket"] = str(context.ticket_id)
    return urlencode(params)


def _back_url(customer_id: int, context: nba.Context) -> str:
    if context.ticket_id:
        return reverse("service:ticket", args=[context.ticket_id]) + "#nba"
    return reverse("customers:detail", args=[customer_id]) + "#nba"


def _segment_label(segment: str) -> str:
    if segment == UNSCORED:
        return _("Not scored yet")
    return str(dict(ValueTier.choices).get(segment, segment))


def panel_html(
    request: HttpRequest,
    customer_id: int,
    context: nba.Context,
    *,
    message: str = "",
    error: str = "",
) -> str:
    best = selectors.next_best_for(request.user, customer_id, context)
    counts: dict[str, int] = {}
    for _ref, _kind, code, *_rest in best.drops:
        counts[code] = counts.get(code, 0) + 1
    labels = {
        "suppressed": _("suppressed"),
        "consent": _("no consent"),
        "policy_cap": _("contact policy cap"),
        "quiet_hours": _("quiet hours"),
        "out_of_stock": _("out of stock"),
        "conflict": _("conflict"),
        "not_eligible": _("not eligible"),
    }
    dropped_counts = [(c, labels.get(c, c), counts[c]) for c in DROP_ORDER if c in counts]
    best.actions = best.actions[:PANEL_TOP]
    ctx: dict[str, Any] = {
        "best": best,
        "undoable": selectors.nba_outcomes_undoable(request.user, customer_id),
        "undo_form": NbaUndoForm(),
        "context_qs": _context_qs(context),
        "context_channel_label": dict(InteractionChannel.choices).get(context.channel, ""),
        "context_reason_label": dict(ContactReason.choices).get(context.reason, ""),
        "customer_id": customer_id,
        "context": context,
        "segment_label": _segment_label(best.segment),
        "channels": [(c.value, c.label) for c in PANEL_CHANNELS],
        "reasons": ContactReason.choices,
        "dropped_counts": dropped_counts,
        "drop_labels": labels,
        "message": message,
        "error": error,
        "sales_channels": SalesChannel.choices,
        "sales_channel": SALES_CHANNEL.get(context.channel, SalesChannel.CALL_CENTRE),
    }
    return render_to_string("decisions/_nba_panel.html", ctx, request=request)


def _context_from(request: HttpRequest, data: Any) -> nba.Context:
    return selectors.nba_context_clean(
        request.user,
        channel=data.get("channel") or None,
        reason=data.get("reason") or None,
        unit_id=data.get("unit") or None,
        ticket_id=data.get("ticket") or None,
        direction=data.get("direction") or None,
    )


@login_required
@yiti_errors
@require_GET
def nba_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    context = _context_from(request, request.GET)
    return HttpResponse(panel_html(request, customer_id, context))


@login_required
@yiti_errors
@require_POST
def nba_outcome(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for(request.user, customer_id)
    context = _context_from(request, request.POST)
    message, error = "", ""
    try:
        recorded = nba_outcome_record(
            actor=_actor(request),
            customer=customer,
            action=request.POST.get("action", ""),
            result=request.POST.get("result", ""),
            context=context,
            note=request.POST.get("note", ""),
            quantity=request.POST.get("quantity", "1"),
            sales_channel=request.POST.get("sales_channel") or None,
        )
    except YitiError as exc:
        if not is_htmx(request):
            raise
        error = exc.message
    else:
        o = recorded.outcome
        if o.result == "accepted" and o.order_id:
            message = _(
                "Accepted: the order is recorded for %(unit)s and service is processing it."
            ) % {"unit": o.unit.name if o.unit else "—"}
        elif o.result == "accepted" and (task := o.care_task) is not None:
            message = _("Accepted: the %(call)s is on the care queue, due %(due)s.") % {
                "call": task.get_kind_display(),
                "due": date_format(timezone.localtime(task.due_at), "SHORT_DATE_FORMAT"),
            }
        elif o.result == "accepted":
            message = _("Accepted and recorded on the timeline.")
        else:
            message = _("Declined and recorded on the timeline.")
    if is_htmx(request):
        return HttpResponse(panel_html(request, customer_id, context, message=message, error=error))
    if message:
        messages.success(request, message)
    return redirect(_back_url(customer_id, context))


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def nba_accept(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Accepting an offer: the order form (quantity, amount, sales channel), then a summary to
    confirm with a one-time token, then ``nba_outcome_record`` once per token."""
    customer = customer_get_for(request.user, customer_id)
    data = request.POST if request.method == "POST" else request.GET
    context = _context_from(request, data)
    action = data.get("action", "")
    kind, _sep, ref = action.partition(":")
    if kind != "offer" or not ref.isdigit():
        raise NotFound(_("No such action for this customer."))
    best = selectors.next_best_for(request.user, customer_id, context, top=10_000)
    proposed = next((a for a in best.actions if a.key == action), None)
    if proposed is None:
        drop = next((d for d in best.dropped if d.key == action), None)
        raise Conflict(drop.reason if drop else _("This offer is not proposed any more."))
    offer = selectors.offer_of_action(int(ref))
    step = request.POST.get("step", "") if request.method == "POST" else ""
    default_channel = SALES_CHANNEL.get(context.channel, SalesChannel.CALL_CENTRE)
    if step == "edit":
        initial = {k: v for k, v in request.POST.items() if k not in ("step", "token")}
        form = NbaOrderForm(initial=initial)
    elif request.method == "POST":
        form = NbaOrderForm(request.POST)
    else:
        form = NbaOrderForm(initial={"quantity": 1, "sales_channel": default_channel})
    page: dict[str, Any] = {
        "customer": customer,
        "offer": offer,
        "action": proposed,
        "form": form,
        "context": context,
        "context_qs": _context_qs(context),
        "unit_price": offer_amount(offer),
        "back_url": _back_url(customer_id, context),
    }
    if step in ("review", "confirm") and form.is_valid():
        clean = form.cleaned_data
        amount = clean["amount"]
        if amount is None:
            amount = offer_amount(offer, clean["quantity"])
        if step == "review":
            page.update(
                amount=amount,
                token=uuid.uuid4().hex,
                channel_label=SalesChannel(clean["sales_channel"]).label,
            )
            return render(request, "decisions/nba_confirm.html", page)
        if not clean["token"]:
            form.add_error(None, _("Check the summary and confirm the order."))
        else:
            try:
                recorded = nba_outcome_record(
                    actor=_actor(request),
                    customer=customer,
                    action=action,
                    result="accepted",
                    context=context,
                    note=clean["note"],
                    quantity=clean["quantity"],
                    sales_channel=clean["sales_channel"],
                    amount=clean["amount"],
                    idempotency_key=clean["token"],
                )
            except YitiError as exc:  # invalid input, out of stock, not proposed any more
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                order = recorded.outcome.order
                messages.success(
                    request,
                    _(
                        "Accepted: %(offer)s, order ¥%(amount)s recorded and handed to service. "
                        "You can undo it below for a while."
                    )
                    % {
                        "offer": offer.name,
                        "amount": f"{order.amount:,.2f}" if order else "—",
                    },
                )
                return redirect(_back_url(customer_id, context))
    status = 422 if form.errors else 200
    return render(request, "decisions/nba_accept.html", page, status=status)


@login_required
@yiti_errors
@require_POST
def nba_undo(request: HttpRequest, outcome_id: int) -> HttpResponse:
    """Undo a recorded acceptance (with a reason), then back to where it was made."""
    outcome = selectors.nba_outcome_get_for(request.user, outcome_id)
    context = nba.Context(ticket_id=outcome.ticket_id)
    form = NbaUndoForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the acceptance is undone."))
    else:
        try:
            nba_outcome_undo(
                actor=_actor(request), outcome=outcome, reason=form.cleaned_data["reason"]
            )
        except YitiError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _(
                    "Undone: the order is cancelled, the gift is back in stock and the timeline says why."
                ),
            )
    return redirect(_back_url(outcome.customer_id, context))


@login_required
@yiti_errors
@require_GET
def propensities_page(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    segment = request.GET.get("segment", "")
    segments = [(t.value, str(t.label)) for t in ValueTier] + [(UNSCORED, _("Not scored yet"))]
    labels = dict(segments)
    rows = [
        (r, labels.get(r.segment, r.segment)) for r in selectors.propensities_list(segment=segment)
    ]
    outcomes = [
        (o, labels.get(o.segment, o.segment)) for o in selectors.nba_outcomes_recent(limit=20)
    ]
    return render(
        request,
        "decisions/propensities.html",
        {"rows": rows, "segment": segment, "segments": segments, "outcomes": outcomes},
    )
