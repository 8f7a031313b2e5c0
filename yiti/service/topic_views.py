"""The ticket's topic page: choose (or clear) the topic of a ticket from the catalogue."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from yiti.core.errors import ValidationFailed
from yiti.core.web import yiti_errors
from yiti.org.web import acting_user
from yiti.service import selectors
from yiti.service.models import Topic
from yiti.service.rules import require_work
from yiti.service.topics import ticket_topic_set, topics_for


class TicketTopicForm(forms.Form):
    topic = forms.ModelChoiceField(
        label=gettext_lazy("Topic"),
        queryset=Topic.objects.none(),
        required=False,
        empty_label=gettext_lazy("No topic"),
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def ticket_topic(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for(request.user, ticket_id)
    require_work(acting_user(request), ticket)
    form = TicketTopicForm(request.POST or None, initial={"topic": ticket.topic_id})
    form.fields["topic"].queryset = topics_for(ticket.kind, include=ticket.topic)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            ticket_topic_set(
                actor=acting_user(request), ticket=ticket, topic=form.cleaned_data["topic"]
            )
        except ValidationFailed as exc:
            form.add_error("topic", exc.message)
        else:
            messages.success(request, _("Topic saved."))
            return redirect("service:ticket", ticket.pk)
    return render(
        request,
        "service/ticket_topic.html",
        {"ticket": ticket, "form": form},
        status=422 if form.errors else 200,
    )
