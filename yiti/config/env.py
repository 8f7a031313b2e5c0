"""Reading configuration from the environment.

Every setting Yiti needs comes from a ``YITI_*`` variable; the embedded mode has
safe defaults, production mode refuses to start without what it needs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    path = Path(env_str("YITI_DATA_DIR", str(Path.cwd() / "var"))).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(*, production: bool, directory: Path) -> str:
    """The secret key from YITI_SECRET_KEY; in embedded mode one kept in the data directory."""
    key = env_str("YITI_SECRET_KEY")
    if key:
        if production and len(key) < 50:
            raise ImproperlyConfigured(
                "YITI_SECRET_KEY must be at least 50 characters in production"
            )
        return key
    if production:
        raise ImproperlyConfigured(
            "YITI_SECRET_KEY is required when YITI_MODE=production "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))')"
        )
    key_file = directory / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(64)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key
