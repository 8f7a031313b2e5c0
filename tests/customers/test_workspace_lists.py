"""The customer list of the agent's workspace (issue 14 items 3, 5, 6): screen-pop on an exact
phone or external id (also ``?phone=`` and the CTI link), an account manager's own customers by
default, the total, saved filters per user, a valid htmx trigger, and the timeline opened on
its own as a full page."""

from __future__ import annotations

from django.test import Client

from yiti.customers.models import SavedFilter
from yiti.customers.services import ContactInput, customer_create

LIST = "/customers/"


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _customer(org, name: str, phone: str, owner=None, **kw):  # type: ignore[no-untyped-def]
    return customer_create(
        actor=None,
        name=name,
        unit=org.hz,
        owner=owner,
        contacts=[ContactInput("phone", phone, primary=True)],
        **kw,
    )


def test_an_exact_phone_opens_the_customer(org):
    wang = _customer(org, "王芳", "13812345678")
    _customer(org, "王磊", "13812349999")
    agent = _client(org.users["svc_east"])
    # a full number: the customer page at once (screen-pop)
    response = agent.get(LIST, {"q": "138 1234 5678"})
    assert response.status_code == 302 and response["Location"] == f"/customers/{wang.pk}/"
    # leading digits still list the candidates
    listed = agent.get(LIST, {"q": "1381234"})
    assert listed.status_code == 200 and "王磊" in listed.content.decode()
    # a telephony integration opens it by ?phone= or the CTI link
    assert agent.get(LIST, {"phone": "+8613812345678"})["Location"] == f"/customers/{wang.pk}/"
    cti = agent.get("/customers/cti/", {"phone": "13812345678"}, follow=True)
    assert cti.redirect_chain[-1][0] == f"/customers/{wang.pk}/"
    # while typing (htmx) it is offered, not forced
    partial = agent.get(LIST, {"q": "13812345678"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="exact-match"' in partial and f"/customers/{wang.pk}/" in partial


def test_an_unknown_number_shows_an_empty_list_not_an_error(org):
    response = _client(org.users["svc_east"]).get(LIST, {"phone": "13900000000"})
    assert response.status_code == 200 and "No customers match" in response.content.decode()


def test_an_account_manager_starts_from_his_own_customers_with_a_total(org):
    am = org.users["am_hz"]
    _customer(org, "我的客户", "13811110001", owner=am)
    _customer(org, "同事的客户", "13811110002", owner=org.users["am_hz2"])
    page = _client(am).get(LIST).content.decode()
    assert "我的客户" in page and "同事的客户" not in page
    assert "1 customer in all" in page and 'id="view-mine"' in page
    # "Anyone" shows the unit's
    everyone = _client(am).get(LIST, {"owner": ""}).content.decode()
    assert "同事的客户" in everyone and "2 customers in all" in everyone


def test_filters_are_saved_per_user_and_the_htmx_trigger_is_valid(org):
    am = org.users["am_hz"]
    client = _client(am)
    page = client.get(LIST, {"owner": "", "kind": "person"}).content.decode()
    # hx-trigger's CSS selectors with spaces are in parentheses (no htmx:syntax:error)
    assert "from:(#filters select)" in page and "from:#filters select" not in page
    assert 'hx-push-url="true"' in page
    client.post(
        "/customers/filters/save/",
        {
            "list_key": "customers",
            "name": "个人客户",
            "query": "owner=&kind=person&page=3",
            "next": "/customers/?kind=person",
        },
    )
    saved = SavedFilter.objects.get(user=am)
    assert (saved.name, saved.query) == ("个人客户", "kind=person")
    assert 'href="/customers/?kind=person"' in client.get(LIST).content.decode()
    # nobody else sees it, nor may delete it
    other = _client(org.users["am_hz2"])
    assert "个人客户" not in other.get(LIST).content.decode()
    other.post(f"/customers/filters/{saved.pk}/delete/")
    assert SavedFilter.objects.filter(pk=saved.pk).exists()
    client.post(f"/customers/filters/{saved.pk}/delete/")
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()


def test_the_timeline_opened_directly_is_a_full_page(org):
    customer = _customer(org, "张三", "13822220000")
    client = _client(org.users["svc_east"])
    page = client.get(f"/timeline/{customer.pk}/").content.decode()
    assert "<html" in page and 'id="timeline"' in page and "app.css" in page
    partial = client.get(f"/timeline/{customer.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="timeline"' in partial


def test_an_account_manager_who_owns_nobody_yet_sees_his_units_customers(org):
    _customer(org, "分公司客户", "13833330000")  # in his unit, not assigned to anyone
    page = _client(org.users["am_hz"]).get(LIST).content.decode()
    assert "分公司客户" in page
