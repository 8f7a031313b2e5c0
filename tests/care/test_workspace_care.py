"""The care call of the agent's workspace (issue 14 item 2): no outcome preselected, the number
as a ``tel:`` link with a copy button once revealed, and two-way links between the care call,
the ticket it follows and the complaint its answer opened."""

from __future__ import annotations

import re

import pytest

from tests.care.conftest import sh
from yiti.care.models import CareTask
from yiti.care.services import followups_generate


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
