"""Journey (issue 3): a service agent opens a complaint about a campaign; the customer goes on
the suppression list; the agent resolves it and the suppression lifts; the scheduled follow-up
sweep gives a care agent the call; the customer is dissatisfied, so a new complaint opens,
linked to the follow-up, and marketing is suppressed again.

Selectors are names, ids and values, never visible text: the interface is Chinese by default
and its wording changes with the translations.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.service.test_workspace_ticket import make_campaign
from yiti.care.models import CareTask
from yiti.care.services import QuestionInput, followup_rule_create, survey_template_create
from yiti.care.services import followups_generate as scheduled_followup_sweep
from yiti.customers.services import ContactInput, customer_create
from yiti.engagement.selectors import is_suppressed
from yiti.service.models import Ticket
from yiti.service.services import routing_rule_save, sla_policy_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click("form[action='/logout/'] button[type=submit]")


def test_complaint_suppresses_marketing_and_a_dissatisfied_follow_up_opens_another(page, org):
    # given a Hangzhou customer, SLA targets for complaints, complaints of the East territory
    # routed to the East service desk, and a follow-up call with a satisfaction survey after
    # every resolved complaint — all set up by the East region manager
    rm = org.users["rm_east"]
    customer = customer_create(
        actor=org.users["am_hz"],
        name="王建国",
        unit=org.hz,
        owner=org.users["am_hz"],
        contacts=[ContactInput("phone", "13905710001")],
    )
    for priority in ("normal", "high"):
        sla_policy_save(
            actor=rm,
            kind="complaint",
            priority=priority,
            first_response_minutes=120,
            resolution_minutes=1440,
        )
    routing_rule_save(actor=rm, target_unit=org.east, kind="complaint", territory=org.east)
    survey = survey_template_create(
        actor=rm,
        name="投诉回访",
        code="complaint-csat",
        questions=[
            QuestionInput(kind="csat", text="您对投诉处理结果是否满意？"),
            QuestionInput(kind="text", text="还有其他意见吗？", required=False),
        ],
    )
    csat, comment = survey.questions.order_by("position")
    followup_rule_create(
        actor=rm,
        name="投诉回访",
        trigger="complaint_resolved",
        second_after_days=5,
        survey_template=survey,
        starts_at=timezone.now() - timezone.timedelta(days=1),
    )
    assert not is_suppressed(customer)
    campaign = make_campaign(org)

    # when the service agent opens a complaint about the campaign for the customer
    sign_in(page, "svc_east")
    page.goto(f"/service/tickets/new/?customer={customer.pk}")
    page.select_option("#id_kind", "complaint")
    page.wait_for_selector("#id_complaint_class", state="visible")
    page.select_option("#id_complaint_class", "offer_design")
    page.select_option("#id_complaint_reason", "unreasonable_conditions")
    page.select_option("#id_campaign_id", str(campaign.pk))  # a picker of names
    page.fill("#id_subject", "宽带优惠条件不合理")
    page.fill("#id_description", "客户称活动要求捆绑两年合约，事先未说明。")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_url(re.compile(r"/service/tickets/\d+/$"))

    # then the ticket page shows the complaint, routed to the East desk and its agent
    ticket_id = int(re.search(r"/service/tickets/(\d+)/", page.url).group(1))
    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.kind, ticket.complaint_class, ticket.complaint_reason) == (
        "complaint",
        "offer_design",
        "unreasonable_conditions",
    )
    assert ticket.campaign_id == campaign.pk
    assert ticket.customer_id == customer.pk
    assert (ticket.unit_id, ticket.assignee_id) == (org.east.pk, org.users["svc_east"].pk)
    assert ticket.sla_policy is not None and ticket.resolution_due_at is not None
    assert "宽带优惠条件不合理" in page.inner_text("h1")
    # and the customer is on the suppression list, which the summary beside the ticket shows
    assert is_suppressed(customer)
    assert page.locator("#customer-summary #no-marketing").count() == 1

    # and the complaint is in the agent's queue
    page.goto("/service/")
    page.wait_for_url(re.compile(rf"/service/queue/{org.east.pk}/"))
    page.click(f"a[href='/service/tickets/{ticket_id}/']")
    page.wait_for_url(re.compile(rf"/service/tickets/{ticket_id}/$"))

    # when the agent resolves it with a resolution text
    page.fill("#transition-body", "已向客户说明合约条款，并免除违约金。")
    with page.expect_navigation():
        page.click("#actions button[name=to_status][value=resolved]")

    # then the ticket is resolved and the suppression has lifted
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert ticket.resolution == "已向客户说明合约条款，并免除违约金。"
    assert not is_suppressed(customer)
    assert page.locator("#no-marketing").count() == 0
    assert page.locator("#actions button[name=to_status][value=resolved]").count() == 0

    # when the scheduled follow-up sweep runs (every 10 minutes in production)
    sweep = scheduled_followup_sweep()
    assert sweep.total == 1
    task = CareTask.objects.get(ticket=ticket)
    assert task.assignee_id == org.users["care_east"].pk
    assert task.status == "open" and task.due_at > ticket.resolved_at

    # and the care agent signs in and finds the follow-up due in the care queue
    sign_out(page)
    sign_in(page, "care_east")
    page.goto("/care/")
    row = page.locator("#care-results tr", has=page.locator(f"a[href='/care/tasks/{task.pk}/']"))
    assert row.count() == 1
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") in row.inner_text()
    assert "王建国" in row.inner_text()
    row.locator(f"a[href='/care/tasks/{task.pk}/']").first.click()
    page.wait_for_url(re.compile(rf"/care/tasks/{task.pk}/$"))

    # and records that the customer was reached and is very dissatisfied
    page.check("#attempt input[name=outcome][value=reached]")
    page.check(f"#attempt input[name=q{csat.pk}][value='1']")
    page.fill(f"#attempt textarea[name=q{comment.pk}]", "活动条款仍然不清楚。")
    page.fill("#attempt textarea[name=note]", "客户对处理结果不满意。")
    with page.expect_navigation():
        page.click("#attempt button[type=submit]")

    # then a new complaint exists, linked to the follow-up and about the same campaign
    complaint = Ticket.objects.get(followup_id=task.pk)
    assert complaint.kind == "complaint"
    assert complaint.pk != ticket.pk
    assert complaint.status in ("new", "assigned")
    assert complaint.campaign_id == campaign.pk
    task.refresh_from_db()
    assert (task.status, task.outcome, task.complaint_ticket_id) == (
        "done",
        "reached",
        complaint.pk,
    )
    # and the customer is suppressed again
    assert is_suppressed(customer)
    # and the care page shows the complaint it opened
    assert f"#{complaint.pk}" in page.inner_text("#task-complaint")
    assert page.locator("#attempt").count() == 0  # the call is done

    # and its ticket page shows it open, with the customer off marketing
    page.goto(f"/service/tickets/{complaint.pk}/")
    assert f"#{complaint.pk}" in page.inner_text("h1")
    assert page.locator("#customer-summary #no-marketing").count() == 1
    assert page.locator(f"a[href='/service/tickets/{ticket.pk}/']").count() >= 1
