"""The /api/v1/docs page: Swagger UI served from Yiti's own static files, never from a CDN."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger


class OfflineSwagger(Swagger):
    """ninja's Swagger page, with Swagger UI from yiti/static/vendor/swagger-ui."""

    template = "api/docs.html"
    default_settings = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,  # the default badge calls validator.swagger.io
        "persistAuthorization": False,
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"swagger_settings": settings, "api": api}
        return render(request, self.template, context)
