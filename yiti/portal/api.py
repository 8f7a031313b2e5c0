"""The portal API (/api/v1/portal/) for the mobile business hall, documented apart from staff."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Yiti portal API",
    version="1",
    urls_namespace="portal_api",
    auth=None,
)
