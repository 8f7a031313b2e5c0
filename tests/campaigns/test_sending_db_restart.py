"""The kill test's sibling: the database goes away in the middle of a wave's sending
(issue 18 item 21). On PostgreSQL only: the backends of the workers are terminated while
they wait for work, then twice while they send (``pg_terminate_backend`` on the test database — what a restart does to
their connections, without stopping a server other databases share). The workers reconnect
(``yiti worker`` runs db_worker again after a lost connection), the batches whose task died
with the connection are handed on when their lease ends (``batches_recover``, the dispatch
job's part, played by this test), and every customer ends with exactly one message: the
only repeats on the wire are messages in flight at a termination, with the same Message-ID.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from tests.campaigns.conftest import first_wave, sign_all
from tests.campaigns.test_sending_fault import LEASE, _wait, _worker
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

CUSTOMERS = 4_000
CUTS = (800, 2_000)  # messages received when the workers' connections are cut


def _book(unit) -> None:
    now = timezone.now()
    customers = Customer.objects.bulk_create(
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
                customer_id=c.pk, channel="email", purpose="marketing", granted=True, since=now
            )
            for c in customers
        ],
        batch_size=2000,
    )


def _terminate_other_backends() -> int:
    """End every other connection to the test database (the workers'), keep this one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def _other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def _open() -> bool:
    return Delivery.objects.filter(
        status__in=(DeliveryStatus.PLANNED, DeliveryStatus.SENDING)
    ).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL restart")
def test_workers_reconnect_after_the_database_drops_them_and_every_customer_gets_one_message(
    world, make_campaign, settings, tmp_path, monkeypatch
):
    settings.YITI_SEND_LEASE_SECONDS = LEASE
    # the workers keep their connections between polls, as in production (CONN_MAX_AGE 60 s)
    monkeypatch.setenv("YITI_DB_CONN_MAX_AGE", "60")
    _book(world.org.hz)
    cm = world.org.users["cm"]
    campaign = make_campaign(channels=["email"], offers=[world.discount_offer])
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, world.org)
    services.campaign_launch(actor=cm, campaign=campaign)
    wave = first_wave(campaign)
    expected = wave_plan(actor=cm, wave=wave).planned
    assert expected >= CUSTOMERS
    log = tmp_path / "workers.log"

    with SmtpServer() as smtp:
        workers = [_worker(smtp, log), _worker(smtp, log)]
        in_doubt = 0
        try:
            # the database drops the idle workers' connections before the wave starts ...
            _wait(lambda: _other_backends() >= len(workers), timeout=60, what="workers", log=log)
            time.sleep(1)
            _terminate_other_backends()
            wave_start(wave=wave)
            # ... and twice while they send
            for cut in CUTS:
                _wait(
                    lambda cut=cut: len(smtp.messages) >= cut,
                    timeout=120,
                    what=f"{cut} messages",
                    log=log,
                )
                in_doubt += Delivery.objects.filter(
                    wave=wave, status=DeliveryStatus.SENDING
                ).count()
                assert _terminate_other_backends() >= len(workers)
                assert len(smtp.messages) < expected, "the wave ended before the cut"
            # the scheduler's part: hand on the batches whose task died with its connection
            deadline = time.monotonic() + 300
            while _open():
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(LEASE + 0.5)
                batches_recover()
            # the workers are still running: they reconnected rather than died
            assert all(w.poll() is None for w in workers), log.read_text(errors="replace")[-3000:]
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                try:
                    w.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    w.kill()
        received = smtp.messages

    assert "reconnecting" in log.read_text(errors="replace")
    delivered = dict(
        Delivery.objects.filter(wave=wave, status=DeliveryStatus.DELIVERED).values_list(
            "pk", "customer__primary_email"
        )
    )
    assert len(delivered) == expected
    mailbox: dict[str, set[str]] = {}
    for message in received:
        mailbox.setdefault(message.rcpt_to[0], set()).add(message.message["Message-ID"])
    assert len(mailbox) == expected
    assert all(mailbox[email] == {f"<yiti-d{pk}@yiti>"} for pk, email in delivered.items())
    repeats = sum(n - 1 for n in Counter(m.message["Message-ID"] for m in received).values())
    assert repeats <= in_doubt + len(workers) * len(CUTS)
    assert Interaction.objects.filter(wave_id=wave.pk).count() == expected
    assert set(SendBatch.objects.filter(wave=wave).values_list("status", flat=True)) == {"done"}


def test_the_worker_runs_again_after_a_lost_connection_and_stops_when_it_ends(monkeypatch):
    """On either database: ``yiti worker`` survives db_worker dying of a lost connection."""
    from django.core.management import call_command as run_command
    from django.db import InterfaceError, OperationalError

    from yiti.demo.management.commands import worker

    runs: list[tuple[str, ...]] = []
    outcomes = [OperationalError("terminating connection"), InterfaceError("closed"), None]

    def fake_db_worker(name: str, *argv: str, **kwargs: object) -> None:
        runs.append(argv)
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    slept: list[float] = []
    monkeypatch.setattr(worker, "call_command", fake_db_worker)
    monkeypatch.setattr(worker.time, "sleep", slept.append)
    run_command("worker", "--no-scheduler", "--interval", "0.5")
    assert len(runs) == 3 and all("--interval=0.5" in argv for argv in runs)
    assert slept == [1.0, 2.0]
