"""The care call of the agent's workspace (issue 14 item 2): no outcome preselected, the number
as a ``tel:`` link with a copy button once revealed, and two-way links between the care call,
the ticket it follows and the complaint its answer opened."""

from __future__ import annotations

import re

import pytest

from tests.care.conftest import sh
from yiti.care.models import CareTask
from yiti.care.services import followups_generate
from yiti.core.models import AuditEvent
from yiti.service.models import Ticket


@pytest.fixture
def task(customer, care, resolved):
    ticket = resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 15))
    followups_generate(now=sh(2025, 6, 9, 16))
    return CareTask.objects.get(ticket=ticket)


def test_no_outcome_is_preselected_and_saving_without_one_records_nothing(as_user, task):
    html = as_user("care_east").get(f"/care/tasks/{task.pk}/").content.decode()
    radios = re.findall(r'<input[^>]*name="outcome"[^>]*>', html)
    assert radios and not any("checked" in r for r in radios)
    response = as_user("care_east").post(f"/care/tasks/{task.pk}/attempt/", {"note": "hurried"})
    assert response.status_code == 422
    task.refresh_from_db()
    assert task.attempts == 0 and task.status == "open"


def test_the_revealed_number_is_a_tel_link_with_a_copy_button(as_user, task):
    agent = as_user("care_east")
    panel = agent.post(
        f"/customers/{task.customer_id}/contacts/reveal/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'href="tel:13800138000"' in panel
    assert "data-copy=" in panel


def test_the_task_the_ticket_and_the_complaint_link_both_ways(as_user, task):
    agent = as_user("care_east")
    csat = task.rule.survey_template.questions.get(kind="csat")
    agent.post(f"/care/tasks/{task.pk}/attempt/", {"outcome": "reached", f"q{csat.pk}": "1"})
    task.refresh_from_db()
    complaint = task.complaint_ticket_id
    assert complaint is not None
    page = agent.get(f"/care/tasks/{task.pk}/").content.decode()
    # the care call links to the ticket it follows and to the complaint it opened
    assert f'href="/service/tickets/{task.ticket_id}/"' in page
    assert f'href="/service/tickets/{complaint}/"' in page
    # the ticket links back to its care call, the complaint to the call that opened it
    service = as_user("svc_east")
    followed = service.get(f"/service/tickets/{task.ticket_id}/").content.decode()
    assert f'href="/care/tasks/{task.pk}/"' in followed
    opened = service.get(f"/service/tickets/{complaint}/").content.decode()
    assert 'id="opened-by-care"' in opened and f'href="/care/tasks/{task.pk}/"' in opened


def test_a_survey_complaint_says_what_the_call_followed_and_its_class_can_be_corrected(
    org, as_user, task
):
    csat = task.rule.survey_template.questions.get(kind="csat")
    as_user("care_east").post(
        f"/care/tasks/{task.pk}/attempt/", {"outcome": "reached", f"q{csat.pk}": "1"}
    )
    task.refresh_from_db()
    complaint = Ticket.objects.get(pk=task.complaint_ticket_id)
    # the subject names the ticket the call followed, not the question's text
    assert task.ticket.subject in complaint.subject and "1/5" in complaint.subject
    assert csat.text not in complaint.subject
    # the agent corrects the class; a reason of another class is refused
    service = as_user("svc_east")
    refused = service.post(
        f"/service/tickets/{complaint.pk}/classify/",
        {"complaint_class": "staff_conduct", "complaint_reason": "gift_late"},
    )
    assert refused.status_code == 302
    complaint.refresh_from_db()
    assert complaint.complaint_reason != "gift_late"
    service.post(
        f"/service/tickets/{complaint.pk}/classify/",
        {"complaint_class": "fulfilment", "complaint_reason": "gift_late"},
    )
    complaint.refresh_from_db()
    assert (complaint.complaint_class, complaint.complaint_reason) == ("fulfilment", "gift_late")
    note = complaint.events.filter(kind="note").last()
    assert note is not None and not note.public
    assert AuditEvent.objects.filter(action="ticket.classify", object_id=str(complaint.pk)).exists()
