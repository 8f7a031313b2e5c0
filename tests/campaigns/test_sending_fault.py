"""The fault test: a worker is killed (SIGKILL) in the middle of sending a wave of 10,000
e-mails to a real SMTP server on loopback; after the restart every customer has received
exactly one message.

Two real processes of ``yiti worker`` (django-tasks' database worker) send the wave; this test
process runs the SMTP server and plays the scheduler's part (``batches_recover``, which the
``campaigns.dispatch`` job runs every minute). "Exactly one message" is what the customer's
mailbox shows: messages are told apart by their Message-ID, as mail clients and archives do.
At most the one e-mail in flight at the moment of the kill can reach the server twice — the
worker had handed it to the server but had not yet recorded it — and it then carries the same
Message-ID; the test checks that this is the only repeat and that it is bounded by the
deliveries left "sending" by the killed worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.campaigns.conftest import first_wave, sign_all
from tests.smtp_server import SmtpServer
from yiti.campaigns import services
from yiti.campaigns.choices import DeliveryStatus
from yiti.campaigns.models import Delivery, SendBatch
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.sending import batches_recover, wave_start
from yiti.core.search import search_key
from yiti.customers.models import ConsentState, Customer
from yiti.engagement.models import Interaction

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = 10_000
KILL_AFTER = 2_500  # messages received before the first worker is killed
LEASE = 3  # seconds without a heartbeat before a batch is handed over


def _book(unit) -> None:
    now = timezone.now()
    Customer.objects.bulk_create(
        [
            Customer(
                name=f"客户{i:05d}",
                name_key=search_key(f"客户{i:05d}"),
                unit=unit,
                primary_email=f"c{i:05d}@example.com",
                since=now.date(),
            )
            for i in range(CUSTOMERS)
        ],
        batch_size=2000,
    )
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                customer_id=pk, channel="email", purpose="marketing", granted=True, since=now
            )
            for pk in Customer.objects.filter(name_key__startswith=search_key("客户0"))
            .filter(primary_email__startswith="c0")
            .exclude(consent_states__channel="email")
            .values_list("pk", flat=True)
        ],
        batch_size=2000,
    )


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _worker(smtp: SmtpServer, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "YITI_DATABASE_URL": _database_url(),
        "YITI_EMAIL_HOST": smtp.host,
        "YITI_EMAIL_PORT": str(smtp.port),
        "YITI_SEND_LEASE_SECONDS": str(LEASE),
        "YITI_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "yiti.cli", "worker", "--no-scheduler", "--interval", "0.2"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait(condition, *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise AssertionError(f"timed out waiting for {what}; the workers said:\n{tail}")
        time.sleep(0.05)


def test_a_killed_worker_leaves_every_customer_with_exactly_one_message(
    world, make_campaign, settings, tmp_path
):
    settings.YITI_SEND_LEASE_SECONDS = LEASE
    _book(world.org.hz)
    cm = world.org.users["cm"]
    campaign = make_campaign(channels=["email"], offers=[world.discount_offer])
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, world.org)
    services.campaign_launch(actor=cm, campaign=campaign)
    wave = first_wave(campaign)
    plan = wave_plan(actor=cm, wave=wave)
    expected = plan.planned
    assert expected >= CUSTOMERS
    log = tmp_path / "workers.log"

    with SmtpServer() as smtp:
        wave_start(wave=wave)  # 50+ batches, each a task in the database queue
        first = _worker(smtp, log)
        try:
            _wait(
                lambda: len(smtp.messages) >= KILL_AFTER,
                timeout=60,
                what="the first messages",
                log=log,
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        in_doubt = Delivery.objects.filter(wave=wave, status=DeliveryStatus.SENDING).count()
        received_at_kill = len(smtp.messages)
        assert received_at_kill < expected, "the worker finished before it could be killed"

        # the dispatch job notices the silent batch once its lease is over and hands it on
        time.sleep(LEASE + 0.5)
        assert batches_recover(), "no batch of the killed worker was recovered"
        second = _worker(smtp, log)
        try:
            _wait(
                lambda: (
                    not Delivery.objects.filter(
                        wave=wave, status__in=(DeliveryStatus.PLANNED, DeliveryStatus.SENDING)
                    ).exists()
                ),
                timeout=240,
                what="the rest of the wave",
                log=log,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(timeout=20)
            except subprocess.TimeoutExpired:
                second.kill()
        received = smtp.messages

    delivered = dict(
        Delivery.objects.filter(wave=wave, status=DeliveryStatus.DELIVERED).values_list(
            "pk", "customer__primary_email"
        )
    )
    assert len(delivered) == expected, log.read_text()[-3000:]
    # every customer's mailbox: exactly one message, the one of his delivery
    mailbox: dict[str, set[str]] = {}
    for message in received:
        mailbox.setdefault(message.rcpt_to[0], set()).add(message.message["Message-ID"])
    assert len(mailbox) == expected
    assert all(mailbox[email] == {f"<yiti-d{pk}@yiti>"} for pk, email in delivered.items())
    # the only repeats on the wire are the messages in flight when the worker was killed
    repeats = sum(n - 1 for n in Counter(m.message["Message-ID"] for m in received).values())
    assert repeats <= in_doubt <= 1
    # one timeline entry per delivery, every batch done
    assert Interaction.objects.filter(wave_id=wave.pk).count() == expected
    assert set(SendBatch.objects.filter(wave=wave).values_list("status", flat=True)) == {"done"}
    assert SendBatch.objects.filter(wave=wave, runs__gt=1).exists()
