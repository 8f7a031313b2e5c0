"""htmx helpers: one view answers with the full page or the partial htmx asked for."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return (
        bool(htmx)
        and not getattr(htmx, "boosted", False)
        and not getattr(htmx, "history_restore_request", False)  # restoring a page: send it whole
    )


def render_page_or_partial(
    request: HttpRequest, page_template: str, partial_template: str, context: dict[str, Any]
) -> HttpResponse:
    response = render(request, partial_template if is_htmx(request) else page_template, context)
    patch_vary_headers(response, ["HX-Request"])  # a cached fragment never stands in for a page
    return response
