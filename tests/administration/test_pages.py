"""The /manage/ pages: render, create and edit flows, errors next to the field, the first-run
path, the set-password e-mail over a real SMTP server and the page behind its link."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from tests.administration.conftest import a_customer
from yiti.org.models import Membership, OrgUnit, User

STRONG = "Lantern-Harbour-42"


def test_the_index_units_users_and_roles_pages_render_for_an_admin(org, web_as):
    admin = web_as("admin")
    for name in ("index", "units", "users", "roles", "start", "unit_create", "user_create"):
        res = admin.get(reverse(f"administration:{name}"))
        assert res.status_code == 200, name
    page = admin.get(reverse("administration:units")).content.decode()
    assert "杭州分公司" in page and 'data-code="hz"' in page
    assert admin.get(reverse("administration:unit_edit", args=[org.hz.pk])).status_code == 200
    assert (
        admin.get(reverse("administration:user_detail", args=[org.users["am_hz"].pk])).status_code
        == 200
    )


def test_the_unit_tree_shows_member_and_customer_counts(org, web_as):
    a_customer(org.hz)
    a_customer(org.hz, name="张伟")
    page = web_as("admin").get(reverse("administration:units")).content.decode()
    row = re.search(r'data-code="hz".*?</tr>', page, re.S).group(0)
    assert re.findall(r'class="num">(\d+)<', row) == ["2", "2"]  # am_hz, am_hz2; two customers


def test_every_permission_and_role_has_a_sentence_for_people():
    from yiti.org.choices import Role
    from yiti.org.roles import PERM_SENTENCES, ROLE_SCOPE, Perm

    assert set(PERM_SENTENCES) == set(Perm)
    assert set(ROLE_SCOPE) == set(Role.values)


def test_the_roles_page_explains_all_nine_roles(org, web_as):
    page = web_as("am_hz").get(reverse("administration:roles")).content.decode()
    assert page.count('id="role-') == 9
    assert "The customers of their own unit and the customers they own" in page
    assert (
        "Reveal a customer&#x27;s full phone number" in page
        or "Reveal a customer's full phone number" in page
    )


def test_people_without_org_rights_are_refused(org, web_as):
    for username in ("am_hz", "cm"):
        client = web_as(username)
        assert client.get(reverse("administration:users")).status_code == 403
        assert client.get(reverse("administration:units")).status_code == 403
    rm = web_as("rm_east")
    assert rm.get(reverse("administration:users")).status_code == 200
    assert rm.get(reverse("administration:units")).status_code == 403  # units: administrators


def test_creating_a_unit_with_a_taken_code_shows_the_error_next_to_the_code(org, web_as):
    admin = web_as("admin")
    url = reverse("administration:unit_create")
    res = admin.post(
        url, {"name": "又一个杭州", "code": "hz", "kind": "branch", "parent": org.east.pk}
    )
    assert res.status_code == 422
    page = res.content.decode()
    code_row = re.search(
        r'<div class="form-row has-error">\s*<label for="id_code".*?</div>\s*</div>|<div class="form-row has-error">\s*<label for="id_code".*?</ul>',
        page,
        re.S,
    )
    assert code_row and "A unit with this code already exists." in code_row.group(0)
    res = admin.post(
        url, {"name": "温州分公司", "code": "wz", "kind": "branch", "parent": org.east.pk}
    )
    assert res.status_code == 302
    assert OrgUnit.objects.get(code="wz").parent_id == org.east.pk


def test_rename_move_and_a_refused_deactivation_on_the_unit_page(org, web_as):
    admin = web_as("admin")
    url = reverse("administration:unit_edit", args=[org.nb.pk])
    assert admin.post(url, {"action": "rename", "name": "宁波分公司（新）"}).status_code == 302
    res = admin.post(url, {"action": "move", "parent": org.nb.pk})
    assert res.status_code == 422  # itself is not offered
    assert admin.post(url, {"action": "move", "parent": org.north.pk}).status_code == 302
    nb = OrgUnit.objects.get(pk=org.nb.pk)
    assert nb.name == "宁波分公司（新）" and nb.parent_id == org.north.pk
    a_customer(org.nb)
    res = admin.post(url, {"action": "deactivate", "confirm": "1"})
    assert res.status_code == 422
    assert "1 customer" in res.content.decode()
    assert OrgUnit.objects.get(pk=org.nb.pk).active


def test_an_inactive_unit_is_not_offered_in_pickers(org, web_as):
    admin = web_as("admin")
    assert (
        admin.post(
            reverse("administration:unit_edit", args=[org.marketing.pk]),
            {"action": "deactivate", "confirm": "1"},
        ).status_code
        == 302
    )
    page = admin.get(reverse("administration:user_create")).content.decode()
    assert f'value="{org.marketing.pk}"' not in page
    assert f'value="{org.hz.pk}"' in page


def test_creating_a_user_with_a_weak_password_shows_the_error_next_to_the_password(org, web_as):
    res = web_as("admin").post(
        reverse("administration:user_create"),
        {
            "username": "am_new",
            "password_mode": "set",
            "password": "12345678",
            "unit": org.hz.pk,
            "role": "account_manager",
        },
    )
    assert res.status_code == 422
    page = res.content.decode()
    row = re.search(
        r'<div class="form-row has-error">\s*<label for="id_password".*?</ul>', page, re.S
    )
    assert row and "entirely numeric" in row.group(0)
    assert not User.objects.filter(username="am_new").exists()


def test_a_new_user_gets_a_set_password_link_by_email_and_the_link_sets_it(
    org, web_as, smtp_server, worker_inline, django_capture_on_commit_callbacks
):
    # given the administrator creates a user with "e-mail a link"
    with django_capture_on_commit_callbacks(execute=True):
        res = web_as("admin").post(
            reverse("administration:user_create"),
            {
                "username": "am_new",
                "display_name": "周敏",
                "email": "zhoumin@example.com",
                "password_mode": "link",
                "unit": org.hz.pk,
                "role": "account_manager",
            },
        )
    assert res.status_code == 302, res.content.decode()[:2000]
    user = User.objects.get(username="am_new")
    assert not user.has_usable_password()
    # then the worker sent the e-mail over SMTP, with the link in it
    [mail] = smtp_server.messages
    assert mail.rcpt_to == ["zhoumin@example.com"]
    link = re.search(r"https?://\S+/account/set-password/\S+/", mail.body).group(0)
    path = link.split("testserver", 1)[1]
    # when the new user opens it and chooses a password
    visitor = Client()
    form_page = visitor.get(path, follow=True)
    assert form_page.status_code == 200 and "new_password1" in form_page.content.decode()
    res = visitor.post(
        form_page.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG}
    )
    assert res.status_code == 302
    # then they can sign in with it, and the link does not work twice
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert (
        Client().post(reverse("login"), {"username": "am_new", "password": STRONG}).status_code
        == 302
    )
    again = Client().get(path, follow=True).content.decode()
    assert 'id="link-invalid"' in again


def test_the_user_list_searches_and_filters(org, web_as):
    admin = web_as("admin")
    page = admin.get(
        reverse("administration:users"), {"role": "account_manager", "unit": org.north.pk}
    ).content.decode()
    assert 'data-username="am_bj"' in page and 'data-username="am_hz"' not in page
    partial = admin.get(
        reverse("administration:users"), {"q": "rm_"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in partial and 'data-username="rm_east"' in partial


def test_deactivate_after_confirmation_then_reactivate(org, web_as):
    admin = web_as("admin")
    user = org.users["am_nb"]
    a_customer(org.nb).owner_id  # noqa: B018 - one customer in the branch, not owned
    url = reverse("administration:user_active", args=[user.pk])
    assert "Deactivate" in admin.get(url).content.decode()
    assert admin.post(url, {"active": "0"}).status_code == 302
    assert not User.objects.get(pk=user.pk).is_active
    assert admin.post(url, {"active": "1"}).status_code == 302
    assert User.objects.get(pk=user.pk).is_active


def test_a_deactivated_account_manager_is_offered_on_the_reassignment_page(org, web_as):
    from yiti.customers.services import customer_create

    customer_create(actor=None, name="李娜", unit=org.hz, owner=org.users["am_hz"])
    web_as("admin").post(
        reverse("administration:user_active", args=[org.users["am_hz"].pk]), {"active": "0"}
    )
    page = web_as("rm_east").get(reverse("customers:reassign_bulk")).content.decode()
    from_select = re.search(r'<select name="from_user".*?</select>', page, re.S).group(0)
    assert f'value="{org.users["am_hz"].pk}"' in from_select


def test_granting_and_ending_a_role_on_the_user_page(org, web_as):
    admin = web_as("admin")
    user = org.users["am_hz"]
    url = reverse("administration:user_detail", args=[user.pk])
    res = admin.post(
        url, {"action": "grant", "grant-unit": org.nb.pk, "grant-role": "account_manager"}
    )
    assert res.status_code == 302
    membership = Membership.objects.get(user=user, unit=org.nb)
    res = admin.post(
        url,
        {
            "action": "grant",
            "grant-unit": org.nb.pk,
            "grant-role": "account_manager",
            "grant-starts_on": "2020-01-01",
        },
    )
    assert res.status_code == 422 and "already holds this role" in res.content.decode()
    assert (
        admin.post(reverse("administration:membership_end", args=[membership.pk])).status_code
        == 302
    )
    membership.refresh_from_db()
    assert membership.ends_on is not None


def test_a_region_manager_cannot_grant_the_admin_role_on_the_page(org, web_as):
    rm = web_as("rm_east")
    page = rm.get(
        reverse("administration:user_detail", args=[org.users["am_hz"].pk])
    ).content.decode()
    assert 'value="admin"' not in page
    assert f'value="{org.bj.pk}"' not in page  # only his region's units in the picker


def test_everybody_can_change_their_own_password(org, web_as):
    client = web_as("am_hz")
    url = reverse("org:password_change")
    assert 'href="/account/password/"' in client.get(reverse("org:tokens")).content.decode()
    res = client.post(
        url, {"old_password": "wrong", "new_password1": STRONG, "new_password2": STRONG}
    )
    assert res.status_code == 422
    res = client.post(
        url, {"old_password": "pw-Secret-123", "new_password1": STRONG, "new_password2": STRONG}
    )
    assert res.status_code == 302
    assert User.objects.get(username="am_hz").check_password(STRONG)
    assert client.get(reverse("org:tokens")).status_code == 200  # still signed in


# --- first run ------------------------------------------------------------------------------


def test_on_an_empty_database_a_fresh_superuser_signs_in_lands_on_the_checklist_and_creates_the_company(
    db,
):
    from django.core.management import call_command

    call_command(
        "createsuperuser", "--noinput", username="boss", email="boss@example.com", verbosity=0
    )
    user = User.objects.get(username="boss")
    user.set_password(STRONG)
    user.save()
    client = Client()
    res = client.post(reverse("login"), {"username": "boss", "password": STRONG}, follow=True)
    assert res.redirect_chain[-1][0] == reverse("administration:start")
    page = res.content.decode()
    assert 'id="step-units" data-done="0"' in page
    units = client.get(reverse("administration:units")).content.decode()
    assert 'id="company-create"' in units
    res = client.post(
        reverse("administration:units"), {"name": "某某电信", "code": "hq", "kind": "company"}
    )
    assert res.status_code == 302
    assert OrgUnit.objects.get(code="hq").parent is None
    assert client.get(reverse("administration:unit_create")).status_code == 200
    assert client.get(reverse("administration:users")).status_code == 200


def test_the_checklist_ticks_what_is_done_and_others_land_on_their_home_page(org, web_as):
    page = web_as("admin").get(reverse("administration:start")).content.decode()
    assert 'id="step-units" data-done="1"' in page
    assert 'id="step-users" data-done="1"' in page
    assert 'id="step-customers" data-done="0"' in page
    assert web_as("admin").get(reverse("home")).url == reverse("administration:start")
    assert 'id="home-account"' in web_as("am_hz").get(reverse("home")).content.decode()
    assert Client().get(reverse("home")).url == reverse("login")


def test_the_user_list_and_unit_tree_cost_the_same_queries_for_more_people(org, web_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yiti.org.services import membership_grant, unit_create, user_create

    admin = web_as("admin")

    def cost(name: str) -> int:
        admin.get(reverse(f"administration:{name}"))  # warm the session and access
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(reverse(f"administration:{name}")).status_code == 200
        return len(queries)

    before = cost("users"), cost("units")
    for i in range(8):
        unit = unit_create(name=f"营业厅{i}", code=f"shop{i}", kind="department", parent=org.hz)
        user = user_create(username=f"clerk{i}", password=None)
        membership_grant(user=user, unit=unit, role="service_agent")
    assert (cost("users"), cost("units")) == before


def test_a_deactivated_users_web_session_ends_on_the_next_page(org, web_as):
    client = web_as("am_nb")
    assert client.get(reverse("customers:list")).status_code == 200
    web_as("admin").post(
        reverse("administration:user_active", args=[org.users["am_nb"].pk]), {"active": "0"}
    )
    res = client.get(reverse("customers:list"))
    assert res.status_code == 302 and res.url.startswith(reverse("login"))


def test_the_user_page_shows_who_changed_what_and_when(org, web_as):
    admin = web_as("admin")
    user = org.users["am_nb"]
    url = reverse("administration:user_detail", args=[user.pk])
    admin.post(url, {"action": "grant", "grant-unit": org.hz.pk, "grant-role": "analyst"})
    admin.post(url, {"action": "edit", "display_name": "陈静", "email": "", "phone": "13912345678"})
    history = re.search(r'id="history".*?</section>', admin.get(url).content.decode(), re.S).group(
        0
    )
    assert "Role granted" in history and "Details changed" in history and "admin" in history
    assert "13912345678" not in history  # what changed is in the audit log, not repeated here
