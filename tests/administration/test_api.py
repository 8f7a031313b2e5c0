"""/api/v1/org: units, users and memberships over the API, with who may do what."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.administration.conftest import a_customer, a_running_campaign, an_open_ticket
from tests.api.conftest import Api
from yiti.core.models import AuditEvent
from yiti.customers.services import customer_update
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.services import token_create

STRONG = "Lantern-Harbour-42"


# --- units ----------------------------------------------------------------------------------


def test_an_admin_lists_the_tree_and_creates_a_branch_under_a_region_by_code(org, api_as):
    admin = api_as("admin")
    res = admin.get("/org/units")
    assert res.status_code == 200
    assert [u["code"] for u in res.json()["items"]][:2] == ["hq", "east"]

    res = admin.post(
        "/org/units", {"name": "温州分公司", "code": "wz", "kind": "branch", "parent": "east"}
    )

    assert res.status_code == 201, res.content
    body = res.json()
    assert body["parent"]["code"] == "east" and body["depth"] == 2 and body["active"] is True
    unit = OrgUnit.objects.get(code="wz")
    assert unit.path == f"{org.east.path}{unit.pk}/"
    assert AuditEvent.objects.filter(action="org.unit_create", object_id=str(unit.pk)).exists()


def test_bad_unit_input_is_a_json_422_naming_the_field(org, api_as):
    admin = api_as("admin")
    cases = [
        ({"name": "x", "code": "hz", "kind": "branch", "parent": "east"}, "code"),
        ({"name": "x", "code": "bad code!", "kind": "branch", "parent": "east"}, "code"),
        ({"name": "x", "code": "x1", "kind": "branch", "parent": "nowhere"}, "parent"),
        ({"name": "x", "code": "x2", "kind": "branch"}, "parent"),
        ({"name": "x", "code": "x3", "kind": "castle", "parent": "east"}, "kind"),
        ({"name": "", "code": "x4", "kind": "branch", "parent": "east"}, "name"),
    ]
    for body, field in cases:
        res = admin.post("/org/units", body)
        assert res.status_code == 422, (body, res.content)
        assert res.json()["field"] == field, (body, res.json())
    assert admin.patch("/org/units/99999999999999999999", {"name": "x"}).status_code == 422
    assert admin.patch("/org/units/123456789", {"name": "x"}).status_code == 404


def test_only_administrators_create_or_change_units(org, api_as):
    for username in ("rm_east", "am_hz", "cm"):
        client = api_as(username)
        assert (
            client.post(
                "/org/units", {"name": "x", "code": "x", "kind": "branch", "parent": "east"}
            ).status_code
            == 403
        )
        assert client.patch(f"/org/units/{org.hz.pk}", {"name": "x"}).status_code == 403
    assert not OrgUnit.objects.filter(code="x").exists()


def test_moving_a_branch_moves_its_subtree_and_the_scope_of_the_people_above_follows(org, api_as):
    admin = api_as("admin")
    team = admin.post(
        "/org/units", {"name": "西湖营业厅", "code": "xh", "kind": "department", "parent": "hz"}
    ).json()
    customer = a_customer(org.hz)
    rm_north = api_as("rm_north")
    assert rm_north.get(f"/customers/{customer.pk}").status_code == 404  # cached scope: North only

    res = admin.patch(f"/org/units/{org.hz.pk}", {"parent": "north"})

    assert res.status_code == 200, res.content
    assert res.json()["parent"]["code"] == "north"
    hz, xh = OrgUnit.objects.get(code="hz"), OrgUnit.objects.get(pk=team["id"])
    assert hz.path == f"{org.north.path}{hz.pk}/" and hz.depth == 2
    assert xh.path == f"{hz.path}{xh.pk}/" and xh.depth == 3
    # the region manager of North sees the Hangzhou customer on his very next call, East does not
    assert rm_north.get(f"/customers/{customer.pk}").status_code == 200
    assert api_as("rm_east").get(f"/customers/{customer.pk}").status_code == 404


def test_a_unit_cannot_move_under_itself_or_its_own_descendant(org, api_as):
    admin = api_as("admin")
    for target in ("east", "hz"):
        res = admin.patch(f"/org/units/{org.east.pk}", {"parent": target})
        assert res.status_code == 422
        assert res.json()["code"] == "cycle" and res.json()["field"] == "parent"
    assert OrgUnit.objects.get(code="east").path == org.east.path


def test_deactivating_a_unit_with_customers_is_refused_with_counts_then_allowed_once_moved(
    org, api_as
):
    admin = api_as("admin")
    customer = a_customer(org.nb)

    res = admin.patch(f"/org/units/{org.nb.pk}", {"active": False})

    assert res.status_code == 409
    body = res.json()
    assert body["code"] == "unit_in_use"
    assert "1 customer" in body["message"] and "宁波分公司" in body["message"]
    assert OrgUnit.objects.get(code="nb").active is True
    # when the customer is moved to Hangzhou, the branch can go
    customer_update(actor=org.users["admin"], customer=customer, unit=org.hz)
    res = admin.patch(f"/org/units/{org.nb.pk}", {"active": False})
    assert res.status_code == 200 and res.json()["active"] is False
    # and it is no longer offered: not in the active units, not grantable
    codes = [u["code"] for u in admin.get("/org/units", {"active": "yes"}).json()["items"]]
    assert "nb" not in codes
    res = admin.post(
        f"/org/users/{org.users['am_hz'].pk}/memberships", {"unit": "nb", "role": "account_manager"}
    )
    assert res.status_code == 422 and res.json()["field"] == "unit"


def test_deactivating_a_region_is_refused_while_a_branch_below_has_an_open_ticket(org, api_as):
    an_open_ticket(org.nb)
    res = api_as("admin").patch(f"/org/units/{org.east.pk}", {"active": False})
    assert res.status_code == 409
    assert "open ticket" in res.json()["message"]


def test_deactivating_a_unit_in_a_running_campaign_is_refused(org, api_as):
    a_running_campaign(org, units=[org.bj])
    res = api_as("admin").patch(f"/org/units/{org.bj.pk}", {"active": False})
    assert res.status_code == 409
    assert "running or paused campaign" in res.json()["message"]


def test_the_company_itself_cannot_be_deactivated(org, api_as):
    res = api_as("admin").patch(f"/org/units/{org.company.pk}", {"active": False})
    assert res.status_code == 422 and res.json()["code"] == "company"
    assert OrgUnit.objects.get(pk=org.company.pk).active


def test_members_of_an_inactive_unit_lose_what_it_opened(org, api_as):
    customer = a_customer(org.bj)
    am_bj = api_as("am_bj")
    assert am_bj.get(f"/customers/{customer.pk}").status_code == 200
    customer_update(actor=org.users["admin"], customer=customer, unit=org.hz)
    assert api_as("admin").patch(f"/org/units/{org.bj.pk}", {"active": False}).status_code == 200
    me = am_bj.get("/me").json()
    assert me["unit_ids"] == [] and me["roles"] == []


# --- users ----------------------------------------------------------------------------------


def test_an_admin_creates_a_user_with_a_role_whose_token_sees_that_branch(org, api_as):
    res = api_as("admin").post(
        "/org/users",
        {
            "username": "am_wz",
            "display_name": "周敏",
            "email": "zhoumin@example.com",
            "password": STRONG,
            "memberships": [{"unit": "nb", "role": "account_manager"}],
        },
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["memberships"][0]["unit"]["code"] == "nb" and body["memberships"][0]["in_force"]
    user = User.objects.get(username="am_wz")
    assert user.check_password(STRONG)
    nb_customer, hz_customer = a_customer(org.nb), a_customer(org.hz, name="张伟")
    _t, raw = token_create(user=user, name="t")
    client = Api(token=raw)
    assert client.get(f"/customers/{nb_customer.pk}").status_code == 200
    assert client.get(f"/customers/{hz_customer.pk}").status_code == 404


def test_a_weak_first_password_is_refused_by_the_password_rules(org, api_as):
    admin = api_as("admin")
    for weak in ("12345678", "password", "short"):
        res = admin.post("/org/users", {"username": "newbie", "password": weak})
        assert res.status_code == 422
        assert res.json()["field"] == "password"
    assert not User.objects.filter(username="newbie").exists()


def test_user_input_errors_are_json_422_with_the_field(org, api_as):
    admin = api_as("admin")
    cases = [
        ({"username": "am_hz", "password": STRONG}, "username"),
        ({"username": "has space", "password": STRONG}, "username"),
        ({"username": "x1", "email": "not-an-email"}, "email"),
        ({"username": "x2", "send_link": True}, "email"),
        (
            {"username": "x3", "memberships": [{"unit": "nowhere", "role": "analyst"}]},
            "memberships.0.unit",
        ),
        ({"username": "x4", "memberships": [{"unit": "hz", "role": "king"}]}, "memberships.0.role"),
        ({"username": "x5", "unknown": 1}, "unknown"),
    ]
    for body, field in cases:
        res = admin.post("/org/users", body)
        assert res.status_code == 422, (body, res.content)
        assert res.json()["field"] == field, (body, res.json())


def test_a_deactivated_users_token_answers_401_on_the_next_request(org, api_as):
    am_hz = api_as("am_hz")
    assert am_hz.get("/customers").status_code == 200
    assert am_hz.get("/customers").status_code == 200  # the scope is cached now

    res = api_as("admin").patch(f"/org/users/{org.users['am_hz'].pk}", {"active": False})

    assert res.status_code == 200 and res.json()["active"] is False
    answer = am_hz.get("/customers")
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthenticated"
    event = AuditEvent.objects.get(action="org.user_deactivate")
    assert event.actor_id == org.users["admin"].pk and event.changes["is_active"] == [True, False]


def test_edit_and_password_reset_over_the_api(org, api_as):
    admin = api_as("admin")
    user = org.users["am_nb"]
    res = admin.patch(f"/org/users/{user.pk}", {"display_name": "陈静", "phone": "13912345678"})
    assert res.status_code == 200
    assert res.json()["display_name"] == "陈静"
    assert res.json()["phone"] == "139****5678"  # masked, as personal data is everywhere
    assert admin.patch(f"/org/users/{user.pk}", {"password": "abc"}).json()["field"] == "password"
    assert admin.patch(f"/org/users/{user.pk}", {"password": STRONG}).status_code == 200
    user.refresh_from_db()
    assert user.check_password(STRONG) and user.display_name == "陈静"
    event = AuditEvent.objects.get(action="org.user_update", object_id=str(user.pk))
    assert event.changes["display_name"] == ["am_nb", "陈静"]


def test_the_user_list_filters_by_role_unit_and_status_and_pages(org, api_as):
    admin = api_as("admin")
    res = admin.get("/org/users", {"role": "account_manager", "unit": org.east.pk})
    assert {u["username"] for u in res.json()["items"]} == {"am_hz", "am_hz2", "am_nb"}
    res = admin.get("/org/users", {"q": "rm_", "page_size": 1})
    assert len(res.json()["items"]) == 1 and res.json()["has_next"] is True
    admin.patch(f"/org/users/{org.users['fin'].pk}", {"active": False})
    assert [u["username"] for u in admin.get("/org/users", {"active": "no"}).json()["items"]] == [
        "fin"
    ]


# --- region managers --------------------------------------------------------------------------


def test_a_region_manager_creates_and_changes_the_people_of_his_region_only(org, api_as):
    rm = api_as("rm_east")
    res = rm.post(
        "/org/users",
        {
            "username": "am_nb2",
            "password": STRONG,
            "memberships": [{"unit": "nb", "role": "account_manager"}],
        },
    )
    assert res.status_code == 201, res.content
    assert (
        rm.patch(f"/org/users/{org.users['am_hz'].pk}", {"display_name": "杭州一号"}).status_code
        == 200
    )
    # outside the region: another region's people are not even visible
    assert rm.patch(f"/org/users/{org.users['am_bj'].pk}", {"display_name": "x"}).status_code == 404
    assert rm.patch(f"/org/users/{org.users['admin'].pk}", {"active": False}).status_code == 404
    res = rm.post(
        "/org/users",
        {
            "username": "am_bj2",
            "password": STRONG,
            "memberships": [{"unit": "bj", "role": "account_manager"}],
        },
    )
    assert res.status_code == 403
    res = rm.post("/org/users", {"username": "loose", "password": STRONG})
    assert res.status_code == 422 and res.json()["field"] == "unit"
    assert not User.objects.filter(username__in=["am_bj2", "loose"]).exists()


def test_a_region_manager_never_grants_the_admin_role_nor_outside_his_region(org, api_as):
    rm = api_as("rm_east")
    am_hz = org.users["am_hz"]
    assert (
        rm.post(f"/org/users/{am_hz.pk}/memberships", {"unit": "hz", "role": "admin"}).status_code
        == 403
    )
    assert (
        rm.post(
            f"/org/users/{am_hz.pk}/memberships", {"unit": "bj", "role": "account_manager"}
        ).status_code
        == 403
    )
    res = rm.post(f"/org/users/{am_hz.pk}/memberships", {"unit": "nb", "role": "account_manager"})
    assert res.status_code == 201
    assert Membership.objects.filter(user=am_hz, unit=org.nb).exists()


def test_a_region_manager_may_not_change_someone_who_also_works_elsewhere(org, api_as):
    admin, rm = api_as("admin"), api_as("rm_east")
    am_hz = org.users["am_hz"]
    admin.post(f"/org/users/{am_hz.pk}/memberships", {"unit": "bj", "role": "account_manager"})
    res = rm.patch(f"/org/users/{am_hz.pk}", {"active": False})
    assert res.status_code == 403
    assert User.objects.get(pk=am_hz.pk).is_active


def test_people_without_org_rights_cannot_use_the_user_endpoints(org, api_as):
    for username in ("am_hz", "svc_east", "cm"):
        client = api_as(username)
        assert client.get("/org/users").status_code == 403
        assert client.post("/org/users", {"username": "x", "password": STRONG}).status_code == 403


# --- memberships ----------------------------------------------------------------------------


def test_ending_a_membership_ends_what_it_opened_on_the_next_request(org, api_as):
    customer = a_customer(org.hz)
    am_hz2 = api_as("am_hz2")
    assert am_hz2.get(f"/customers/{customer.pk}").status_code == 200
    membership = Membership.objects.get(user=org.users["am_hz2"])

    res = api_as("admin").delete(f"/org/memberships/{membership.pk}")

    assert res.status_code == 200
    assert res.json()["ends_on"] == timezone.localdate().isoformat()
    assert res.json()["in_force"] is False
    assert am_hz2.get(f"/customers/{customer.pk}").status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()  # kept as history
    assert AuditEvent.objects.filter(
        action="org.membership_end", object_id=str(membership.pk)
    ).exists()
    assert api_as("admin").delete(f"/org/memberships/{membership.pk}").status_code == 422


def test_a_membership_that_starts_tomorrow_opens_nothing_today(org, api_as):
    tomorrow = timezone.localdate() + timedelta(days=1)
    customer = a_customer(org.bj)
    res = api_as("admin").post(
        f"/org/users/{org.users['am_hz'].pk}/memberships",
        {"unit": "bj", "role": "account_manager", "starts_on": tomorrow.isoformat()},
    )
    assert res.status_code == 201 and res.json()["in_force"] is False
    assert api_as("am_hz").get(f"/customers/{customer.pk}").status_code == 404


def test_membership_dates_are_checked(org, api_as):
    admin = api_as("admin")
    today = timezone.localdate()
    user_id = org.users["am_hz"].pk
    res = admin.post(
        f"/org/users/{user_id}/memberships",
        {
            "unit": "bj",
            "role": "analyst",
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
    )
    assert res.status_code == 422 and res.json()["field"] == "ends_on"
    res = admin.post(
        f"/org/users/{user_id}/memberships",
        {"unit": "hz", "role": "account_manager", "starts_on": today.isoformat()},
    )
    assert res.status_code == 422 and res.json()["code"] == "duplicate"
    assert admin.delete("/org/memberships/99999999999999999999").status_code == 422


def test_the_me_endpoint_still_answers(org, api_as):
    res = api_as("am_hz").get("/me")
    assert res.status_code == 200 and res.json()["username"] == "am_hz"


def test_one_user_with_every_membership_including_ended_ones(org, api_as):
    admin = api_as("admin")
    membership = Membership.objects.get(user=org.users["am_hz2"])
    admin.delete(f"/org/memberships/{membership.pk}")
    res = admin.get(f"/org/users/{org.users['am_hz2'].pk}")
    assert res.status_code == 200
    [held] = res.json()["memberships"]
    assert held["unit"]["code"] == "hz" and held["in_force"] is False
    assert api_as("rm_north").get(f"/org/users/{org.users['am_hz2'].pk}").status_code == 404


def test_a_company_built_from_an_empty_database_through_the_api_only(db):
    # given only a superuser made by `yiti createsuperuser`, with no unit and no membership
    boss = User.objects.create_superuser("boss", "boss@example.com", STRONG)
    _t, raw = token_create(user=boss, name="setup")
    api = Api(token=raw)
    # when the company, a region, two branches and an account manager are created over the API
    assert (
        api.post("/org/units", {"name": "某某电信", "code": "hq", "kind": "company"}).status_code
        == 201
    )
    assert (
        api.post(
            "/org/units", {"name": "华东", "code": "east", "kind": "region", "parent": "hq"}
        ).status_code
        == 201
    )
    for code, name in (("hz", "杭州"), ("nb", "宁波")):
        assert (
            api.post(
                "/org/units", {"name": name, "code": code, "kind": "branch", "parent": "east"}
            ).status_code
            == 201
        )
    res = api.post(
        "/org/users",
        {
            "username": "am_hz",
            "password": STRONG,
            "memberships": [{"unit": "hz", "role": "account_manager"}],
        },
    )
    assert res.status_code == 201
    for unit, name in (("hz", "李娜"), ("hz", "张伟"), ("nb", "王芳")):
        assert api.post("/customers", {"name": name, "unit": unit}).status_code == 201
    # then the account manager's own token sees exactly his branch's customers
    _t, am_raw = token_create(user=User.objects.get(username="am_hz"), name="t")
    names = {c["name"] for c in Api(token=am_raw).get("/customers").json()["items"]}
    assert names == {"李娜", "张伟"}
