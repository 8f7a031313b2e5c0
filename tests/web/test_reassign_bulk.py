"""Reassigning a departing account manager's customers: choose, confirm, done."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory
from yiti.customers.models import Assignment, Customer

URL = "/customers/reassign/"


@pytest.fixture
def book(org):
    """am_hz owns 6 Hangzhou and 4 Ningbo customers."""
    am = org.users["am_hz"]
    return CustomerFactory.create_batch(6, unit=org.hz, owner=am) + CustomerFactory.create_batch(
        4, unit=org.nb, owner=am
    )


def plan_data(org, *to, rule="territory", reason="离职交接"):
    return {
        "from_user": org.users["am_hz"].pk,
        "to_users": [org.users[u].pk for u in to],
        "rule": rule,
        "reason": reason,
    }


def test_region_manager_reassigns_a_departing_managers_book_end_to_end(org, as_user, book):
    client = as_user("rm_east")
    # given the page and the count of the departing manager's customers
    assert client.get(URL).status_code == 200
    owned = client.get(reverse("customers:reassign_owned"), {"from_user": org.users["am_hz"].pk})
    assert "Owns 10 customers" in owned.content.decode()
    # when he asks for the plan
    data = plan_data(org, "am_hz2", "am_nb")
    preview = client.post(URL, data)
    page = preview.content.decode()
    # then he sees the counts per colleague and nothing has moved yet
    assert preview.status_code == 200
    assert "Confirm reassignment" in page
    assert dict(preview.context["rows"]) == {"am_hz2": 6, "am_nb": 4}
    assert Customer.objects.filter(owner=org.users["am_hz"]).count() == 10
    # when he confirms
    done = client.post(URL, {**data, "confirm": "1"}, follow=True)
    # then every customer moved by territory and the result names the batch
    assert done.status_code == 200
    result = done.context["result"]
    assert result["moved"] == 10
    assert sorted(result["rows"]) == [["am_hz2", 6], ["am_nb", 4]]
    assert result["batch"] in done.content.decode()
    assert not Customer.objects.filter(owner=org.users["am_hz"]).exists()
    assert Assignment.objects.filter(batch=result["batch"]).count() == 10
    # and the result page is shown once
    assert client.get(reverse("customers:reassign_bulk_done")).status_code == 302


def test_territory_not_covered_is_explained_next_to_the_colleagues(org, as_user, book):
    response = as_user("rm_east").post(URL, plan_data(org, "am_hz2"))
    assert response.status_code == 422
    errors = response.context["form"].errors["to_users"]
    assert "宁波分公司" in errors[0]
    assert Customer.objects.filter(owner=org.users["am_hz"]).count() == 10


def test_even_split_needs_no_territory_cover(org, as_user, book):
    response = as_user("rm_east").post(URL, plan_data(org, "am_hz2", rule="even"))
    assert response.status_code == 200
    assert dict(response.context["rows"]) == {"am_hz2": 10}


def test_change_the_plan_goes_back_to_the_form_with_the_choices_kept(org, as_user, book):
    response = as_user("rm_east").post(URL, {**plan_data(org, "am_hz2"), "edit": "1"})
    assert response.status_code == 200
    assert response.templates[0].name == "customers/reassign_bulk.html"
    assert "离职交接" in response.content.decode()


def test_a_reason_is_required(org, as_user, book):
    response = as_user("rm_east").post(URL, plan_data(org, "am_hz2", "am_nb", reason=""))
    assert response.status_code == 422
    assert response.context["form"].errors["reason"]


def test_account_managers_cannot_open_the_page(org, as_user, book):
    assert as_user("am_hz2").get(URL).status_code == 403
    response = as_user("am_hz2").post(URL, {**plan_data(org, "am_hz2"), "confirm": "1"})
    assert response.status_code == 403
    assert Customer.objects.filter(owner=org.users["am_hz"]).count() == 10
