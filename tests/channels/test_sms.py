"""SMS through a real HTTP gateway the test starts on loopback, or to a JSON-lines file."""

from __future__ import annotations

import json

import pytest

from tests.channels.conftest import SmsGateway
from yiti.channels.base import OutboundMessage
from yiti.channels.choices import SendStatus
from yiti.channels.registry import adapter_for
from yiti.channels.sms import FileSmsAdapter, SmsHttpAdapter


def _sms(key: str = "delivery-77", to: str = "+8613800138000") -> OutboundMessage:
    return OutboundMessage(
        channel="sms", to=to, body="【一体】您的积分礼品已到账", idempotency_key=key
    )


def test_a_2xx_answer_is_sent_with_the_gateways_id(sms_gateway):
    result = adapter_for("sms").send(_sms())

    assert result.status == SendStatus.SENT and result.provider_id == "gw-1"
    [request] = sms_gateway.requests
    assert request.payload == {
        "to": "+8613800138000",
        "text": "【一体】您的积分礼品已到账",
        "idempotency_key": "delivery-77",
    }
    assert request.headers["Idempotency-Key"] == "delivery-77"
    assert request.headers["Authorization"] == "Bearer gw-token"


def test_the_same_key_twice_reaches_the_gateway_twice_but_sends_one_sms(sms_gateway):
    adapter = adapter_for("sms")

    first, retry = adapter.send(_sms("wave-2-cust-5")), adapter.send(_sms("wave-2-cust-5"))

    assert len(sms_gateway.requests) == 2
    assert [r.headers["Idempotency-Key"] for r in sms_gateway.requests] == ["wave-2-cust-5"] * 2
    assert list(sms_gateway.sent) == ["wave-2-cust-5"]
    assert first == retry and first.provider_id == "gw-1"


@pytest.mark.parametrize("status", [400, 422])
def test_a_4xx_answer_is_rejected_and_not_retryable(sms_gateway, status):
    sms_gateway.status = status

    result = adapter_for("sms").send(_sms())

    assert result.status == SendStatus.REJECTED and not result.retryable
    assert str(status) in result.error
    assert sms_gateway.sent == {}


def test_a_wrong_token_is_rejected(sms_gateway, settings):
    settings.YITI_SMS_GATEWAY_TOKEN = "stale"

    result = adapter_for("sms").send(_sms())

    assert result.status == SendStatus.REJECTED and "401" in result.error


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_5xx_or_throttling_answer_fails_and_a_retry_sends_once(sms_gateway, status):
    sms_gateway.status = status
    adapter = adapter_for("sms")

    failed = adapter.send(_sms("delivery-3"))
    sms_gateway.status = 200
    retried = adapter.send(_sms("delivery-3"))

    assert failed.status == SendStatus.FAILED and failed.retryable
    assert retried.status == SendStatus.SENT
    assert len(sms_gateway.requests) == 2 and list(sms_gateway.sent) == ["delivery-3"]


def test_a_gateway_slower_than_the_timeout_is_a_retryable_failure(sms_gateway):
    sms_gateway.delay = 1.0
    adapter = SmsHttpAdapter(url=sms_gateway.url, token=sms_gateway.token, timeout=0.2)

    result = adapter.send(_sms())

    assert result.status == SendStatus.FAILED and result.retryable
    assert len(sms_gateway.requests) == 1


def test_an_unreachable_gateway_is_a_retryable_failure():
    with SmsGateway() as gateway:
        url = gateway.url

    result = SmsHttpAdapter(url=url, token="t", timeout=1).send(_sms())

    assert result.status == SendStatus.FAILED and "unreachable" in result.error


def test_without_a_gateway_each_sms_is_one_json_line_in_the_outbox(settings, tmp_path):
    settings.YITI_SMS_BACKEND = "file"
    settings.YITI_SMS_FILE_PATH = tmp_path / "outbox" / "sms.jsonl"
    adapter = adapter_for("sms")
    assert isinstance(adapter, FileSmsAdapter)

    first = adapter.send(_sms("delivery-1", to="+8613800138001"))
    second = adapter.send(_sms("delivery-2", to="+8613800138002"))

    assert first.status == second.status == SendStatus.SENT
    lines = (tmp_path / "outbox" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [(r["to"], r["idempotency_key"]) for r in rows] == [
        ("+8613800138001", "delivery-1"),
        ("+8613800138002", "delivery-2"),
    ]
    assert rows[0]["text"] == "【一体】您的积分礼品已到账"


def test_only_an_http_gateway_url_is_accepted():
    with pytest.raises(ValueError):
        SmsHttpAdapter(url="file:///etc/passwd")
