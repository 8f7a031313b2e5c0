"""E-mail goes out over real SMTP (a loopback server the test starts) and carries its key."""

from __future__ import annotations

from tests.smtp_server import SmtpServer
from yiti.channels.base import OutboundMessage
from yiti.channels.choices import SendStatus
from yiti.channels.mail import EmailAdapter
from yiti.channels.registry import adapter_for


def _mail(key: str = "delivery-41", to: str = "wang@example.com") -> OutboundMessage:
    return OutboundMessage(
        channel="email",
        to=to,
        subject="您的专属理财礼遇",
        body="王先生您好，本月起可预约……",
        idempotency_key=key,
    )


def test_email_arrives_at_the_smtp_server_with_subject_body_and_message_id(smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "marketing@yiti.example"

    result = adapter_for("email").send(_mail())

    assert result.status == SendStatus.SENT and result.provider_id == "<delivery-41@yiti>"
    [received] = smtp_server.messages
    assert received.mail_from == "marketing@yiti.example"
    assert received.rcpt_to == ["wang@example.com"]
    assert received.subject == "您的专属理财礼遇"
    assert received.body.strip() == "王先生您好，本月起可预约……"
    assert received.message["Message-ID"] == "<delivery-41@yiti>"


def test_a_resend_with_the_same_key_is_recognisable_by_its_message_id(smtp_server):
    adapter = adapter_for("email")

    first, again = adapter.send(_mail("wave-3-cust-7")), adapter.send(_mail("wave-3-cust-7"))
    other = adapter.send(_mail("wave-3-cust-8"))

    assert first == again and first.provider_id != other.provider_id
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert ids == ["<wave-3-cust-7@yiti>", "<wave-3-cust-7@yiti>", "<wave-3-cust-8@yiti>"]


def test_an_unreachable_smtp_server_is_a_retryable_failure(settings):
    with SmtpServer() as smtp:
        host, port = smtp.host, smtp.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = host, port, 2

    result = EmailAdapter().send(_mail())

    assert result.status == SendStatus.FAILED and result.retryable
    assert result.error


def test_an_address_without_at_sign_is_rejected_without_connecting(smtp_server):
    result = EmailAdapter().send(_mail(to="not-an-address"))

    assert result.status == SendStatus.REJECTED and not result.retryable
    assert smtp_server.messages == []


def test_the_embedded_default_writes_the_message_to_a_file(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path

    result = adapter_for("email").send(_mail("delivery-9"))

    assert result.status == SendStatus.SENT
    [written] = list(tmp_path.iterdir())
    text = written.read_text()
    assert "Message-ID: <delivery-9@yiti>" in text and "To: wang@example.com" in text
