from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

import yiti as yiti_pkg


def yiti(request: HttpRequest) -> dict[str, Any]:
    return {"YITI_VERSION": yiti_pkg.__version__, "YITI_MODE": settings.MODE}
