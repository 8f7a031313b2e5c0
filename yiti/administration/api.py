"""API of the administration: org units, users and memberships (mounted at /api/v1/org)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["organisation"])
