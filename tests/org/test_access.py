"""Org tree, access scoping and the production password hasher."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from yiti.core.errors import ValidationFailed
from yiti.org.access import access_for
from yiti.org.models import User
from yiti.org.roles import Perm
from yiti.org.services import token_authenticate, token_create, token_revoke, unit_create


def test_passwords_are_hashed_with_argon2_in_production_settings():
    assert (
        django_settings.PASSWORD_HASHERS[-2] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def test_unit_paths_make_subtrees(org):
    assert org.hz.path == f"{org.company.path}{org.east.pk}/{org.hz.pk}/"
    assert org.hz.depth == 2
    with pytest.raises(ValidationFailed):
        unit_create(name="Orphan", code="orphan", kind="branch")
    with pytest.raises(ValidationFailed):
        unit_create(name="Dup", code="hz", kind="branch", parent=org.east)


def test_account_managers_see_their_unit_other_roles_the_units_below(org):
    assert access_for(org.users["rm_east"]).unit_ids == {org.east.pk, org.hz.pk, org.nb.pk}
    assert access_for(org.users["am_hz"]).unit_ids == {org.hz.pk}
    assert access_for(org.users["svc_east"]).unit_ids == {org.east.pk, org.hz.pk, org.nb.pk}
    assert access_for(org.users["cm"]).unit_ids == {org.marketing.pk}
    admin_units = access_for(org.users["admin"]).unit_ids
    assert {
        org.company.pk,
        org.east.pk,
        org.north.pk,
        org.hz.pk,
        org.nb.pk,
        org.bj.pk,
        org.marketing.pk,
    } <= admin_units


def test_role_permissions(org):
    assert access_for(org.users["rm_east"]).has(Perm.CUSTOMER_REASSIGN)
    assert not access_for(org.users["am_hz"]).has(Perm.CUSTOMER_REASSIGN)
    assert not access_for(org.users["analyst"]).has(Perm.PII_REVEAL)
    assert access_for(org.users["svc_east"]).has(Perm.PII_REVEAL)
    assert access_for(None).unit_ids == frozenset()


def test_tokens_authenticate_until_revoked(org):
    user = org.users["am_hz"]
    token, raw = token_create(user=user, name="laptop")
    assert raw.startswith("yiti_") and raw not in (token.token_hash, token.prefix)
    assert token_authenticate(raw) == user
    assert token_authenticate(raw + "x") is None
    token_revoke(user=user, token_id=token.pk)
    assert token_authenticate(raw) is None


def test_a_token_gives_the_user_as_the_database_holds_him(org):
    """The token check reads the user with its own query: every field, datetimes aware, must
    be what the ORM reads, or a save of that user would write something else."""
    user = org.users["am_hz"]
    user.last_login = timezone.now() - timedelta(days=3)
    user.save(update_fields=["last_login"])
    _token, raw = token_create(user=user, name="laptop")
    got = token_authenticate(raw)
    assert got is not None
    stored = User.objects.get(pk=user.pk)
    for f in User._meta.concrete_fields:
        assert getattr(got, f.attname) == getattr(stored, f.attname), f.name
    assert timezone.is_aware(got.date_joined) and timezone.is_aware(got.last_login)
    assert not got._state.adding
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert token_authenticate(raw) is None
