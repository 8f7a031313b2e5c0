"""API of accounting (thin: schemas in, a service or selector call, schemas out)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["accounting"])
