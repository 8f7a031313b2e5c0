"""Customer records: validation, contact points, consent ledger, access and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import CustomerFactory
from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.core.masking import mask_phone
from yiti.core.models import AuditEvent
from yiti.customers.contacts import normalize_phone, phone_search_key
from yiti.customers.models import Assignment, ConsentState, ContactPoint
from yiti.customers.selectors import CustomerFilters, customer_get_for, customer_list
from yiti.customers.services import (
    ContactInput,
    consent_rebuild,
    consent_record,
    contact_point_add,
    contact_point_remove,
    customer_create,
    customer_update,
)


def test_phones_are_normalised_with_china_as_default_region():
    for raw in ["13812345678", "+86 138 1234 5678", "138-1234-5678", "0086 13812345678"]:
        n = normalize_phone(raw)
        assert (n.normalized, n.search_key, n.value) == (
            "+8613812345678",
            "13812345678",
            "13812345678",
        )
    foreign = normalize_phone("+1 650 253 0000")
    assert foreign.normalized == "+16502530000" and foreign.value == "+16502530000"


@pytest.mark.parametrize("raw", ["", "12345", "1381234567", "phone", "+86 999 0000 0000"])
def test_invalid_phones_are_refused_with_a_clear_code(raw):
    with pytest.raises(ValidationFailed) as err:
        normalize_phone(raw)
    assert err.value.code == "invalid_phone"


def test_mask_phone_keeps_prefix_and_last_four():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "+86138****5678"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_masked_phone_never_shows_the_middle_digits(number):
    masked = mask_phone(number)
    assert masked[:3] == number[:3] and masked[-4:] == number[-4:] and masked[3:7] == "****"


def test_phone_search_key_accepts_partial_and_international_forms():
    assert phone_search_key("1381234") == "1381234"
    assert phone_search_key("+86 138 1234 5678") == "13812345678"
    assert phone_search_key("王") is None
    assert phone_search_key("12") is None


def test_create_customer_with_contacts_owner_and_history(org):
    am = org.users["am_hz"]
    c = customer_create(
        actor=am,
        name="  李 四 ",
        unit=org.hz,
        owner=am,
        contacts=[
            ContactInput("phone", "139 0000 1111"),
            ContactInput("phone", "13900002222"),
            ContactInput("email", "Li@Example.COM"),
        ],
    )
    assert c.name == "李 四"
    assert c.primary_phone == "13900001111" and c.primary_email == "Li@example.com"
    assert ContactPoint.objects.filter(customer=c, is_primary=True).count() == 2
    assert Assignment.objects.filter(customer=c, to_user=am).count() == 1
    assert AuditEvent.objects.filter(action="customer.create", customer_id=c.pk, actor=am).exists()


def test_create_refuses_duplicate_external_id_and_unit_outside_scope(org):
    customer_create(actor=org.users["admin"], name="A", unit=org.hz, external_id="X1")
    with pytest.raises(ValidationFailed) as err:
        customer_create(actor=org.users["admin"], name="B", unit=org.hz, external_id="X1")
    assert err.value.code == "duplicate_external_id"
    with pytest.raises(PermissionDenied):
        customer_create(actor=org.users["am_hz"], name="C", unit=org.bj)
    with pytest.raises(PermissionDenied):
        customer_create(actor=org.users["analyst"], name="D", unit=org.marketing)


def test_failed_create_writes_nothing(org):
    before = (ContactPoint.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationFailed):
        customer_create(
            actor=org.users["am_hz"],
            name="E",
            unit=org.hz,
            contacts=[ContactInput("phone", "13812345678"), ContactInput("phone", "not a phone")],
        )
    assert (ContactPoint.objects.count(), AuditEvent.objects.count()) == before
    assert not org.hz.customers.filter(name="E").exists()


def test_account_manager_edits_own_and_unassigned_only(org):
    mine = CustomerFactory(unit=org.hz, owner=org.users["am_hz"])
    unassigned = CustomerFactory(unit=org.hz, owner=None)
    colleagues = CustomerFactory(unit=org.hz, owner=org.users["am_hz2"])
    am = org.users["am_hz"]
    customer_update(actor=am, customer=mine, city="杭州")
    customer_update(actor=am, customer=unassigned, city="杭州")
    with pytest.raises(PermissionDenied):
        customer_update(actor=am, customer=colleagues, city="杭州")
    customer_update(actor=org.users["rm_east"], customer=colleagues, city="杭州")
    event = AuditEvent.objects.filter(action="customer.update", customer_id=colleagues.pk).get()
    assert event.changes == {"city": ["", "杭州"]}


def test_users_see_their_units_and_managers_the_units_below(org):
    hz, nb, bj = (CustomerFactory(unit=u) for u in (org.hz, org.nb, org.bj))
    owned_elsewhere = CustomerFactory(unit=org.bj, owner=org.users["am_hz"])

    def visible(username):
        return set(
            customer_list(org.users[username], CustomerFilters()).values_list("pk", flat=True)
        )

    assert visible("admin") == {hz.pk, nb.pk, bj.pk, owned_elsewhere.pk}
    assert visible("rm_east") == {hz.pk, nb.pk}
    assert visible("rm_north") == {bj.pk, owned_elsewhere.pk}
    assert visible("am_hz") == {hz.pk, owned_elsewhere.pk}
    assert visible("am_hz2") == {hz.pk}
    assert visible("analyst") == set()
    with pytest.raises(NotFound):
        customer_get_for(org.users["am_nb"], hz.pk)


def test_search_by_phone_prefix_name_prefix_and_external_id(org):
    am = org.users["am_hz"]
    a = customer_create(
        actor=am, name="张伟", unit=org.hz, contacts=[ContactInput("phone", "13811112222")]
    )
    b = customer_create(
        actor=am,
        name="张丽",
        unit=org.hz,
        external_id="CRM-9",
        contacts=[ContactInput("phone", "13999990000")],
    )

    def found(q):
        return set(customer_list(am, CustomerFilters(q=q)).values_list("pk", flat=True))

    assert found("13811112222") == {a.pk}
    assert found("1381111") == {a.pk}
    assert found("+86 139 9999 0000") == {b.pk}
    assert found("张") == {a.pk, b.pk}
    assert found("张丽") == {b.pk}
    assert found("CRM-9") == {b.pk}
    assert found("王") == set()


def test_consent_is_an_append_only_ledger_and_state_follows_latest(org):
    c = CustomerFactory(unit=org.hz, owner=org.users["am_hz"])
    am = org.users["am_hz"]
    t0 = timezone.now() - timedelta(days=3)
    consent_record(actor=am, customer=c, channel="sms", purpose="marketing", granted=True, at=t0)
    consent_record(
        actor=am,
        customer=c,
        channel="sms",
        purpose="marketing",
        granted=False,
        at=t0 + timedelta(days=1),
    )
    # a late-arriving older event does not override the newer state
    consent_record(
        actor=am,
        customer=c,
        channel="sms",
        purpose="marketing",
        granted=True,
        at=t0 - timedelta(days=1),
    )
    assert ConsentState.objects.get(customer=c, channel="sms", purpose="marketing").granted is False
    ConsentState.objects.all().delete()
    assert consent_rebuild() == 1
    assert ConsentState.objects.get(customer=c, channel="sms", purpose="marketing").granted is False
    with pytest.raises(ValidationFailed):
        consent_record(actor=am, customer=c, channel="fax", purpose="marketing", granted=True)
    with pytest.raises(PermissionDenied):
        consent_record(
            actor=org.users["analyst"], customer=c, channel="sms", purpose="marketing", granted=True
        )


def test_contact_point_primary_moves_when_primary_is_removed(org):
    am = org.users["am_hz"]
    c = customer_create(
        actor=am,
        name="赵六",
        unit=org.hz,
        owner=am,
        contacts=[ContactInput("phone", "13811110000")],
    )
    second = contact_point_add(actor=am, customer=c, kind="phone", value="13822220000")
    assert not second.is_primary
    with pytest.raises(ValidationFailed):
        contact_point_add(actor=am, customer=c, kind="phone", value="+8613822220000")
    contact_point_remove(actor=am, point=ContactPoint.objects.get(customer=c, is_primary=True))
    c.refresh_from_db()
    assert c.primary_phone == "13822220000"
