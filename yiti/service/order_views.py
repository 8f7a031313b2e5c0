"""Taking an order on the customer page: the form, a summary to confirm, then ``order_take``.

The form shows in the orders card of the customer 360 page (slot ``customer360.orders``,
registered in the service app's ``ready`` because customers may not import service). Posting
it shows a summary of what the customer will pay; confirming records the order and opens the
order-processing ticket. The summary carries a one-time token: a second confirm with the same
token (a double click, the back button, a retry) finds the first order and writes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yiti.core.errors import Conflict, ValidationFailed
from yiti.core.panels import register_panel
from yiti.core.web import yiti_errors
from yiti.customers.choices import CustomerStatus
from yiti.customers.models import Customer, Order
from yiti.customers.selectors import customer_get_for, products_on_sale
from yiti.customers.services import order_by_key
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.roles import Perm
from yiti.org.web import acting_user
from yiti.service.choices import TicketKind
from yiti.service.order_forms import OrderForm
from yiti.service.services import order_take

ERROR_FIELDS = {"ordered_at": "", "external_id": ""}


def _can_take(request: HttpRequest, customer: Customer) -> bool:
    return (
        access_for(request.user).has(Perm.ORDER_TAKE) and customer.status != CustomerStatus.MERGED
    )


def render_order_form(request: HttpRequest, customer: Any) -> str:
    """The "Take an order" disclosure in the customer page's orders card."""
    if not _can_take(request, customer):
        return ""
    has_products = products_on_sale().exists()
    form = OrderForm(customer=customer, user=acting_user(request)) if has_products else None
    return render_to_string(
        "service/orders/_take_panel.html",
        {"customer": customer, "form": form, "has_products": has_products},
        request=request,
    )


def register() -> None:
    register_panel("customer360.orders", "take_order", render_order_form, order=10)


def _done(request: HttpRequest, customer: Customer, order: Order, *, again: bool) -> HttpResponse:
    if again:
        messages.info(request, _("This order was already recorded; nothing was added."))
    else:
        ticket = order.tickets.filter(kind=TicketKind.ORDER_PROCESSING).order_by("pk").first()
        messages.success(
            request,
            _(
                "Order recorded: %(product)s × %(n)s, ¥%(amount)s. Service is processing it "
                "(ticket #%(ticket)s); follow it under “My orders in service”."
            )
            % {
                "product": order.product.name,
                "n": order.quantity,
                "amount": f"{order.amount:,.2f}",
                "ticket": ticket.pk if ticket else "—",
            },
        )
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#orders")


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def order_take_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    """GET or ``step=edit``: the form; ``step=review``: the summary to confirm;
    ``step=confirm``: record the order (once per token) and go back to the customer."""
    customer = customer_get_for(request.user, customer_id)
    access_for(request.user).require(Perm.ORDER_TAKE)
    if customer.status == CustomerStatus.MERGED:
        raise ValidationFailed(
            _("This customer was merged; record the order on the surviving customer.")
        )
    user = acting_user(request)
    step = request.POST.get("step", "") if request.method == "POST" else ""
    if step == "edit":  # back from the summary: the form again, filled in, without errors
        initial = {k: v for k, v in request.POST.items() if k not in ("step", "token")}
        form = OrderForm(initial=initial, customer=customer, user=user)
    else:
        form = OrderForm(request.POST or None, customer=customer, user=user)
    context: dict[str, Any] = {"customer": customer, "form": form}
    if step in ("review", "confirm") and form.is_valid():
        data = form.cleaned_data
        if step == "review":
            context.update(
                amount=form.preview_amount(),
                token=uuid.uuid4().hex,
                default_amount=data["amount"] is None,
            )
            return render(request, "service/orders/confirm.html", context)
        token = data["token"]
        if not token:
            form.add_error(None, _("Check the summary and confirm the order."))
        else:
            taken = order_by_key(token)
            if taken is not None and taken.customer_id == customer.pk:
                return _done(request, customer, taken, again=True)
            try:
                order, _ticket = order_take(
                    actor=user,
                    customer=customer,
                    product=data["product"],
                    quantity=data["quantity"],
                    amount=data["amount"],
                    channel=data["channel"],
                    sold_by=data["sold_by"],
                    note=data["note"],
                    idempotency_key=token,
                )
            except Conflict as exc:
                if exc.code != "order_already_taken":
                    raise
                taken = order_by_key(token)
                if taken is None:
                    raise
                return _done(request, customer, taken, again=True)
            except ValidationFailed as exc:
                apply_error(form, exc, fields=ERROR_FIELDS)
            else:
                return _done(request, customer, order, again=False)
    return render(request, "service/orders/form.html", context, status=422 if form.errors else 200)
