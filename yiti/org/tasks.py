"""Background jobs of the org app: the set-password e-mail, sent by the worker after commit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_tasks import task

from yiti.channels.base import OutboundMessage
from yiti.channels.choices import Channel
from yiti.channels.mail import EmailAdapter
from yiti.org.models import User

logger = logging.getLogger("yiti.org")


def password_link(user: User, base_url: str) -> str:
    """The set-password link: Django's password-reset token, valid until the password changes
    (or PASSWORD_RESET_TIMEOUT passes)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("org:password_set", kwargs={"uidb64": uid, "token": token})
    return f"{base_url.rstrip('/')}{path}"


@task()
def password_link_task(user_id: int, base_url: str) -> str:
    """Send the link; returns the channel's status (``sent``, ``failed``, ``rejected``) or
    ``skipped`` when the user is gone, inactive or has no e-mail."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return "skipped"
    link = password_link(user, base_url)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Choose your Yiti password")
        body = _(
            "Hello %(name)s,\n\nan account was set up for you in Yiti (username: %(username)s). "
            "Open this link to choose your password:\n\n%(link)s\n\n"
            "The link works once and expires in a few days."
        ) % {"name": user, "username": user.username, "link": link}
    result = EmailAdapter().send(
        OutboundMessage(
            channel=Channel.EMAIL,
            to=user.email,
            subject=subject,
            body=body,
            idempotency_key=f"pwlink-{user.pk}-{link.rsplit('/', 2)[-2]}",
        )
    )
    if result.status != "sent":
        logger.warning("set-password link for user %s not sent: %s", user.pk, result.error)
    return str(result.status)


@task()
def notifications_expire_task(slot: str | None = None) -> int:
    """Put away the notifications whose subject is done (``org.notices``); how many."""
    from yiti.org.notices import notifications_expire_all

    return notifications_expire_all()
