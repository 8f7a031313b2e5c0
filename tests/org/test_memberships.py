"""Memberships with start and end dates, inactive units, superusers and who manages whom."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.org.access import access_for
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.services import (
    can_manage_user,
    membership_end,
    membership_grant,
    unit_set_active,
    user_create,
)


def fresh(user):
    return User.objects.get(pk=user.pk)


def test_access_ignores_memberships_not_started_or_ended(org):
    user = org.users["am_hz"]
    today = timezone.localdate()
    membership_grant(
        user=user, unit=org.bj, role="account_manager", starts_on=today + timedelta(days=1)
    )
    assert org.bj.pk not in access_for(fresh(user)).unit_ids
    # on the day it starts, it counts
    later = Membership.objects.get(user=user, unit=org.bj)
    assert later.in_force(today + timedelta(days=1))
    assert not later.in_force(today)
    # ended today: the Hangzhou membership no longer opens anything
    membership_end(membership=Membership.objects.get(user=user, unit=org.hz))
    assert access_for(fresh(user)).unit_ids == frozenset()


def test_access_ignores_memberships_in_an_inactive_unit(org):
    unit_set_active(unit=org.nb, active=False)
    access = access_for(fresh(org.users["am_nb"]))
    assert access.unit_ids == frozenset() and access.roles == frozenset()
    # the region manager above still sees the (inactive) branch in his subtree: nothing is lost
    assert org.nb.pk in access_for(fresh(org.users["rm_east"])).unit_ids


def test_a_superuser_without_any_membership_is_administrator_of_the_whole_tree(org):
    boss = user_create(username="boss", password="Lantern-Harbour-42", is_superuser=True)
    access = access_for(boss)
    assert access.is_admin
    assert access.unit_ids == frozenset(OrgUnit.objects.values_list("id", flat=True))
    assert access.managed_unit_ids == access.unit_ids


def test_user_create_validates_the_first_password(db):
    with pytest.raises(ValidationFailed) as failure:
        user_create(username="someone", password="12345678")
    assert failure.value.field == "password"
    with pytest.raises(ValidationFailed):
        user_create(username="someone", password="someone1")  # too like the username
    assert user_create(username="someone", password="Lantern-Harbour-42").has_usable_password()
    assert not user_create(username="nopass", password=None).has_usable_password()


def test_a_region_manager_manages_only_people_wholly_inside_his_region(org):
    rm = org.users["rm_east"]
    assert can_manage_user(rm, org.users["am_hz"])
    assert can_manage_user(rm, org.users["svc_east"])
    assert not can_manage_user(rm, org.users["am_bj"])
    assert not can_manage_user(rm, org.users["admin"])
    assert not can_manage_user(rm, rm)
    membership_grant(user=org.users["am_nb"], unit=org.bj, role="account_manager")
    assert not can_manage_user(rm, org.users["am_nb"])
    assert not can_manage_user(org.users["am_hz"], org.users["am_hz2"])


def test_a_region_manager_cannot_grant_admin_or_outside_his_region(org):
    rm = org.users["rm_east"]
    with pytest.raises(PermissionDenied):
        membership_grant(user=org.users["am_hz"], unit=org.hz, role="admin", actor=rm)
    with pytest.raises(PermissionDenied):
        membership_grant(user=org.users["am_hz"], unit=org.north, role="analyst", actor=rm)
    assert membership_grant(user=org.users["am_hz"], unit=org.nb, role="analyst", actor=rm).pk


def test_a_membership_not_started_and_ended_never_opens_anything(org):
    user = org.users["analyst"]
    start = timezone.localdate() + timedelta(days=10)
    m = membership_grant(user=user, unit=org.east, role="analyst", starts_on=start)
    membership_end(membership=m)
    m.refresh_from_db()
    for day in range(0, 30):
        assert not m.in_force(timezone.localdate() + timedelta(days=day))
    assert m.ends_on == timezone.localdate()


def test_a_membership_cannot_end_in_the_past(org):
    m = Membership.objects.get(user=org.users["am_hz"])
    with pytest.raises(ValidationFailed):
        membership_end(membership=m, ends_on=date(2000, 1, 1))
