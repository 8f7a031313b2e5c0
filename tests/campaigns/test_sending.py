"""Sending a wave in batches over the real channels (a loopback SMTP server and SMS gateway the
tests start): each message once, with its idempotency key; a re-run sends nothing twice; the
message in doubt after a crash goes again with the same key; consent and complaints are
checked again at send time; a paused campaign stops; every message lands on the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.campaigns.conftest import consent, first_wave
from yiti.campaigns import services
from yiti.campaigns.choices import DeliveryStatus, WaveStatus
from yiti.campaigns.models import Delivery, SendBatch
from yiti.campaigns.sending import batch_send, batches_recover, wave_start, waves_due
from yiti.channels.models import InboxMessage
from yiti.engagement.models import Interaction
from yiti.engagement.services import suppression_set

pytestmark = pytest.mark.django_db


def message_ids(smtp) -> list[str]:
    return [m.message["Message-ID"] for m in smtp.messages]


def send_all(wave) -> list:
    return [batch_send(b.pk) for b in SendBatch.objects.filter(wave=wave).order_by("number")]


def test_a_wave_goes_out_in_batches_once_each_and_lands_on_the_timeline(
    world, running, smtp_server, settings
):
    settings.YITI_SEND_BATCH_SIZE = 2
    campaign = running()
    wave = first_wave(campaign)

    batches = wave_start(wave=wave)
    results = send_all(wave)

    assert [b.size for b in batches] == [2, 2, 1]
    assert sum(r.sent for r in results) == 5
    deliveries = list(Delivery.objects.filter(wave=wave, status=DeliveryStatus.DELIVERED))
    assert len(deliveries) == 5
    assert sorted(message_ids(smtp_server)) == sorted(f"<yiti-d{d.pk}@yiti>" for d in deliveries)
    first = next(m for m in smtp_server.messages if m.rcpt_to == ["c0@example.com"])
    assert first.subject == "客户0，宽带升级好礼"
    assert "客户0您好：办理宽带300M包年送千兆路由器。" in first.body and "/c/" in first.body
    on_timeline = Interaction.objects.filter(campaign_id=campaign.pk, wave_id=wave.pk)
    assert on_timeline.count() == 5
    assert set(on_timeline.values_list("channel", "direction", "purpose")) == {
        ("email", "out", "marketing")
    }
    world.customers[0].refresh_from_db()
    assert world.customers[0].last_contact_at is not None
    wave.refresh_from_db()
    assert wave.status == WaveStatus.DONE


def test_a_batch_run_again_sends_nothing_twice(running, smtp_server):
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)
    send_all(wave)
    assert len(smtp_server.messages) == 5

    # a worker crashed after sending but before marking the batch done: the batch runs again
    SendBatch.objects.filter(wave=wave).update(status="pending")
    again = send_all(wave)

    assert sum(r.sent for r in again) == 0
    assert len(smtp_server.messages) == 5
    assert Interaction.objects.filter(wave_id=wave.pk).count() == 5


def test_the_message_in_doubt_after_a_crash_goes_again_with_the_same_key(running, smtp_server):
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)
    # the worker marked one delivery "sending", then died before it knew the outcome
    in_doubt = Delivery.objects.filter(wave=wave, status="planned").order_by("pk").first()
    Delivery.objects.filter(pk=in_doubt.pk).update(status=DeliveryStatus.SENDING, attempts=1)
    SendBatch.objects.filter(wave=wave).update(
        status="running", heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    [result] = send_all(wave)

    assert result.sent == 5 and result.resent_in_doubt == 1
    assert message_ids(smtp_server).count(f"<yiti-d{in_doubt.pk}@yiti>") == 1
    in_doubt.refresh_from_db()
    assert in_doubt.status == DeliveryStatus.DELIVERED and in_doubt.attempts == 2


def test_a_live_batch_of_another_worker_is_not_taken_over(running, smtp_server):
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)
    SendBatch.objects.filter(wave=wave).update(
        status="running", claimed_by="other", heartbeat_at=timezone.now()
    )

    [result] = send_all(wave)

    assert result.status == "skipped" and smtp_server.messages == []


def test_consent_withdrawn_or_a_complaint_since_planning_excludes_at_send_time(
    world, running, smtp_server
):
    campaign = running()
    wave = first_wave(campaign)
    c0, c1 = world.customers[0], world.customers[1]
    consent(c0, "email", granted=False)  # the customer turned marketing e-mail off in the portal
    suppression_set(
        actor=None, customer=c1, reason="open_complaint", source_type="ticket", source_id=9
    )
    wave_start(wave=wave)

    [result] = send_all(wave)

    assert result.sent == 3 and result.excluded == 2
    assert {m.rcpt_to[0] for m in smtp_server.messages} == {
        "c2@example.com",
        "c3@example.com",
        "c4@example.com",
    }
    reasons = dict(
        Delivery.objects.filter(wave=wave, customer__in=[c0, c1]).values_list(
            "customer_id", "reason"
        )
    )
    assert reasons == {c0.pk: "opted_out", c1.pk: "suppressed:open_complaint"}


def test_a_paused_campaign_stops_sending_and_resumes_where_it_stopped(world, running, smtp_server):
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)
    services.campaign_pause(actor=world.org.users["cm"], campaign=campaign, reason="赠品缺货")

    [paused] = send_all(wave)

    assert paused.status == "paused" and smtp_server.messages == []
    assert SendBatch.objects.get(wave=wave).status == "pending"
    services.campaign_resume(actor=world.org.users["cm"], campaign=campaign)
    [resumed] = send_all(wave)
    assert resumed.sent == 5


def test_an_unreachable_smtp_server_is_retried_then_recorded_as_failed(running, settings):
    from tests.smtp_server import SmtpServer

    with SmtpServer() as smtp:  # a port nobody listens on once the server stops
        host, port = smtp.host, smtp.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = host, port, 1
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)

    for attempt in range(1, 4):
        [result] = send_all(wave)
        assert result.retry == (attempt < 3)

    assert set(
        Delivery.objects.filter(wave=wave, status__in=["failed"]).values_list("attempts", flat=True)
    ) == {3}
    assert Delivery.objects.filter(wave=wave, status="failed").count() == 5
    assert (
        "ConnectionRefusedError"
        in Delivery.objects.filter(wave=wave, status="failed").first().error
    )


def test_sms_through_the_gateway_and_portal_messages_in_the_inbox(world, running, sms_gateway):
    campaign = running(channels=["sms"])
    wave = first_wave(campaign)
    wave_start(wave=wave)
    send_all(wave)

    assert len(sms_gateway.sent) == 5
    keys = {r.headers["Idempotency-Key"] for r in sms_gateway.requests}
    assert keys == {
        f"yiti-d{d}"
        for d in Delivery.objects.filter(wave=wave)
        .exclude(status="excluded")
        .values_list("pk", flat=True)
    }
    assert (
        Delivery.objects.filter(wave=wave, status=DeliveryStatus.SENT).count() == 5
    )  # sent, no receipt yet

    portal = running(code="portal", channels=["portal"], offers=[world.discount_offer])
    wave = first_wave(portal)
    wave_start(wave=wave)
    send_all(wave)
    # the portal inbox needs no marketing opt-in: all eight customers get the message
    delivered = Delivery.objects.filter(wave=wave, status=DeliveryStatus.DELIVERED)
    assert delivered.count() == 8
    assert set(InboxMessage.objects.values_list("idempotency_key", flat=True)) == {
        f"yiti-d{pk}" for pk in delivered.values_list("pk", flat=True)
    }


def test_due_waves_start_and_stale_batches_are_handed_to_a_new_task(world, running, settings):
    settings.YITI_SEND_LEASE_SECONDS = 60
    campaign = running(start_in=5, wave_in=5)
    wave = first_wave(campaign)

    assert waves_due(now=timezone.now())["started"] == 0  # not due yet
    assert waves_due(now=wave.scheduled_at + timedelta(minutes=1))["started"] == 1
    wave.refresh_from_db()
    assert wave.status == WaveStatus.SENDING
    batch = SendBatch.objects.get(wave=wave)
    SendBatch.objects.filter(pk=batch.pk).update(
        status="running",
        claimed_by="dead-worker",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    before = DBTaskResult.objects.filter(task_path__endswith="send_batch_task").count()

    assert batches_recover() == [batch.pk]
    assert DBTaskResult.objects.filter(task_path__endswith="send_batch_task").count() == before + 1
    # and the recovered batch is not enqueued again while its new task has not started
    assert batches_recover() == []
