"""``yiti token``: create prints only the token, list shows it, revoke stops it working."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.api.conftest import Api
from yiti.org.models import ApiToken


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_only_the_token_and_it_authenticates(org):
    out, _err = run("create", "am_hz", "--name", "crm-sync")
    raw = out.strip()
    assert out.count("\n") == 1 and raw.startswith("yiti_") and " " not in raw
    assert Api(token=raw).get("/me").json()["username"] == "am_hz"
    token = ApiToken.objects.get(user=org.users["am_hz"])
    assert token.name == "crm-sync" and raw not in (token.token_hash, token.prefix)


def test_list_then_revoke(org):
    raw = run("create", "am_nb")[0].strip()
    token = ApiToken.objects.get(user=org.users["am_nb"])
    listing = run("list", "am_nb")[0]
    assert str(token.pk) in listing and token.prefix in listing and raw not in listing
    run("revoke", "am_nb", str(token.pk))
    assert Api(token=raw).get("/me").status_code == 401
    with pytest.raises(CommandError):
        run("revoke", "am_nb", str(token.pk))  # already revoked


@pytest.mark.parametrize(
    "action", [["create", "nobody"], ["list", "nobody"], ["revoke", "nobody", "1"]]
)
def test_unknown_user_is_a_clear_error(org, action):
    with pytest.raises(CommandError, match="nobody"):
        run(*action)


def test_a_user_cannot_revoke_someone_elses_token(org):
    run("create", "am_hz")
    token = ApiToken.objects.get(user=org.users["am_hz"])
    with pytest.raises(CommandError):
        run("revoke", "am_nb", str(token.pk))
    token.refresh_from_db()
    assert token.revoked_at is None
