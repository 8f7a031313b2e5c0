"""The handover report: per bulk reassignment, how the sampled customers rate their new
account manager (seed 002, scenario 3)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yiti.care.handover import handover_reports
from yiti.care.rules import can_use_care
from yiti.core.web import yiti_errors
from yiti.org.access import access_for


@login_required
@yiti_errors
@require_GET
def handover_list(request: HttpRequest) -> HttpResponse:
    """The latest bulk reassignments with their handover calls and ratings."""
    if not can_use_care(access_for(request.user)):
        raise DjangoPermissionDenied(_("The handover report is for care and its managers."))
    return render(request, "care/handovers.html", {"reports": handover_reports()})
