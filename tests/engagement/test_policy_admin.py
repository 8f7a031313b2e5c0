"""Administering the contact policy through the services: rules, quiet hours, do-not-disturb
entries with an end — validation naming the field, permissions, audit, expiry."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.engagement.models import ContactPolicyRule, QuietHours, Suppression
from yiti.engagement.policy_data import policy_inputs
from yiti.engagement.selectors import is_suppressed, suppressed_customer_ids
from yiti.engagement.services import (
    contact_rule_create,
    contact_rule_deactivate,
    contact_rule_update,
    quiet_hours_create,
    quiet_hours_update,
    suppression_add,
    suppression_lift_entry,
    suppression_set,
)

SH = ZoneInfo("Asia/Shanghai")


def _rule(actor=None, **kw):
    values = {"name": "marketing weekly", "max_contacts": 2, "window_days": 7}
    return contact_rule_create(actor=actor, **{**values, **kw})


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"max_contacts": 0}, "max_contacts"),
        ({"max_contacts": "two"}, "max_contacts"),
        ({"window_days": 0}, "window_days"),
        ({"window_days": 367}, "window_days"),
        ({"purposes": ["spam"]}, "purposes"),
        ({"channels": ["pigeon"]}, "channels"),
        ({"weights": {"service": 10.5}}, "weights.service"),
        ({"weights": {"service": -1}}, "weights.service"),
        ({"weights": {"care": "0.1234"}}, "weights.care"),
        ({"weights": {"care": "half"}}, "weights.care"),
        ({"weights": {"spam": 1}}, "weights"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 81}, "name"),
    ],
)
def test_a_rule_out_of_bounds_is_refused_naming_the_field(org, bad, field):
    with pytest.raises(ValidationFailed) as refused:
        _rule(actor=org.users["admin"], **bad)
    assert refused.value.field == field
    assert not ContactPolicyRule.objects.exists()


def test_a_rule_keeps_weights_to_three_decimals_and_the_vocabulary_order(org):
    rule = _rule(
        actor=org.users["cm"],
        purposes=["service", "marketing", "service"],
        channels=["sms", "call"],
        weights={"marketing": "1", "service": "0.125", "care": ""},
        window_days=366,
    )
    assert rule.purposes == ["marketing", "service"]
    assert rule.channels == ["call", "sms"]
    assert rule.weights == {"marketing": 1.0, "service": 0.125}


def test_a_rule_name_is_unique(org):
    _rule()
    with pytest.raises(ValidationFailed) as refused:
        _rule()
    assert refused.value.field == "name"


def test_updating_a_rule_changes_only_what_is_given_and_audits_the_difference(org):
    rule = _rule(actor=org.users["admin"], purposes=["marketing"])
    updated = contact_rule_update(actor=org.users["cm"], rule=rule, max_contacts=1)
    assert (updated.max_contacts, updated.window_days, updated.purposes) == (1, 7, ["marketing"])
    event = AuditEvent.objects.get(action="policy.rule_update", object_id=str(rule.pk))
    assert event.changes == {"max_contacts": [2, 1]}
    assert event.actor == org.users["cm"]
    # nothing changed: nothing audited
    contact_rule_update(actor=org.users["cm"], rule=rule, max_contacts=1)
    assert AuditEvent.objects.filter(action="policy.rule_update").count() == 1


def test_updating_a_rule_validates_the_merged_values(org):
    rule = _rule()
    other = _rule(name="all contacts", max_contacts=4, window_days=30)
    with pytest.raises(ValidationFailed) as refused:
        contact_rule_update(actor=None, rule=other, name=rule.name)
    assert refused.value.field == "name"
    with pytest.raises(ValidationFailed) as refused:
        contact_rule_update(actor=None, rule=other, window_days=400)
    assert refused.value.field == "window_days"
    other.refresh_from_db()
    assert (other.name, other.window_days) == ("all contacts", 30)


def test_a_deactivated_rule_no_longer_applies(org):
    rule = _rule()
    now = timezone.now()
    assert [r.name for r in policy_inputs(customers=None, first=now, last=now).rules] == [
        "marketing weekly"
    ]
    contact_rule_deactivate(actor=org.users["admin"], rule=rule)
    assert policy_inputs(customers=None, first=now, last=now).rules == []
    assert AuditEvent.objects.filter(action="policy.rule_update").get().changes == {
        "active": [True, False]
    }


def test_only_policy_managers_update_rules_and_quiet_hours(org):
    rule = _rule()
    quiet = quiet_hours_create(actor=None, name="night", start=time(21), end=time(9))
    for username in ("analyst", "am_hz", "svc_east", "rm_east"):
        with pytest.raises(PermissionDenied):
            contact_rule_update(actor=org.users[username], rule=rule, max_contacts=1)
        with pytest.raises(PermissionDenied):
            quiet_hours_update(actor=org.users[username], quiet=quiet, active=False)


def test_quiet_hours_take_times_as_text_and_refuse_a_bad_one(org):
    quiet = quiet_hours_create(
        actor=org.users["cm"], name="lunch", start="12:00", end="13:30", days=[0, 1, 2, 3, 4]
    )
    assert (quiet.start, quiet.end, quiet.days) == (time(12), time(13, 30), [0, 1, 2, 3, 4])
    with pytest.raises(ValidationFailed) as refused:
        quiet_hours_update(actor=None, quiet=quiet, end="25:00")
    assert refused.value.field == "end"
    with pytest.raises(ValidationFailed) as refused:
        quiet_hours_update(actor=None, quiet=quiet, days=[])
    assert refused.value.field == "days"
    with pytest.raises(ValidationFailed) as refused:
        quiet_hours_update(actor=None, quiet=quiet, channels=["pigeon"])
    assert refused.value.field == "channels"
    quiet_hours_update(actor=org.users["admin"], quiet=quiet, channels=["call"], active=False)
    quiet.refresh_from_db()
    assert (quiet.channels, quiet.active) == (["call"], False)
    event = AuditEvent.objects.get(action="policy.quiet_update")
    assert event.changes == {"active": [True, False], "channels": [[], ["call"]]}
    assert QuietHours.objects.count() == 1


# --- do not disturb ---------------------------------------------------------------------------


def test_an_agent_puts_a_customer_he_sees_on_do_not_disturb_until_a_day(org):
    customer = CustomerFactory(unit=org.hz)
    until = timezone.localdate() + timedelta(days=90)
    row = suppression_add(
        actor=org.users["am_hz"], customer=customer, expires_at=until, note="asked on the phone"
    )
    assert row.reason == "do_not_disturb" and row.active
    # to the end of that day, local time
    assert row.expires_at == datetime.combine(until + timedelta(days=1), time(), tzinfo=SH)
    assert is_suppressed(customer)
    assert AuditEvent.objects.filter(action="suppression.set", customer_id=customer.pk).exists()


def test_who_may_add_which_suppression(org):
    hz_customer = CustomerFactory(unit=org.hz)
    bj_customer = CustomerFactory(unit=org.bj)
    with pytest.raises(PermissionDenied):  # a legal hold is the policy managers'
        suppression_add(actor=org.users["am_hz"], customer=hz_customer, reason="legal")
    with pytest.raises(PermissionDenied):  # analysts do not change consent
        suppression_add(actor=org.users["analyst"], customer=hz_customer)
    with pytest.raises(Exception, match="not found"):  # a customer he does not see
        suppression_add(actor=org.users["am_hz"], customer=bj_customer)
    with pytest.raises(ValidationFailed) as refused:  # complaints belong to their tickets
        suppression_add(actor=org.users["admin"], customer=hz_customer, reason="open_complaint")
    assert refused.value.field == "reason"
    with pytest.raises(ValidationFailed) as refused:
        suppression_add(actor=org.users["admin"], customer=hz_customer, expires_at=date(2020, 1, 1))
    assert refused.value.field == "expires_at"
    suppression_add(actor=org.users["admin"], customer=hz_customer, reason="legal")
    assert Suppression.objects.count() == 1


def test_adding_again_while_active_changes_the_end_instead_of_a_second_entry(org):
    customer = CustomerFactory(unit=org.hz)
    first = suppression_add(actor=None, customer=customer, expires_at=date(2099, 1, 1))
    again = suppression_add(actor=None, customer=customer, expires_at=None, note="for good")
    assert again.pk == first.pk and again.expires_at is None and again.note == "for good"
    assert AuditEvent.objects.filter(action="suppression.update").count() == 1


def test_an_expired_entry_no_longer_suppresses_and_a_new_one_can_start(org):
    customer = CustomerFactory(unit=org.hz)
    row = suppression_add(actor=None, customer=customer, expires_at=date(2099, 1, 1))
    # given the entry ended yesterday
    Suppression.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(days=1))
    row.refresh_from_db()
    # then nothing reads it as active: the selectors, the policy inputs, the queryset
    assert not row.active
    assert not is_suppressed(customer)
    assert not suppressed_customer_ids().exists()
    now = timezone.now()
    inputs = policy_inputs(customers=None, first=now, last=now)
    assert len(inputs.suppressed.customer_id) == 0
    # a suppression that ends after the planned time still counts
    inputs = policy_inputs(customers=None, first=now - timedelta(days=2), last=now)
    assert inputs.suppressed.customer_id.tolist() == [customer.pk]
    # and adding again closes the expired entry at its end and starts a new one
    new = suppression_add(actor=None, customer=customer)
    row.refresh_from_db()
    assert row.lifted_at == row.expires_at and new.pk != row.pk and is_suppressed(customer)


def test_a_complaint_suppression_set_again_after_an_odd_expiry_starts_anew(org):
    customer = CustomerFactory(unit=org.hz)
    row = suppression_set(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=7
    )
    Suppression.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    again = suppression_set(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=7
    )
    assert again.pk != row.pk and is_suppressed(customer)


def test_lifting_an_entry(org):
    customer = CustomerFactory(unit=org.hz)
    row = suppression_add(actor=org.users["svc_east"], customer=customer)
    lifted = suppression_lift_entry(actor=org.users["am_hz"], suppression=row)
    assert lifted.lifted_by == org.users["am_hz"] and not is_suppressed(customer)
    assert AuditEvent.objects.filter(action="suppression.lift", customer_id=customer.pk).exists()
    with pytest.raises(ValidationFailed) as refused:  # twice
        suppression_lift_entry(actor=org.users["am_hz"], suppression=row)
    assert refused.value.code == "not_active"
    complaint = suppression_set(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=1
    )
    with pytest.raises(ValidationFailed) as refused:
        suppression_lift_entry(actor=org.users["admin"], suppression=complaint)
    assert refused.value.code == "complaint_suppression"
    legal = suppression_add(actor=org.users["admin"], customer=customer, reason="legal")
    with pytest.raises(PermissionDenied):
        suppression_lift_entry(actor=org.users["am_hz"], suppression=legal)


def test_the_next_best_action_reads_an_expired_entry_as_lifted(org):
    # the one reader outside engagement with its own SQL (decisions.nba's profile query)
    from yiti.decisions.nba import profile_load

    customer = CustomerFactory(unit=org.hz)
    row = suppression_add(actor=None, customer=customer, expires_at=date(2099, 1, 1))
    now = timezone.now()
    loaded = profile_load(customer.pk, now=now, longest_days=30)
    assert loaded is not None and loaded.state.suppressions == ["do_not_disturb"]
    Suppression.objects.filter(pk=row.pk).update(expires_at=now - timedelta(minutes=1))
    loaded = profile_load(customer.pk, now=now, longest_days=30)
    assert loaded is not None and loaded.state.suppressions == []
