"""``yiti campaigns``: plan a wave (dry run or for real) with one JSON object on stdout, list,
show with the funnel, and run the dispatch job once; errors are clear, with an exit status."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.campaigns.conftest import first_wave, sign_all
from yiti.campaigns import services
from yiti.campaigns.exclusions import decisions
from yiti.campaigns.models import Delivery, SendBatch
from yiti.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("campaigns", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_dry_run_prints_one_json_object_and_writes_no_delivery(world, make_campaign):
    campaign = make_campaign()  # a draft: a dry run is possible already

    out, _err = run("plan", campaign.code, "--wave", "1", "--dry-run", "--json")

    result = json.loads(out)  # the whole of stdout is one object
    assert result["campaign"] == "bb-winter" and result["wave"] == 1
    assert result["dry_run"] is True
    assert result["audience"] == 8
    assert result["outcomes"] == {"planned": 5, "excluded": 3}
    assert result["excluded"] == {"opted_out": 3}
    assert result["channels"] == {"email": 5}
    assert not Delivery.objects.exists()


def test_the_campaign_is_named_by_code_or_id_and_the_summary_reads(world, make_campaign):
    campaign = make_campaign()

    out, _err = run("plan", str(campaign.pk), "--wave", "1", "--dry-run")

    assert "Dry run of wave 1 of bb-winter: nothing written." in out
    assert "Audience 8: 5 planned, 3 excluded." in out
    assert "No consent (opted out) (opted_out)" in out
    assert "Channels: email 5" in out


def test_without_dry_run_the_plan_is_written_and_audited(world, make_campaign):
    campaign = make_campaign()
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)

    out, _err = run("plan", "bb-winter", "--wave", "1", "--json", "--user", "cm")

    result = json.loads(out)
    assert result["dry_run"] is False
    wave = first_wave(campaign)
    assert len(decisions(wave.pk)) == 8
    assert Delivery.objects.filter(wave=wave, status="planned").count() == 5
    event = AuditEvent.objects.get(action="wave.plan", object_id=str(wave.pk))
    assert event.actor == world.org.users["cm"]


def test_a_draft_cannot_be_planned_for_real_exit_status_2(world, make_campaign):
    make_campaign()

    with pytest.raises(CommandError) as refused:
        run("plan", "bb-winter", "--wave", "1", "--json")

    assert refused.value.returncode == 2
    assert "Submit the campaign before planning its waves" in str(refused.value)
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "nope", "--wave", "1"), "No campaign with the code or id nope."),
        (("plan", "bb-winter", "--wave", "7"), "Campaign bb-winter has no wave 7."),
        (("show", "nope"), "No campaign with the code or id nope."),
        (("plan", "bb-winter", "--wave", "1", "--user", "ghost"), "No active user ghost."),
    ],
)
def test_unknown_campaign_wave_or_user_is_a_clear_error_exit_status_1(
    world, make_campaign, args, message
):
    make_campaign()

    with pytest.raises(CommandError) as missing:
        run(*args)

    assert missing.value.returncode == 1
    assert str(missing.value) == message


def test_a_user_without_the_permission_is_refused(world, make_campaign):
    make_campaign()

    with pytest.raises(CommandError) as refused:
        run("plan", "bb-winter", "--wave", "1", "--dry-run", "--user", "am_hz")

    assert refused.value.returncode == 2
    assert "campaign managers" in str(refused.value)


def test_list_and_show(world, make_campaign):
    make_campaign()
    make_campaign(code="spring", offers=[world.discount_offer])

    rows = json.loads(run("list", "--json")[0])
    assert {r["code"]: r["status"] for r in rows} == {"bb-winter": "draft", "spring": "draft"}
    assert "bb-winter\tdraft" in run("list")[0]

    shown = json.loads(run("show", "bb-winter", "--json")[0])
    assert shown["readiness"]["ok"] is False
    assert "The campaign has not been submitted for review." in shown["readiness"]["missing"]
    assert shown["waves"][0]["number"] == 1 and shown["waves"][0]["status"] == "draft"
    assert shown["complaints"] == {"offer_design": 0, "staff_conduct": 0, "fulfilment": 0}
    text = run("show", "bb-winter")[0]
    assert "Not ready:" in text and "Wave 1 · 第一波：短信与邮件" in text


def test_show_gives_each_waves_funnel_with_the_reasons(world, make_campaign):
    campaign = make_campaign()
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    run("plan", "bb-winter", "--wave", "1")

    shown = json.loads(run("show", "bb-winter", "--json")[0])

    wave = shown["waves"][0]
    assert wave["status"] == "planned"
    assert wave["funnel"]["audience"] == 8 and wave["funnel"]["planned"] == 5
    assert wave["excluded"] == {"opted_out": 3}
    assert wave["excluded_labels"] == {"opted_out": "No consent (opted out)"}


def test_dispatch_starts_the_due_waves_once(world, make_campaign):
    org, cm = world.org, world.org.users["cm"]
    campaign = make_campaign(start_in=0, lead_days=0, wave_in=0)
    wave = first_wave(campaign)
    # midnight of today in Beijing: due now, whatever the hour (the stored value is UTC)
    wave.scheduled_at = timezone.localtime(wave.scheduled_at).replace(hour=0)
    wave.save(update_fields=["scheduled_at"])
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, org)
    services.campaign_launch(actor=cm, campaign=campaign)

    result = json.loads(run("dispatch", "--json")[0])

    assert result["planned"] == 1 and result["started"] == 1
    wave.refresh_from_db()
    assert wave.status == "sending"
    assert SendBatch.objects.filter(wave=wave).count() == 1
    again = run("dispatch")[0]
    assert "0 waves planned, 0 started" in again
