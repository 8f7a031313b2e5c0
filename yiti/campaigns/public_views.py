"""The customer's side of a campaign message, without signing in: the response page behind
the link in the message (``/c/<token>/``) and the open pixel (``/c/<token>/o.gif``).

The signed token is the only key (``sending.delivery_token``); an unknown, forged or expired
token gets a friendly page with 404. The first view of the page counts as opened; accept and
decline are CSRF-protected posts, and only the first answer counts.
"""

from __future__ import annotations

import base64
import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from yiti.campaigns import outcomes, selectors
from yiti.campaigns.choices import CONTACTED_STATUSES, ResponseKind
from yiti.campaigns.models import Delivery
from yiti.campaigns.sending import delivery_from_token
from yiti.core.errors import YitiError

log = logging.getLogger("yiti.campaigns")

# the smallest transparent GIF (1 × 1 pixel)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
ANSWERS = (ResponseKind.ACCEPTED, ResponseKind.DECLINED)


def _delivery(token: str) -> Delivery | None:
    delivery_id = delivery_from_token(token)
    if delivery_id is None:
        return None
    delivery = selectors.delivery_for_response(delivery_id)
    if delivery is None or delivery.status not in CONTACTED_STATUSES:
        return None
    return delivery


def _opened(delivery: Delivery) -> Delivery:
    if delivery.opened_at is not None:
        return delivery
    try:
        return outcomes.delivery_respond(actor=None, delivery=delivery, kind=ResponseKind.OPENED)
    except YitiError:
        return delivery


@never_cache
@require_http_methods(["GET", "POST"])
def response_page(request: HttpRequest, token: str) -> HttpResponse:
    delivery = _delivery(token)
    if delivery is None:
        return render(request, "campaigns/response_invalid.html", status=404)
    delivery = _opened(delivery)
    error = ""
    status = 200
    if request.method == "POST":
        kind = request.POST.get("answer", "")
        if kind not in ANSWERS:
            error, status = "unknown", 422
        else:
            try:
                delivery = outcomes.delivery_respond(actor=None, delivery=delivery, kind=kind)
            except YitiError as exc:
                error = exc.code
                status = 409 if exc.code == "already_answered" else 422
                log.info("response to delivery %s refused: %s", delivery.pk, exc.code)
    context = {
        "delivery": delivery,
        "offer": selectors.offer_of_delivery(delivery),
        "answered": delivery.response in ANSWERS,
        "just_answered": request.method == "POST" and not error,
        "error": error,
    }
    return render(request, "campaigns/response.html", context, status=status)


@never_cache
@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """Record that the message was opened; always answers with the pixel."""
    try:
        delivery = _delivery(token)
        if delivery is not None:
            _opened(delivery)
    except DatabaseError:  # a pixel never fails visibly; the open is simply not counted
        log.warning("open pixel: the open of %s was not recorded", token[:16], exc_info=True)
    return HttpResponse(PIXEL, content_type="image/gif")
