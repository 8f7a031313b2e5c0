"""Service desk pages: the queue, the ticket page, new tickets, the 360 panel, SLA settings."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.service.conftest import bj
from yiti.engagement.selectors import is_suppressed
from yiti.service.models import BusinessCalendar, SlaPolicy, Ticket
from yiti.service.services import ticket_create


def _tickets(customers, n, **kw):
    return [
        ticket_create(
            actor=None,
            customer=customers["hz" if i % 2 else "nb"],
            kind=kw.get("kind", "consultation"),
            subject=f"Ticket {i}",
            opened_at=bj(2025, 11, 3, 9, i % 60),
            **{k: v for k, v in kw.items() if k != "kind"},
        )
        for i in range(n)
    ]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_queue_page_costs_the_same_queries_for_10_or_60_tickets(
    client, org, customers, policies, django_assert_max_num_queries
):
    client.force_login(org.users["svc_east"])
    url = f"/service/queue/{org.east.pk}/"
    _tickets(customers, 10)
    with_10 = _queries(client, url)
    _tickets(customers, 50)
    with django_assert_max_num_queries(with_10):
        response = client.get(url)
    assert response.content.decode().count("/service/tickets/") == 50  # one page
    assert 'rel="next"' in response.content.decode()


def test_service_home_opens_the_agents_queue(client, org):
    client.force_login(org.users["svc_east"])
    response = client.get("/service/")
    assert response.status_code == 302 and response["Location"] == f"/service/queue/{org.east.pk}/"


def test_queue_filters_swap_only_the_results_for_htmx(client, org, customers, policies):
    client.force_login(org.users["svc_east"])
    _tickets(customers, 3)
    complaint = ticket_create(
        actor=None,
        customer=customers["hz"],
        kind="complaint",
        complaint_class="staff_conduct",
        subject="Rude at the counter",
    )
    response = client.get(
        f"/service/queue/{org.east.pk}/", {"kind": "complaint"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="filters"' not in html
    assert "Rude at the counter" in html and "Ticket 1" not in html
    assert f"/service/tickets/{complaint.pk}/" in html
    response = client.get(f"/service/queue/{org.east.pk}/", {"sla_state": "breached"})
    assert "No tickets match these filters." in response.content.decode()


def test_a_queue_outside_the_users_scope_is_a_404(client, org, svc_north):
    client.force_login(svc_north)
    assert client.get(f"/service/queue/{org.east.pk}/").status_code == 404


def test_the_ticket_page_shows_the_customer_beside_the_ticket_and_the_allowed_moves(
    client, org, customers, policies
):
    client.force_login(org.users["svc_east"])
    [ticket] = _tickets(customers, 1)
    html = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "宁波客户" in html and "customer-summary" in html
    for status in ("in_progress", "waiting_customer", "resolved"):
        assert f'value="{status}"' in html
    assert 'value="closed"' not in html


def test_working_a_ticket_through_the_pages(client, org, customers, policies):
    client.force_login(org.users["svc_east"])
    [ticket] = _tickets(customers, 1)
    url = f"/service/tickets/{ticket.pk}/"
    response = client.post(url + "reply/", {"body": "We will call you", "public": "on"})
    assert response.status_code == 302
    response = client.post(url + "transition/", {"to_status": "resolved", "body": ""})
    assert (
        response.status_code == 422
        and "Say how the ticket was resolved." in response.content.decode()
    )
    response = client.post(url + "transition/", {"to_status": "closed"})
    assert response.status_code == 422
    response = client.post(url + "transition/", {"to_status": "resolved", "body": "Done"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.first_response_at is not None


def test_opening_a_complaint_about_a_campaign_from_the_form(client, org, customers, policies):
    from tests.service.test_workspace_ticket import make_campaign

    campaign = make_campaign(org)
    client.force_login(org.users["svc_east"])
    customer = customers["hz"]
    form = client.get(f"/service/tickets/new/?customer={customer.pk}").content.decode()
    assert "data-complaint-only" in form
    response = client.post(
        f"/service/tickets/new/?customer={customer.pk}",
        {
            "kind": "complaint",
            "complaint_class": "offer_design",
            "complaint_reason": "conflicting_campaigns",
            "campaign_id": str(campaign.pk),
            "staff_concerned": str(org.users["am_hz"].pk),
            "priority": "normal",
            "channel": "phone",
            "subject": "Two campaigns, two prices",
        },
    )
    ticket = Ticket.objects.get(subject="Two campaigns, two prices")
    assert response.status_code == 302 and response["Location"] == f"/service/tickets/{ticket.pk}/"
    assert (ticket.campaign_id, ticket.staff_concerned) == (campaign.pk, org.users["am_hz"])
    assert is_suppressed(customer)


def test_a_complaint_without_a_class_is_shown_next_to_the_field(client, org, customers):
    client.force_login(org.users["svc_east"])
    response = client.post(
        f"/service/tickets/new/?customer={customers['hz'].pk}",
        {"kind": "complaint", "priority": "normal", "channel": "phone", "subject": "Hm"},
    )
    assert response.status_code == 422
    assert "A complaint needs a class" in response.content.decode()


def test_the_customer_page_has_a_tickets_panel(client, org, customers, policies):
    client.force_login(org.users["rm_east"])
    [ticket, _] = _tickets(customers, 2)
    html = client.get(f"/customers/{customers['nb'].pk}/").content.decode()
    assert 'data-panel="tickets"' in html
    assert f"/service/tickets/{ticket.pk}/" in html
    assert f"/service/tickets/new/?customer={customers['nb'].pk}" in html


def test_region_managers_edit_policies_and_calendars_agents_may_not(client, org, policies):
    client.force_login(org.users["svc_east"])
    assert client.get("/service/sla/").status_code == 403
    client.force_login(org.users["rm_east"])
    assert "Consultation" in client.get("/service/sla/").content.decode()
    policy = policies["consultation"]
    response = client.post(
        f"/service/sla/{policy.pk}/",
        {
            "kind": "consultation",
            "priority": "normal",
            "first_response_minutes": "30",
            "resolution_minutes": "300",
            "warning_ratio": "0.75",
            "active": "on",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_minutes, str(policy.warning_ratio)) == (30, "0.75")
    weekdays = {
        f"hours_{d}": "09:00-12:00, 13:30-18:00" for d in ("mon", "tue", "wed", "thu", "fri")
    }
    response = client.post(
        "/service/calendars/new/",
        {
            "name": "East",
            "unit": str(org.east.pk),
            "time_zone": "Asia/Shanghai",
            "use_cn_holidays": "on",
            "adjusted_workday_as": "mon",
            **weekdays,
            "hours_sat": "09:00-12:00",
            "exceptions": "2026-12-31 | 09:00-12:00 | year end\n2026-06-01 | | day off",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = BusinessCalendar.objects.get(name="East")
    assert calendar.weekly_hours["sat"] == [["09:00", "12:00"]]
    assert [(str(e.date), e.intervals) for e in calendar.exceptions.all()] == [
        ("2026-06-01", []),
        ("2026-12-31", [["09:00", "12:00"]]),
    ]
    edit = client.get(f"/service/calendars/{calendar.pk}/").content.decode()
    assert "2026-12-31 | 09:00-12:00 | year end" in edit
    # the company default is for administrators only
    response = client.post(
        "/service/calendars/new/",
        {
            "name": "Company",
            "unit": "",
            "time_zone": "Asia/Shanghai",
            "adjusted_workday_as": "mon",
            **weekdays,
        },
    )
    assert response.status_code == 403


@pytest.mark.parametrize("hours", ["9-12", "12:00-09:00"])
def test_bad_hours_are_shown_next_to_the_weekday(client, org, hours):
    client.force_login(org.users["admin"])
    response = client.post(
        "/service/calendars/new/",
        {
            "name": "Bad",
            "time_zone": "Asia/Shanghai",
            "adjusted_workday_as": "mon",
            "hours_mon": hours,
        },
    )
    assert response.status_code == 422
    assert "Use HH:MM-HH:MM" in response.content.decode()
    assert not SlaPolicy.objects.exists() and not BusinessCalendar.objects.exists()
