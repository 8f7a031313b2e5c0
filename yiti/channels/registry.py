"""``adapter_for(channel)``: the adapter the settings choose for a channel."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from yiti.channels.base import ChannelAdapter
from yiti.channels.choices import Channel
from yiti.channels.inbox import InboxAdapter
from yiti.channels.mail import EmailAdapter
from yiti.channels.sms import FileSmsAdapter, SmsHttpAdapter


def adapter_for(channel: str) -> ChannelAdapter:
    """E-mail uses ``EMAIL_BACKEND``; SMS ``YITI_SMS_BACKEND`` ("http" or "file");
    web push and the portal inbox are stored internally."""
    channel = Channel(channel)
    if channel == Channel.EMAIL:
        return EmailAdapter()
    if channel == Channel.SMS:
        return _sms_adapter()
    return InboxAdapter()


def _sms_adapter() -> ChannelAdapter:
    backend = settings.YITI_SMS_BACKEND
    if backend == "http":
        if not settings.YITI_SMS_GATEWAY_URL:
            raise ImproperlyConfigured("YITI_SMS_BACKEND=http needs YITI_SMS_GATEWAY_URL")
        return SmsHttpAdapter(
            url=settings.YITI_SMS_GATEWAY_URL,
            token=settings.YITI_SMS_GATEWAY_TOKEN,
            timeout=settings.YITI_SMS_TIMEOUT,
        )
    if backend == "file":
        return FileSmsAdapter(path=Path(settings.YITI_SMS_FILE_PATH))
    raise ImproperlyConfigured(f"YITI_SMS_BACKEND must be 'http' or 'file', got {backend!r}")
