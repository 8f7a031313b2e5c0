"""Service meets marketing (complaints suppress) and sales hands over to service (orders)."""

from __future__ import annotations

import pytest

from tests.factories import ProductFactory
from yiti.core.errors import ValidationFailed
from yiti.customers.models import Customer
from yiti.engagement.selectors import is_suppressed, suppressions_active
from yiti.service.choices import TicketKind, TicketStatus
from yiti.service.selectors import tickets_for_orders_sold_by
from yiti.service.services import (
    order_take,
    ticket_close,
    ticket_create,
    ticket_reopen,
    ticket_resolve,
    ticket_transition,
)


def _complaint(org, customer, subject, **kw):
    return ticket_create(
        actor=org.users["svc_east"],
        customer=customer,
        kind="complaint",
        complaint_class="offer_design",
        complaint_reason="conflicting_campaigns",
        campaign_id=2,
        subject=subject,
        **kw,
    )


def test_the_customer_is_unsuppressed_only_when_the_last_open_complaint_ends(
    org, customers, policies
):
    agent, customer = org.users["svc_east"], customers["hz"]
    assert not is_suppressed(customer)
    first = _complaint(org, customer, "Two offers contradict each other")
    assert is_suppressed(customer)
    second = _complaint(org, customer, "Conditions unreasonable")
    assert suppressions_active(customer).count() == 2

    ticket_resolve(actor=agent, ticket=first, resolution="Explained, credit given")
    assert is_suppressed(customer)  # the second complaint is still open
    ticket_transition(actor=agent, ticket=second, to_status=TicketStatus.IN_PROGRESS)
    ticket_resolve(actor=agent, ticket=second, resolution="Offer withdrawn")
    assert not is_suppressed(customer)

    # reopening suppresses again; closing without a new resolution keeps it lifted after
    ticket_reopen(actor=agent, ticket=first, reason="Credit never arrived")
    assert is_suppressed(customer)
    ticket_resolve(actor=agent, ticket=first, resolution="Credit posted")
    ticket_close(actor=agent, ticket=first)
    assert not is_suppressed(customer)


def test_other_kinds_do_not_suppress(org, customers, policies):
    ticket_create(actor=None, customer=customers["hz"], kind="repair", subject="No signal")
    assert not is_suppressed(customers["hz"])


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"kind": "complaint"}, "required"),
        (
            {
                "kind": "complaint",
                "complaint_class": "staff_conduct",
                "complaint_reason": "gift_late",
            },
            "reason_class_mismatch",
        ),
        ({"kind": "repair", "complaint_class": "fulfilment"}, "not_a_complaint"),
    ],
)
def test_complaint_classes_are_checked(org, customers, kw, code):
    with pytest.raises(ValidationFailed) as exc:
        ticket_create(actor=None, customer=customers["hz"], subject="x", **kw)
    assert exc.value.code == code


def test_a_reason_implies_its_class(org, customers):
    ticket = ticket_create(
        actor=None,
        customer=customers["hz"],
        kind="complaint",
        complaint_reason="credit_late",
        subject="Credit late",
    )
    assert ticket.complaint_class == "fulfilment"


def test_an_order_taken_by_sales_opens_a_ticket_in_the_service_unit(org, customers, policies):
    am, customer = org.users["am_hz"], customers["hz"]
    product = ProductFactory()
    order, ticket = order_take(actor=am, customer=customer, product=product, amount="199.00")
    assert ticket.kind == TicketKind.ORDER_PROCESSING and ticket.order == order
    assert ticket.unit == org.east and ticket.assignee == org.users["svc_east"]
    assert order.sold_by == am
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.owner == am  # the seller stays the contact of record
    # the seller follows it
    assert list(tickets_for_orders_sold_by(am)) == [ticket]
    assert list(tickets_for_orders_sold_by(org.users["am_hz2"])) == []
    # working and resolving the ticket carries the order along
    agent = org.users["svc_east"]
    ticket_transition(actor=agent, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)
    order.refresh_from_db()
    assert order.status == "processing"
    ticket_resolve(actor=agent, ticket=ticket, resolution="Line activated")
    order.refresh_from_db()
    assert order.status == "fulfilled"


def test_the_seller_sees_the_progress_on_my_orders(client, org, customers, policies):
    am = org.users["am_hz"]
    _order, ticket = order_take(actor=am, customer=customers["hz"], product=ProductFactory())
    client.force_login(am)
    page = client.get("/service/my-orders/").content.decode()
    assert f"/service/tickets/{ticket.pk}/" in page and "杭州客户" in page
    # and the ticket itself, because the customer is his
    assert client.get(f"/service/tickets/{ticket.pk}/").status_code == 200


def test_the_customer_is_told_the_progress_by_email(
    org, customers, policies, settings, smtp_server, django_capture_on_commit_callbacks
):
    # given a customer with an e-mail address and real SMTP delivery
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    # the worker sends the outbox as tasks are enqueued (after commit)
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }
    from yiti.customers.services import contact_point_add
    from yiti.engagement.models import Interaction

    customer = customers["hz"]
    contact_point_add(actor=None, customer=customer, kind="email", value="chen@example.cn")
    customer = Customer.objects.get(pk=customer.pk)
    agent = org.users["svc_east"]
    _order, ticket = order_take(
        actor=org.users["am_hz"], customer=customer, product=ProductFactory()
    )
    # when service starts and finishes the work
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(actor=agent, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_resolve(actor=agent, ticket=ticket, resolution="宽带已开通")
    # then the customer received two messages, the last saying it is done, with the resolution
    assert [m.rcpt_to for m in smtp_server.messages] == [["chen@example.cn"]] * 2
    assert f"[#{ticket.pk}]" in smtp_server.messages[-1].subject
    assert "宽带已开通" in smtp_server.messages[-1].body
    # and both e-mails are on the timeline
    assert (
        Interaction.objects.filter(ticket_id=ticket.pk, channel="email", outcome="sent").count()
        == 2
    )


def test_a_customer_who_withdrew_service_email_gets_none(
    org, customers, policies, mailoutbox, django_capture_on_commit_callbacks
):
    from yiti.customers.services import consent_record, contact_point_add

    customer = customers["hz"]
    contact_point_add(actor=None, customer=customer, kind="email", value="chen@example.cn")
    consent_record(actor=None, customer=customer, channel="email", purpose="service", granted=False)
    customer = Customer.objects.get(pk=customer.pk)
    _order, ticket = order_take(
        actor=org.users["am_hz"], customer=customer, product=ProductFactory()
    )
    ticket_transition(
        actor=org.users["svc_east"], ticket=ticket, to_status=TicketStatus.IN_PROGRESS
    )
    assert mailoutbox == []
