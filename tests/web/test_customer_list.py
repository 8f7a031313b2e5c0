"""The customer list: search, filters, masking, htmx partials and a constant query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CustomerFactory
from tests.web.conftest import HTMX

LIST = "/customers/"


def test_search_by_phone_digits_finds_the_customer(org, as_user, make_customer):
    make_customer("张伟", phone="13812345678", owner=org.users["am_hz"])
    make_customer("李娜", phone="13998765432", owner=org.users["am_hz"])
    page = as_user("am_hz").get(LIST, {"q": "1381234"}).content.decode()
    assert "张伟" in page
    assert "李娜" not in page


def test_search_by_name_prefix_and_external_id(org, as_user, make_customer):
    make_customer("王芳", external_id="EXT-77")
    make_customer("赵磊")
    client = as_user("rm_east")
    assert "王芳" in client.get(LIST, {"q": "王"}).content.decode()
    # an exact external id opens the customer (screen-pop)
    by_id = client.get(LIST, {"q": "EXT-77"}, follow=True).content.decode()
    assert "王芳" in by_id and "赵磊" not in by_id


def test_list_shows_masked_phones_only(org, as_user, make_customer):
    make_customer("张伟", phone="13812345678")
    page = as_user("rm_east").get(LIST).content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page


def test_htmx_search_returns_only_the_results_partial(org, as_user, make_customer):
    make_customer("张伟", phone="13812345678")
    response = as_user("rm_east").get(LIST, {"q": "张"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="filters"' not in body
    assert "张伟" in body
    assert "HX-Request" in response["Vary"]


def test_users_see_only_customers_of_their_units(org, as_user, make_customer):
    make_customer("杭州客户", unit=org.hz)
    make_customer("北京客户", unit=org.bj)
    # (an account manager starts from his own customers; "Anyone" shows his unit's)
    page = as_user("am_bj").get(LIST, {"owner": ""}).content.decode()
    assert "北京客户" in page and "杭州客户" not in page


def test_filters_unassigned_and_account_manager(org, as_user, make_customer):
    make_customer("有经理", owner=org.users["am_hz"])
    make_customer("无经理")
    client = as_user("rm_east")
    unassigned = client.get(LIST, {"unassigned": "1"}).content.decode()
    assert "无经理" in unassigned and "有经理" not in unassigned
    owned = client.get(LIST, {"owner": org.users["am_hz"].pk}).content.decode()
    assert "有经理" in owned and "无经理" not in owned


def test_empty_result_explains_what_to_try(org, as_user):
    page = as_user("rm_east").get(LIST, {"q": "没有这个人"}).content.decode()
    assert "No customers match these filters." in page


def test_new_customer_button_only_for_roles_that_may_create(org, as_user):
    create_url = reverse("customers:create")
    assert create_url in as_user("am_hz").get(LIST).content.decode()
    assert create_url not in as_user("analyst").get(LIST).content.decode()


def test_pagination_moves_forward_without_counting(org, as_user, settings):
    settings.YITI_PAGE_SIZE = 5
    CustomerFactory.create_batch(7, unit=org.hz)
    client = as_user("rm_east")
    first = client.get(LIST).content.decode()
    assert "page=2" in first
    second = client.get(LIST, {"page": 2}).content.decode()
    assert "Showing 6–7" in second


@pytest.mark.parametrize("rows", [60])
def test_list_page_runs_a_constant_number_of_queries(
    org, as_user, rows, django_assert_max_num_queries
):
    # given a few customers, count the queries of one page
    CustomerFactory.create_batch(3, unit=org.hz, owner=org.users["am_hz"])
    client = as_user("rm_east")
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    # session, user, access (2), page, bounded count, saved filters, units, managers
    assert len(few.captured_queries) <= 10
    # when there are 60 customers with owners and units to show
    CustomerFactory.create_batch(rows, unit=org.nb, owner=org.users["am_nb"])
    client = as_user("rm_east")
    # then the page needs no more queries than with three
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert response.content.decode().count('href="/customers/') >= 50
