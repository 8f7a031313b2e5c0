"""API of import jobs (mounted at /api/v1/imports)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["imports"])
