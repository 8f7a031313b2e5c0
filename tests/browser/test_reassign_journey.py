"""Journey: a region manager hands a departing account manager's customers to colleagues by
territory, sees the plan, confirms it, and sees the result.

Selectors are names, ids and values, never visible text: the interface is Chinese by default
and its wording changes with the translations.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from yiti.customers.models import Assignment, Customer
from yiti.customers.services import customer_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW = "form[action='/customers/reassign/'] button[type=submit]"


def test_region_manager_reassigns_departing_managers_customers_by_territory(page, org):
    # given am_hz owns three Hangzhou customers and one in Ningbo; am_hz2 has one of their own
    am_hz, am_hz2, am_nb = (org.users[u] for u in ("am_hz", "am_hz2", "am_nb"))
    hz_ids = [
        customer_create(actor=None, name=name, unit=org.hz, owner=am_hz).pk
        for name in ("杭州客户甲", "杭州客户乙", "杭州客户丙")
    ]
    nb_id = customer_create(actor=None, name="宁波客户丁", unit=org.nb, owner=am_hz).pk
    own_id = customer_create(actor=None, name="杭州客户戊", unit=org.hz, owner=am_hz2).pk

    # when the region manager opens the reassignment page and picks the departing manager
    page.goto("/login/")
    page.fill("input[name=username]", "rm_east")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto("/customers/reassign/")
    page.select_option("#id_from_user", str(am_hz.pk))
    # then the page says how many customers they own
    page.wait_for_function("/\\b4\\b/.test(document.querySelector('#owned').innerText)")

    # when only the Hangzhou colleague takes over, by territory
    page.check(f"input[name=to_users][value='{am_hz2.pk}']")
    page.check("input[name=rule][value=territory]")
    page.fill("#id_reason", "am_hz 离职 2025-03-31")
    with page.expect_navigation():
        page.click(REVIEW)
    # then the form says Ningbo is not covered, and nothing has moved
    error = page.locator(".form-row.has-error", has=page.locator("input[name=to_users]"))
    assert "宁波分公司" in error.inner_text()
    assert Customer.objects.filter(owner=am_hz).count() == 4

    # when the Ningbo colleague is added and the plan reviewed
    page.check(f"input[name=to_users][value='{am_nb.pk}']")
    with page.expect_navigation():
        page.click(REVIEW)
    # then the confirmation shows who gets how many, still without moving anyone
    assert page.locator("button[name=confirm][value='1']").count() == 1
    plan = {
        cells[0].strip(): cells[1].strip()
        for cells in (
            row.locator("td").all_inner_texts() for row in page.locator(".table tbody tr").all()
        )
    }
    assert plan[str(am_hz2)] == "3"
    assert plan[str(am_nb)] == "1"
    assert Customer.objects.filter(owner=am_hz).count() == 4

    # when the manager confirms
    page.click("button[name=confirm][value='1']")
    page.wait_for_url(re.compile(r"/customers/reassign/done/$"))

    # then the result lists the customers each colleague received
    done = {
        cells[0].strip(): cells[1].strip()
        for cells in (
            row.locator("td").all_inner_texts() for row in page.locator(".table tbody tr").all()
        )
    }
    assert done == {str(am_hz2): "3", str(am_nb): "1"}
    # and each customer went to the colleague of their own unit, with the history recorded
    owners = dict(Customer.objects.filter(pk__in=[*hz_ids, nb_id]).values_list("pk", "owner_id"))
    assert owners == {**{pk: am_hz2.pk for pk in hz_ids}, nb_id: am_nb.pk}
    assert not Customer.objects.filter(owner=am_hz).exists()
    batch = page.inner_text("dd.mono").strip()
    history = Assignment.objects.filter(batch=batch)
    assert sorted(history.values_list("customer_id", flat=True)) == sorted([*hz_ids, nb_id])
    assert set(history.values_list("from_user_id", "reason")) == {
        (am_hz.pk, "am_hz 离职 2025-03-31")
    }
    assert Customer.objects.get(pk=own_id).owner_id == am_hz2.pk
