"""``yiti org ...``: the organisation from the command line."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.administration.conftest import a_customer
from yiti.core.models import AuditEvent
from yiti.org.models import Membership, OrgUnit, User

STRONG = "Lantern-Harbour-42"


def org_cmd(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    kwargs = {"stdout": out, "stderr": io.StringIO()}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("org", *args, **kwargs)
    return out.getvalue()


def test_units_prints_the_tree_indented(org):
    lines = org_cmd("units").splitlines()
    assert lines[0].startswith("总公司 (hq")
    assert "    杭州分公司 (hz" in lines[2]


def test_create_move_and_deactivate_a_unit(org):
    org_cmd("unit-create", "wz", "温州分公司", "--kind", "branch", "--parent", "east")
    wz = OrgUnit.objects.get(code="wz")
    assert wz.parent_id == org.east.pk
    org_cmd("unit-move", "wz", "north")
    wz.refresh_from_db()
    assert wz.path.startswith(org.north.path) and wz.depth == 2
    org_cmd("unit-deactivate", "wz")
    assert not OrgUnit.objects.get(code="wz").active
    assert AuditEvent.objects.filter(action="org.unit_move", object_id=str(wz.pk)).exists()


def test_clear_errors_for_bad_commands(org):
    a_customer(org.hz)
    with pytest.raises(CommandError, match="1 customer"):
        org_cmd("unit-deactivate", "hz")
    with pytest.raises(CommandError, match="No unit with code nowhere"):
        org_cmd("unit-move", "hz", "nowhere")
    with pytest.raises(CommandError, match="cannot move under itself"):
        org_cmd("unit-move", "east", "hz")
    with pytest.raises(CommandError, match="Unknown role king"):
        org_cmd("grant", "am_hz", "nb", "king")
    with pytest.raises(CommandError, match="already exists"):
        org_cmd("unit-create", "hz", "x", "--kind", "branch", "--parent", "east")


def test_user_create_with_a_password_from_stdin_and_a_first_role(org):
    org_cmd(
        "user-create",
        "am_wz",
        "--name",
        "周敏",
        "--email",
        "zm@example.com",
        "--password-stdin",
        "--unit",
        "nb",
        "--role",
        "account_manager",
        stdin=STRONG + "\n",
    )
    user = User.objects.get(username="am_wz")
    assert user.check_password(STRONG) and user.display_name == "周敏"
    assert Membership.objects.get(user=user).unit_id == org.nb.pk
    with pytest.raises(CommandError, match=r"too common|too short|entirely numeric"):
        org_cmd("user-create", "weak", "--password-stdin", stdin="12345678\n")
    assert not User.objects.filter(username="weak").exists()


def test_deactivate_grant_and_revoke(org):
    org_cmd("user-deactivate", "am_nb")
    assert not User.objects.get(username="am_nb").is_active
    org_cmd("grant", "am_hz", "nb", "account_manager", "--until", "2099-01-01")
    membership = Membership.objects.get(user=org.users["am_hz"], unit=org.nb)
    assert str(membership.ends_on) == "2099-01-01"
    org_cmd("revoke", "am_hz", "nb", "account_manager")
    membership.refresh_from_db()
    assert not membership.in_force()
    with pytest.raises(CommandError, match="holds no account_manager role"):
        org_cmd("revoke", "am_hz", "nb", "account_manager")


def test_load_units_then_users_from_csv(org, tmp_path):
    units = tmp_path / "units.csv"
    units.write_text(
        "code,name,kind,parent\nsouth,华南片区,region,hq\ngz,广州分公司,branch,south\n",
        encoding="utf-8",
    )
    assert "Loaded 2 units" in org_cmd("load", str(units))
    assert OrgUnit.objects.get(code="gz").parent.code == "south"
    users = tmp_path / "users.csv"
    users.write_text(
        "用户名,姓名,邮箱,单位,角色\nam_gz1,李雷,ll@example.com,gz,account_manager\n"
        "am_gz1,李雷,ll@example.com,south,analyst\nrm_south,韩梅梅,,south,region_manager\n",
        encoding="utf-8-sig",
    )
    assert "Loaded 2 users" in org_cmd("load", str(users))
    assert set(
        Membership.objects.filter(user__username="am_gz1").values_list("role", flat=True)
    ) == {
        "account_manager",
        "analyst",
    }


def test_load_is_all_or_nothing_with_row_level_errors(org, tmp_path):
    users = tmp_path / "users.csv"
    users.write_text(
        "username,name,email,unit,role\nok_one,甲,a@example.com,hz,account_manager\n"
        "bad one,乙,,hz,account_manager\nthird,丙,not-an-email,hz,account_manager\n"
        "fourth,丁,,nowhere,account_manager\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as failure:
        org_cmd("load", str(users))
    message = str(failure.value)
    assert "row 3, username" in message
    assert "row 4, email" in message
    assert "row 5: No unit with code nowhere" in message
    assert not User.objects.filter(username="ok_one").exists()
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Cannot tell what the file holds"):
        org_cmd("load", str(wrong))
    missing = tmp_path / "missing.csv"
    missing.write_text("code,name\nx,y\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Missing column"):
        org_cmd("load", str(missing))


def test_user_create_with_send_link_mails_the_link(
    org, smtp_server, worker_inline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        org_cmd(
            "user-create",
            "am_mail",
            "--email",
            "mail@example.com",
            "--send-link",
            "--unit",
            "hz",
            "--role",
            "account_manager",
        )
    [mail] = smtp_server.messages
    assert mail.rcpt_to == ["mail@example.com"]
    assert "/account/set-password/" in mail.body and "am_mail" in mail.body
