"""Web push and the portal inbox are stored internally, once per idempotency key."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from yiti.channels.base import ChannelAdapter, OutboundMessage
from yiti.channels.choices import SendStatus
from yiti.channels.inbox import InboxAdapter
from yiti.channels.mail import EmailAdapter
from yiti.channels.models import InboxMessage
from yiti.channels.registry import adapter_for
from yiti.channels.sms import SmsHttpAdapter


def _note(key: str = "delivery-5", to: str = "1042", channel: str = "inbox") -> OutboundMessage:
    return OutboundMessage(
        channel=channel,
        to=to,
        subject="保单续期提醒",
        body="您的保单将于下月到期。",
        idempotency_key=key,
        metadata={"wave": 3},
    )


@pytest.mark.django_db
def test_a_second_send_with_the_same_key_returns_the_same_row(django_assert_max_num_queries):
    adapter = adapter_for("inbox")

    first = adapter.send(_note())
    with django_assert_max_num_queries(1):
        again = adapter.send(_note())

    assert first.status == SendStatus.SENT and again == first
    [row] = InboxMessage.objects.all()
    assert first.provider_id == f"inbox:{row.pk}"
    assert (row.customer_id, row.channel, row.subject) == (1042, "inbox", "保单续期提醒")
    assert row.metadata == {"wave": 3} and row.read_at is None


@pytest.mark.django_db
def test_web_push_is_stored_as_a_push_message():
    result = adapter_for("push").send(_note("push-1", channel="push"))

    assert result.status == SendStatus.SENT
    assert InboxMessage.objects.get(idempotency_key="push-1").channel == "push"


@pytest.mark.django_db
def test_a_key_reused_for_another_customer_or_a_bad_customer_id_is_rejected():
    adapter = InboxAdapter()
    adapter.send(_note("k-1", to="1"))

    assert adapter.send(_note("k-1", to="2")).status == SendStatus.REJECTED
    assert adapter.send(_note("k-2", to="wang@example.com")).status == SendStatus.REJECTED
    assert InboxMessage.objects.count() == 1


def test_every_channel_has_an_adapter_behind_the_one_interface(settings):
    settings.YITI_SMS_BACKEND, settings.YITI_SMS_GATEWAY_URL = "http", "http://127.0.0.1:9/"

    adapters = {channel: adapter_for(channel) for channel in ("email", "sms", "push", "inbox")}

    assert all(isinstance(a, ChannelAdapter) for a in adapters.values())
    assert isinstance(adapters["email"], EmailAdapter)
    assert isinstance(adapters["sms"], SmsHttpAdapter)
    assert isinstance(adapters["push"], InboxAdapter) and isinstance(
        adapters["inbox"], InboxAdapter
    )
    with pytest.raises(ValueError):
        adapter_for("fax")


def test_an_http_sms_backend_without_a_url_is_a_configuration_error(settings):
    settings.YITI_SMS_BACKEND, settings.YITI_SMS_GATEWAY_URL = "http", ""

    with pytest.raises(ImproperlyConfigured):
        adapter_for("sms")


@pytest.mark.parametrize("key", ["", "has space", "a<b>", "x" * 201])
def test_a_message_needs_an_idempotency_key_usable_in_a_message_id(key):
    with pytest.raises(ValueError):
        _note(key)
