"""The daily digest of notifications (issue 14 item 4): a user who opts in gets one e-mail each
morning listing, by kind, what still waits for him — notifications whose ticket, campaign or
care call is done are put away first (``org.notices``), and nothing is sent when nothing waits.

The e-mail goes through the outbox (``channels.outbox``), queued in the transaction and sent
by the worker with retries; its idempotency key is the user and the day, so a second run of
the same morning sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from yiti.channels.choices import Channel
from yiti.channels.outbox import outbox_enqueue
from yiti.core.audit import audit_record
from yiti.core.panels import register_panel
from yiti.customers.models import DigestSubscription
from yiti.org.models import User
from yiti.org.notices import kinds_of, notifications_expire, notifications_filtered

TITLES_PER_KIND = 5


def render_digest_toggle(request: HttpRequest, user: Any) -> str:
    """The "daily digest" switch on the notifications page (slot ``notifications``)."""
    return render_to_string(
        "customers/_digest_toggle.html", {"digest_on": digest_is_on(user)}, request=request
    )


def register() -> None:
    register_panel("notifications", "digest", render_digest_toggle, order=10)


def digest_is_on(user: Any) -> bool:
    if user is None or not getattr(user, "pk", None):
        return False
    return DigestSubscription.objects.filter(user_id=user.pk, active=True).exists()


@transaction.atomic
def digest_subscribe(*, actor: User, daily: bool) -> DigestSubscription:
    """Turn the actor's daily digest on or off (audited)."""
    row, _created = DigestSubscription.objects.get_or_create(user=actor, defaults={"active": daily})
    if row.active != daily:
        row.active = daily
        row.save(update_fields=["active", "updated_at"])
    audit_record(actor=actor, action="notifications.digest", obj=row, changes={"daily": daily})
    return row


def _body(user: User) -> tuple[str, int]:
    lines: list[str] = []
    total = 0
    for kind in kinds_of(user):
        if not kind.unread:
            continue
        total += kind.unread
        lines.append(f"{kind.label}: {kind.unread}")
        for n in notifications_filtered(user, kind=kind.kind)[:TITLES_PER_KIND]:
            lines.append(f"  · {n.title}")
    return "\n".join(lines), total


def digests_send(*, now: datetime | None = None) -> int:
    """Queue today's digest for every subscriber who has unread notifications; how many."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    due = DigestSubscription.objects.filter(active=True, user__is_active=True).select_related(
        "user"
    )
    for row in due.exclude(last_sent_on=today):
        user = row.user
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            notifications_expire(user=user)
            body, total = _body(user)
            if total and user.email:
                subject = _("Daily digest: %(n)s notifications wait for you") % {"n": total}
                link = reverse("org:notifications")
                outbox_enqueue(
                    channel=Channel.EMAIL,
                    to=user.email,
                    subject=subject[:200],
                    body=f"{body}\n\n{link}",
                    idempotency_key=f"digest-{user.pk}-{today.isoformat()}",
                    kind="org.digest",
                    metadata={"user_id": user.pk, "unread": total},
                )
                sent += 1
            row.last_sent_on = today
            row.save(update_fields=["last_sent_on", "updated_at"])
    return sent


@task()
def digests_send_task(slot: str | None = None) -> dict[str, Any]:
    """The scheduled morning run (see ``apps.py``)."""
    return {"sent": digests_send()}
