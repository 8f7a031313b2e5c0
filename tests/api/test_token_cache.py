"""The API reuses a token's unit scope between calls, and still sees every change at once.

``token_authenticate`` reads the token, its user and the version of the user's access in one
query and keeps the computed scope per process; these tests change what the scope depends on
between two calls of the same client and expect the next call to follow.
"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import Api
from yiti.customers.services import customer_create
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.services import membership_grant, token_create, token_revoke, unit_create


def _client(user) -> tuple[Api, int]:
    token, raw = token_create(user=user, name="cache")
    return Api(token=raw), token.pk


def test_a_revoked_token_is_refused_on_the_next_call(org):
    api, token_id = _client(org.users["am_hz"])
    assert api.get("/customers").status_code == 200
    assert api.get("/customers").status_code == 200  # served from the cache
    token_revoke(user=org.users["am_hz"], token_id=token_id)
    res = api.get("/customers")
    assert res.status_code == 401
    assert res.json()["code"] == "unauthenticated"


def test_a_deactivated_user_is_refused_on_the_next_call(org):
    api, _token_id = _client(org.users["am_hz"])
    assert api.get("/customers").status_code == 200
    User.objects.filter(pk=org.users["am_hz"].pk).update(is_active=False)
    assert api.get("/customers").status_code == 401


def test_a_granted_or_removed_membership_changes_what_the_next_call_sees(org):
    customer = customer_create(actor=org.users["am_hz"], name="李娜", unit=org.hz)
    user = org.users["am_bj"]
    api, _token_id = _client(user)
    assert api.get(f"/customers/{customer.pk}").status_code == 404
    # when the Beijing account manager is also made one in Hangzhou
    membership_grant(user=user, unit=org.hz, role="account_manager")
    # then his next call sees the Hangzhou customer
    assert api.get(f"/customers/{customer.pk}").status_code == 200
    # and when that membership is removed again, it does not
    Membership.objects.filter(user=user, unit=org.hz).delete()
    assert api.get(f"/customers/{customer.pk}").status_code == 404


def test_a_role_changed_in_place_changes_the_next_call(org):
    user = org.users["am_hz"]
    api, _token_id = _client(user)
    assert api.get("/value/fits").status_code == 403
    membership = Membership.objects.get(user=user)
    membership.role = "analyst"
    membership.save()
    assert api.get("/value/fits").status_code == 200


def test_a_new_unit_under_a_managers_region_is_in_scope_at_once(org):
    manager = org.users["rm_east"]
    api, _token_id = _client(manager)
    assert api.get("/customers").status_code == 200
    wz = unit_create(name="温州分公司", code="wz", kind="branch", parent=org.east)
    customer = customer_create(actor=org.users["admin"], name="王芳", unit=wz)
    assert api.get(f"/customers/{customer.pk}").status_code == 200
    assert OrgUnit.objects.filter(pk=wz.pk).exists()


def test_a_warm_token_call_reads_the_token_in_one_query(org):
    api, _token_id = _client(org.users["am_hz"])
    api.get("/value/fits")  # warm: computes the scope, stamps last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/decisions/propensities").status_code == 403
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert len(queries.captured_queries) == 1, tables
    assert "org_membership" in tables  # the version of the scope, read with the token
