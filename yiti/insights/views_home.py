"""The home page: the first page after sign-in, one section for each of the user's roles."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from yiti.insights.home import first_run_pending, home_for
from yiti.org.access import access_for
from yiti.org.roles import Perm


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """``/`` (URL name ``home``): sign-in for a visitor; the first-run checklist for an
    administrator while the company is not set up; else the user's home page."""
    if not request.user.is_authenticated:
        return redirect("login")
    if access_for(request.user).has(Perm.ORG_MANAGE) and first_run_pending():
        return redirect("administration:start")
    return home(request)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """What needs me now: counts that link to the filtered lists, per role."""
    return render(request, "insights/home.html", {"home": home_for(request.user)})
