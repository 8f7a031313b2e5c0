"""Project-level guarantees: migrations complete, deployment checks clean, settings fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from yiti.core.errors import ValidationFailed


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def _yiti(args, env_extra, tmp_path):
    # a clean environment: no YITI_* of the test run, and not the browser tests' async override
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("YITI_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update({"YITI_DATA_DIR": str(tmp_path)}, **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "yiti.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _yiti(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "YITI_MODE": "production",
            "YITI_SECRET_KEY": "k" * 20 + "Zx9#-" * 10,
            "YITI_ALLOWED_HOSTS": "yiti.example.cn",
            "YITI_DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_wildcard_allowed_host(tmp_path):
    result = _yiti(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "YITI_MODE": "production",
            "YITI_SECRET_KEY": "k" * 20 + "Zx9#-" * 10,
            "YITI_ALLOWED_HOSTS": "yiti.example.cn,*",
            "YITI_DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
        },
        tmp_path,
    )
    assert result.returncode != 0
    assert "yiti.W001" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret(tmp_path):
    result = _yiti(["check"], {"YITI_MODE": "production", "YITI_ALLOWED_HOSTS": "x"}, tmp_path)
    assert result.returncode != 0
    assert "YITI_SECRET_KEY is required" in result.stderr


def test_embedded_mode_keeps_a_generated_secret_in_the_data_dir(tmp_path):
    assert _yiti(["check"], {}, tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert _yiti(["check"], {}, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_typed_errors_carry_code_message_and_field():
    err = ValidationFailed("bad phone", code="invalid_phone", field="phone")
    assert err.as_dict() == {"code": "invalid_phone", "message": "bad phone", "field": "phone"}
    assert err.status == 422
