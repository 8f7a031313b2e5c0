"""Typed errors raised inside views become clear answers, never a 500."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from yiti.core.errors import Conflict, NotFound, PermissionDenied
from yiti.core.web import yiti_errors


def _request(*, htmx=False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    request = RequestFactory().get("/x/", **headers)
    request.htmx = HtmxDetails(request)
    return request


def _view_raising(error):
    @yiti_errors
    def view(request):
        raise error

    return view


def test_a_business_error_becomes_the_error_page_with_its_status(db):
    response = _view_raising(Conflict("Already merged."))(_request())
    assert response.status_code == 409
    assert "Already merged." in response.content.decode()


def test_not_found_and_permission_denied_use_django_404_and_403(db):
    with pytest.raises(Http404):
        _view_raising(NotFound("Customer not found."))(_request())
    with pytest.raises(DjangoPermissionDenied):
        _view_raising(PermissionDenied("No."))(_request())


def test_htmx_requests_get_an_alert_in_the_error_region(db):
    response = _view_raising(Conflict("Already merged."))(_request(htmx=True))
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#htmx-errors"
    assert '<div class="alert alert-error" role="alert">Already merged.</div>' in (
        response.content.decode()
    )


def test_views_that_succeed_are_untouched(db):
    view = yiti_errors(lambda request: HttpResponse("ok"))
    assert view(_request()).content == b"ok"


def test_403_page_is_yitis_own(org, as_user):
    response = as_user("am_hz").get("/audit/")
    assert response.status_code == 403
    assert "You do not have access to this page" in response.content.decode()
