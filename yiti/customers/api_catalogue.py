"""API of the product catalogue and orders (mounted at /api/v1: /products, /orders)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["products and orders"])
