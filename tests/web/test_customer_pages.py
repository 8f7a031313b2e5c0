"""Create, edit and the 360 page with its actions, as the right and the wrong roles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ProductFactory
from tests.web.conftest import HTMX
from yiti.core.models import AuditEvent
from yiti.customers.models import ConsentState, ContactPoint, Customer
from yiti.customers.services import customer_merge, order_create
from yiti.engagement.models import Interaction
from yiti.engagement.services import interaction_record


@pytest.fixture
def zhang(org, make_customer):
    """A Hangzhou customer of am_hz with a mobile phone."""
    return make_customer("张伟", phone="13812345678", owner=org.users["am_hz"], city="杭州")


def detail(customer):
    return reverse("customers:detail", args=[customer.pk])


# --- create and edit ------------------------------------------------------------------------


def test_account_manager_creates_a_customer_with_a_phone(org, as_user):
    response = as_user("am_hz").post(
        reverse("customers:create"),
        {
            "name": "新客户",
            "kind": "person",
            "unit": org.hz.pk,
            "owner": org.users["am_hz"].pk,
            "phone": "139 8765 4321",
        },
    )
    customer = Customer.objects.get(name="新客户")
    assert response.status_code == 302
    assert response["Location"] == detail(customer)
    assert customer.owner == org.users["am_hz"]
    assert customer.primary_phone == "13987654321"


def test_create_shows_service_errors_next_to_the_field(org, as_user, make_customer):
    make_customer("已有", external_id="EXT-1")
    response = as_user("am_hz").post(
        reverse("customers:create"),
        {"name": "重复", "kind": "person", "unit": org.hz.pk, "external_id": "EXT-1"},
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert "EXT-1" in form.errors["external_id"][0]
    assert not Customer.objects.filter(name="重复").exists()


def test_create_with_a_bad_phone_keeps_the_input_and_explains(org, as_user):
    response = as_user("am_hz").post(
        reverse("customers:create"),
        {"name": "电话错", "kind": "person", "unit": org.hz.pk, "phone": "12345"},
    )
    assert response.status_code == 422
    assert "phone" in response.context["form"].errors


def test_analyst_may_not_create_customers(org, as_user):
    assert as_user("analyst").get(reverse("customers:create")).status_code == 403


def test_owner_edits_his_customer_and_the_change_is_audited(org, as_user, zhang):
    url = reverse("customers:edit", args=[zhang.pk])
    client = as_user("am_hz")
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"name": "张伟", "kind": "person", "unit": org.hz.pk, "city": "宁波"}
    )
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.city == "宁波"
    event = AuditEvent.objects.get(action="customer.update", customer_id=zhang.pk)
    assert event.changes["city"] == ["杭州", "宁波"]


def test_colleague_may_not_edit_another_managers_customer(org, as_user, zhang):
    client = as_user("am_hz2")
    assert client.get(detail(zhang)).status_code == 200  # same unit: may look
    assert client.get(reverse("customers:edit", args=[zhang.pk])).status_code == 403
    assert (
        reverse("customers:edit", args=[zhang.pk]) not in client.get(detail(zhang)).content.decode()
    )


# --- the 360 page ---------------------------------------------------------------------------


def test_360_page_shows_the_customer_with_masked_contacts(org, as_user, zhang):
    product = ProductFactory(price=199)
    order_create(actor=None, customer=zhang, product=product)
    interaction_record(
        actor=None,
        customer=zhang,
        channel="call",
        direction="out",
        purpose="care",
        subject="回访装机",
        check_access=False,
    )
    page = as_user("am_hz").get(detail(zhang)).content.decode()
    assert "张伟" in page and "杭州分公司" in page
    assert "138****5678" in page and "13812345678" not in page
    assert "¥199.00" in page  # value from orders
    assert "回访装机" in page  # the timeline panel is on the page
    assert reverse("customers:contacts_reveal", args=[zhang.pk]) in page


def test_account_manager_of_another_branch_gets_404(org, as_user, zhang):
    assert as_user("am_bj").get(detail(zhang)).status_code == 404
    assert as_user("am_bj").get(reverse("engagement:timeline", args=[zhang.pk])).status_code == 404


def test_404_page_is_yitis_own(org, as_user):
    response = as_user("am_hz").get("/customers/999999/")
    assert response.status_code == 404
    assert "We could not find that" in response.content.decode()


def test_reveal_shows_the_full_phone_and_is_audited(org, as_user, zhang):
    response = as_user("am_hz").post(reverse("customers:contacts_reveal", args=[zhang.pk]), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "13812345678" in body and "<html" not in body
    assert AuditEvent.objects.filter(
        action="pii.reveal", customer_id=zhang.pk, actor=org.users["am_hz"]
    ).exists()


def test_reveal_is_forbidden_for_an_analyst_and_leaves_no_trace(org, as_user, make_customer):
    customer = make_customer("市场客户", unit=org.marketing, phone="13812345678")
    client = as_user("analyst")
    page = client.get(detail(customer)).content.decode()  # the analyst may see the masked page
    assert "138****5678" in page
    assert reverse("customers:contacts_reveal", args=[customer.pk]) not in page
    response = client.post(reverse("customers:contacts_reveal", args=[customer.pk]))
    assert response.status_code == 403
    assert "13812345678" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="pii.reveal").exists()


def test_reveal_via_htmx_as_analyst_answers_with_an_alert(org, as_user, make_customer):
    customer = make_customer("市场客户", unit=org.marketing, phone="13812345678")
    response = as_user("analyst").post(
        reverse("customers:contacts_reveal", args=[customer.pk]), **HTMX
    )
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#htmx-errors"
    assert "alert" in response.content.decode()


def test_add_contact_point_via_htmx_and_see_errors_next_to_the_value(org, as_user, zhang):
    url = reverse("customers:contact_add", args=[zhang.pk])
    client = as_user("am_hz")
    ok = client.post(url, {"kind": "email", "value": "zhang@example.com"}, **HTMX)
    assert ok.status_code == 200
    assert "z***@example.com" in ok.content.decode()
    assert ContactPoint.objects.filter(customer=zhang, kind="email").exists()
    bad = client.post(url, {"kind": "phone", "value": "123"}, **HTMX)
    assert bad.status_code == 422
    assert bad.context["contact_form"].errors["value"]


def test_consent_change_updates_the_matrix(org, as_user, zhang):
    response = as_user("svc_east").post(
        reverse("customers:consent", args=[zhang.pk]),
        {
            "channel": "sms",
            "purpose": "marketing",
            "granted": "0",
            "source": "call",
            "note": "客户要求",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert "withdrawn" in response.content.decode()
    state = ConsentState.objects.get(customer=zhang, channel="sms", purpose="marketing")
    assert state.granted is False


def test_consent_change_needs_the_permission(org, as_user, make_customer):
    customer = make_customer("市场客户", unit=org.marketing)
    response = as_user("analyst").post(
        reverse("customers:consent", args=[customer.pk]),
        {"channel": "sms", "purpose": "marketing", "granted": "1", "source": "staff"},
    )
    assert response.status_code == 403
    assert not ConsentState.objects.filter(customer=customer).exists()


def test_record_an_interaction_from_the_timeline_panel(org, as_user, zhang):
    response = as_user("am_hz").post(
        reverse("engagement:record", args=[zhang.pk]),
        {
            "channel": "visit",
            "direction": "out",
            "purpose": "sales",
            "outcome": "completed",
            "subject": "上门拜访",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert "上门拜访" in response.content.decode()
    interaction = Interaction.objects.get(customer=zhang)
    assert interaction.actor == org.users["am_hz"]
    zhang.refresh_from_db()
    assert zhang.last_contact_at is not None


def test_roles_without_the_permission_cannot_record_interactions(org, as_user, make_customer):
    customer = make_customer("市场客户", unit=org.marketing)
    response = as_user("analyst").post(
        reverse("engagement:record", args=[customer.pk]),
        {"channel": "call", "direction": "out", "purpose": "care", "outcome": "completed"},
    )
    assert response.status_code == 403
    assert not Interaction.objects.exists()


def test_timeline_filter_by_channel(org, as_user, zhang):
    for channel, subject in (("sms", "短信提醒"), ("call", "电话回访")):
        interaction_record(
            actor=None,
            customer=zhang,
            channel=channel,
            direction="out",
            purpose="care",
            subject=subject,
            check_access=False,
        )
    panel = (
        as_user("am_hz")
        .get(reverse("engagement:timeline", args=[zhang.pk]), {"channel": "sms"}, **HTMX)
        .content.decode()
    )
    assert "短信提醒" in panel and "电话回访" not in panel


def test_merged_customer_shows_a_banner_to_the_survivor(org, as_user, make_customer):
    source = make_customer("张伟（旧）")
    target = make_customer("张伟")
    customer_merge(actor=None, source=source, target=target)
    page = as_user("rm_east").get(detail(source)).content.decode()
    assert "was merged into another record" in page
    assert detail(target) in page


def test_manager_reassigns_one_customer(org, as_user, zhang):
    response = as_user("rm_east").post(
        reverse("customers:reassign", args=[zhang.pk]),
        {"to_user": org.users["am_hz2"].pk, "reason": "片区调整"},
    )
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.owner == org.users["am_hz2"]
    page = as_user("rm_east").get(detail(zhang)).content.decode()
    assert "片区调整" in page  # the assignment history


def test_reassign_without_a_reason_is_refused_next_to_the_field(org, as_user, zhang):
    response = as_user("rm_east").post(
        reverse("customers:reassign", args=[zhang.pk]), {"to_user": org.users["am_hz2"].pk}
    )
    assert response.status_code == 422
    assert response.context["reassign_form"].errors["reason"]


def test_account_manager_may_not_reassign(org, as_user, zhang):
    response = as_user("am_hz").post(
        reverse("customers:reassign", args=[zhang.pk]),
        {"to_user": org.users["am_hz2"].pk, "reason": "想换"},
    )
    assert response.status_code == 403
    zhang.refresh_from_db()
    assert zhang.owner == org.users["am_hz"]


# --- per-customer audit ---------------------------------------------------------------------


def test_customer_audit_page_for_managers_only(org, as_user, zhang):
    url = reverse("customers:audit", args=[zhang.pk])
    page = as_user("rm_east").get(url)
    assert page.status_code == 200
    assert "customer.create" in page.content.decode()
    assert as_user("admin").get(url).status_code == 200
    assert as_user("am_hz").get(url).status_code == 403
    assert as_user("rm_north").get(url).status_code == 404
