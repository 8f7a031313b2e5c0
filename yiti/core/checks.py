"""Yiti's own deployment checks (``yiti check --deploy``), next to Django's security checks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_allowed_hosts(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A wildcard in YITI_ALLOWED_HOSTS turns off Host header validation."""
    if any(host == "*" or host.strip() == "*" for host in settings.ALLOWED_HOSTS):
        return [
            Warning(
                "YITI_ALLOWED_HOSTS contains '*': any Host header is accepted, which allows "
                "password-reset and link poisoning through forged Host headers.",
                hint="List the host names Yiti is served under, e.g. "
                "YITI_ALLOWED_HOSTS=yiti.example.cn,yiti.intranet.",
                id="yiti.W001",
            )
        ]
    return []
