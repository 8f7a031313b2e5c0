"""API of insights (thin: schemas in, a service or selector call, schemas out)."""

from __future__ import annotations

from ninja import Router

from yiti.insights.cockpit_api import router as cockpit_router
from yiti.insights.home_api import router as home_router

router = Router(tags=["insights"])
router.add_router("", cockpit_router)
router.add_router("", home_router)
