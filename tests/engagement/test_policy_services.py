"""The contact policy as data: rules and quiet hours written through the services."""

from __future__ import annotations

from datetime import time

import pytest

from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.engagement.models import ContactPolicyRule, QuietHours
from yiti.engagement.services import contact_rule_create, quiet_hours_create


def test_a_rule_is_created_with_its_scope_and_weights_and_audited(org):
    rule = contact_rule_create(
        actor=org.users["admin"],
        name="all contacts",
        max_contacts=4,
        window_days=30,
        weights={"marketing": 1, "service": 0.5},
    )
    assert (rule.max_contacts, rule.window_days, rule.purposes, rule.channels) == (4, 30, [], [])
    assert rule.weights == {"marketing": 1.0, "service": 0.5}
    assert AuditEvent.objects.filter(action="policy.rule_create", object_id=str(rule.pk)).exists()


def test_a_rule_with_an_unknown_purpose_or_no_window_is_refused(org):
    with pytest.raises(ValidationFailed) as bad:
        contact_rule_create(actor=None, name="x", max_contacts=1, window_days=7, purposes=["spam"])
    assert bad.value.field == "purposes"
    with pytest.raises(ValidationFailed):
        contact_rule_create(actor=None, name="y", max_contacts=1, window_days=0)
    assert not ContactPolicyRule.objects.exists()


def test_only_administrators_and_campaign_managers_change_the_policy(org):
    for username in ("analyst", "am_hz", "svc_east"):
        with pytest.raises(PermissionDenied):
            contact_rule_create(actor=org.users[username], name="z", max_contacts=1, window_days=7)
        with pytest.raises(PermissionDenied):
            quiet_hours_create(actor=org.users[username], name="night", start=time(21), end=time(9))
    contact_rule_create(actor=org.users["cm"], name="z", max_contacts=1, window_days=7)
    quiet_hours_create(actor=org.users["cm"], name="night", start=time(21), end=time(9))
    assert ContactPolicyRule.objects.count() == QuietHours.objects.count() == 1


def test_quiet_hours_over_midnight(org):
    quiet = quiet_hours_create(actor=None, name="night", start=time(21), end=time(9))
    assert quiet.days == [0, 1, 2, 3, 4, 5, 6] and quiet.channels == []
    with pytest.raises(ValidationFailed):
        quiet_hours_create(actor=None, name="bad", start=time(21), end=time(9), days=[9])
    assert QuietHours.objects.count() == 1
