"""The /api/v1 router: mounts each app's endpoints, sets up auth, errors and idempotency.

OpenAPI is at /api/v1/openapi.json and the docs page at /api/v1/docs (Swagger UI from
Yiti's own static files). Every answer is JSON, including unknown paths and wrong methods.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, re_path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from yiti.accounting.api import router as accounting_router
from yiti.administration.api import router as administration_router
from yiti.api import errors
from yiti.api.auth import API_AUTH
from yiti.api.docs import OfflineSwagger
from yiti.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from yiti.api.idempotency import idempotent
from yiti.attribution.api import router as attribution_router
from yiti.campaigns.api import router as campaigns_router
from yiti.care.api import router as care_router
from yiti.care.reports.api import router as reports_router
from yiti.customers.api import router as customers_router
from yiti.customers.api_catalogue import router as catalogue_router
from yiti.customers.api_imports import router as imports_router
from yiti.decisions.api import router as value_router
from yiti.engagement.api import router as engagement_router
from yiti.insights.api import router as insights_router
from yiti.org.api import router as org_router
from yiti.quality.api import router as quality_router
from yiti.service.api import router as service_router
from yiti.service.dispatch.api import router as dispatch_router

DESCRIPTION = """
Yiti's REST API. Authenticate with `Authorization: Bearer <token>` (make one with
`yiti token create USERNAME`) or, from a signed-in browser, with the session cookie plus the
`X-CSRFToken` header on writes.

Every error is JSON `{"code", "message", "field"}` with a 4xx status. Lists are paginated with
`page` and `page_size` (at most 200) and answer `has_next` instead of a total count. POST
requests accept an `Idempotency-Key` header: a retry with the same key and body returns the
first answer without writing again (for 24 hours).
"""


def _has_nul(request: HttpRequest) -> bool:
    """A NUL in the query, the path or the body (raw or as the JSON escape \\u0000)."""
    if "\x00" in request.path or any("\x00" in v for v in request.GET.values()):
        return True
    if request.method in ("POST", "PUT", "PATCH") and request.content_type == "application/json":
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
    return False


def _json_errors_outside_operations(view: Callable[..., Any]) -> Callable[..., Any]:
    """ninja answers a wrong method with plain text and a missing page with HTML: make them JSON."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _has_nul(request):
            return errors.json_error(
                "nul_character",
                _("The request contains a NUL character (\\u0000), which no text may hold."),
                status=422,
            )
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return errors.json_error("not_found", _("Not found."), status=404)
        except OverflowError:  # a number past what the database stores, in any parameter
            return errors.json_error(
                "out_of_range", _("A number in the request is out of range."), status=422
            )
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = errors.json_error(
                "method_not_allowed",
                _("Method %(method)s is not allowed here; use %(allowed)s.")
                % {"method": request.method, "allowed": allowed},
                status=405,
            )
            response["Allow"] = allowed
        return response

    return wrapper


@csrf_exempt
def _unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return errors.json_error(
        "not_found", _("There is no API endpoint at this address."), status=404
    )


class YitiAPI(NinjaAPI):
    def _get_urls(self) -> list[Any]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":
                pattern.callback = csrf_exempt(functools.partial(_root, api=self))
            else:
                pattern.callback = _json_errors_outside_operations(pattern.callback)
        patterns.append(re_path(r"^[\s\S]*$", _unknown_path, name="unknown"))
        return patterns

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Document what every operation shares: the error body and the idempotency header."""
        schema = super().get_openapi_schema(**kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = errors.ErrorOut.model_json_schema()
        error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                operation.setdefault("responses", {}).setdefault(
                    "4XX", {"description": "Error", "content": error_ref}
                )
                if method == "post":
                    operation.setdefault("parameters", []).append(
                        {
                            "in": "header",
                            "name": IDEMPOTENCY_HEADER,
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                            "description": "Retry-safe writes: the same key and body replay "
                            "the first answer for 24 hours.",
                        }
                    )
        return schema


def _root(request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
    return JsonResponse(
        {
            "name": api.title,
            "version": api.version,
            "docs": reverse(f"{api.urls_namespace}:openapi-view"),
            "openapi": reverse(f"{api.urls_namespace}:openapi-json"),
        }
    )


api = YitiAPI(
    title="Yiti API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=API_AUTH,
    docs=OfflineSwagger(),
)
errors.install(api)
api.add_decorator(idempotent)
api.add_router("", org_router)
api.add_router("/customers", customers_router)
api.add_router("", engagement_router)
api.add_router("/service", service_router)
api.add_router("", dispatch_router)
api.add_router("/care", care_router)
api.add_router("/reports", reports_router)
api.add_router("/campaigns", campaigns_router)
api.add_router("", value_router)
api.add_router("/org", administration_router)
api.add_router("", catalogue_router)
api.add_router("/imports", imports_router)
api.add_router("/insights", insights_router)
api.add_router("/quality", quality_router)
api.add_router("/attribution", attribution_router)
api.add_router("/accounting", accounting_router)
