"""The campaign pages: who may open them, the campaign form, the campaign page's actions by
status (submit, launch refused with what is missing, sign, conflicts, pause, complete), the
wave form, the plan preview and plan, a wave's contacts, and a query count that does not grow
with the contacts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.campaigns.conftest import at_ten, consent, first_wave, launched, sign_all
from yiti.campaigns import services
from yiti.campaigns.choices import CampaignStatus, ChecklistKind, ConflictStatus, WaveStatus
from yiti.campaigns.exclusions import decisions
from yiti.campaigns.models import Campaign, Conflict, Delivery, Wave
from yiti.campaigns.planning import wave_plan
from yiti.core.models import AuditEvent
from yiti.customers.services import ContactInput, customer_create

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
VIEWERS = ("cm", "analyst", "fin", "rm_east", "svc_east", "care_east", "am_hz", "admin")


def html(response) -> str:
    return response.content.decode()


def campaign_post(world, **changes):
    org = world.org
    start = timezone.localdate() + timedelta(days=5)
    data = {
        "code": "bb-spring",
        "name": "春季宽带",
        "description": "",
        "owner_unit": org.marketing.pk,
        "participating_units": [org.hz.pk, org.nb.pk],
        "service_unit": world.csc.pk,
        "stock_unit": "",
        "segment": world.everyone.pk,
        "offers": [world.gift_offer.pk],
        "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=30)).isoformat(),
        "priority": 6,
        "goal": "新增宽带 300 户",
        "goal_conversions": 300,
        "expected_take_up": "0.05",
        "lead_days": 3,
        "complaint_threshold": "5",
        "complaint_min_contacts": 200,
        "attribution_days": 14,
    }
    data.update(changes)
    return data


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", VIEWERS)
def test_roles_with_campaign_view_open_the_campaign_pages(world, make_campaign, as_user, username):
    campaign = make_campaign()
    client = as_user(username)
    for url in (
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        "/campaigns/offers/",
        "/campaigns/segments/",
        f"/campaigns/waves/{first_wave(campaign).pk}/deliveries/",
    ):
        assert client.get(url).status_code == 200, url
    # the navigation shows the campaign section
    assert 'id="nav-campaigns"' in html(client.get("/campaigns/"))


def test_a_role_without_campaigns_is_refused_and_sees_no_link(world, make_campaign, as_user):
    campaign = make_campaign()
    engineer = as_user("eng_east")
    for url in (
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        "/campaigns/offers/",
        "/campaigns/segments/",
    ):
        assert engineer.get(url).status_code == 403, url
    assert engineer.get("/campaigns/calls/").status_code == 403
    assert 'id="nav-campaigns"' not in html(engineer.get("/customers/"))
    assert 'id="nav-calls"' not in html(engineer.get("/customers/"))


@pytest.mark.parametrize("username", ["analyst", "rm_east", "svc_east", "am_hz", "fin"])
def test_only_campaign_managers_open_the_forms(world, make_campaign, as_user, username):
    campaign = make_campaign()
    client = as_user(username)
    for url in (
        "/campaigns/new/",
        f"/campaigns/{campaign.pk}/edit/",
        f"/campaigns/{campaign.pk}/waves/new/",
        f"/campaigns/waves/{first_wave(campaign).pk}/edit/",
        "/campaigns/offers/new/",
        "/campaigns/segments/new/",
    ):
        assert client.get(url).status_code == 403, url
    page = html(client.get("/campaigns/"))
    assert 'id="new-campaign"' not in page
    assert client.post(f"/campaigns/{campaign.pk}/submit/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_an_unknown_campaign_is_404(world, as_user):
    assert as_user("cm").get("/campaigns/999999/").status_code == 404
    assert as_user("cm").get("/campaigns/waves/999999/deliveries/").status_code == 404


# --- the list --------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_search(world, make_campaign, as_user):
    draft = make_campaign("bb-draft")
    review = make_campaign("bb-review")
    services.campaign_submit(actor=world.org.users["cm"], campaign=review)
    client = as_user("analyst")

    everything = html(client.get("/campaigns/"))
    assert (
        f'data-campaign="{draft.pk}"' in everything and f'data-campaign="{review.pk}"' in everything
    )
    in_review = html(client.get("/campaigns/", {"status": "in_review"}, **HTMX))
    assert f'data-campaign="{review.pk}"' in in_review
    assert f'data-campaign="{draft.pk}"' not in in_review
    assert "<html" not in in_review  # htmx gets the results only
    searched = html(client.get("/campaigns/", {"q": "draft"}))
    assert f'data-campaign="{draft.pk}"' in searched
    assert f'data-campaign="{review.pk}"' not in searched
    assert "No campaign matches." in html(client.get("/campaigns/", {"q": "nothing-like-it"}))


def test_an_empty_list_says_how_campaigns_begin(world, as_user):
    assert "No campaigns yet." in html(as_user("cm").get("/campaigns/"))


# --- the form --------------------------------------------------------------------------------


def test_a_campaign_manager_creates_a_draft_through_the_form(world, as_user):
    response = as_user("cm").post("/campaigns/new/", campaign_post(world))

    campaign = Campaign.objects.get(code="bb-spring")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.status == CampaignStatus.DRAFT and campaign.owner == world.org.users["cm"]
    assert set(campaign.participating_units.values_list("code", flat=True)) == {"hz", "nb"}
    assert list(campaign.offers.all()) == [world.gift_offer]
    assert campaign.goal_conversions == 300 and campaign.priority == 6
    assert AuditEvent.objects.filter(action="campaign.create", object_id=str(campaign.pk)).exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_on": "2020-01-01"}, "ends_on", "The campaign cannot end before it starts."),
        ({"participating_units": []}, "participating_units", "This field is required."),
        ({"priority": 11}, "priority", "Ensure this value is less than or equal to 10."),
        ({"code": "bb winter"}, "code", "Enter a valid “slug”"),
    ],
)
def test_the_form_shows_errors_next_to_the_field(world, as_user, changes, field, message):
    response = as_user("cm").post("/campaigns/new/", campaign_post(world, **changes))

    assert response.status_code == 422
    page = html(response)
    row = re.search(
        rf'<div class="form-row has-error[^"]*">\s*<label for="id_{field}">.*?</div>', page, re.S
    )
    assert row is not None, field
    assert message in page[row.start() : row.start() + 3000]
    assert not Campaign.objects.filter(code=changes.get("code", "bb-spring")).exists()


def test_a_used_code_is_refused_next_to_the_code(world, make_campaign, as_user):
    make_campaign("bb-spring")
    response = as_user("cm").post("/campaigns/new/", campaign_post(world))
    assert response.status_code == 422
    assert "This code is already used." in html(response)


def test_editing_a_submitted_campaign_shows_the_services_refusal(world, make_campaign, as_user):
    campaign = make_campaign("bb-spring")
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    client = as_user("cm")

    assert "return the campaign to draft first" in html(
        client.get(f"/campaigns/{campaign.pk}/edit/")
    )
    response = client.post(f"/campaigns/{campaign.pk}/edit/", campaign_post(world, priority=9))

    assert response.status_code == 422
    assert "Only a draft can be changed" in html(response)
    campaign.refresh_from_db()
    assert campaign.priority == 5


def test_a_draft_is_edited_through_the_form(world, make_campaign, as_user):
    campaign = make_campaign("bb-spring")
    form = as_user("cm").get(f"/campaigns/{campaign.pk}/edit/")
    assert 'value="bb-spring"' in html(form)

    as_user("cm").post(
        f"/campaigns/{campaign.pk}/edit/",
        campaign_post(world, priority=9, offers=[world.gift_offer.pk, world.discount_offer.pk]),
    )

    campaign.refresh_from_db()
    assert campaign.priority == 9 and campaign.offers.count() == 2


# --- the campaign page: life and checklist ---------------------------------------------------


def test_submit_then_launch_refused_lists_what_is_missing(world, make_campaign, as_user):
    campaign = make_campaign()
    client = as_user("cm")

    submitted = client.post(f"/campaigns/{campaign.pk}/submit/")
    assert submitted.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW

    page = html(client.get(f"/campaigns/{campaign.pk}/"))
    readiness = page[page.index('id="readiness"') :]
    assert "Not signed: Service reviewed the offer terms and FAQ (客户服务中心)." in readiness

    refused = client.post(f"/campaigns/{campaign.pk}/launch/")
    assert refused.status_code == 422
    body = html(refused)
    box = body[body.index('id="launch-refused"') : body.index('id="launch-refused"') + 3000]
    missing = re.findall(r"<li data-missing>(.*?)</li>", box)
    assert "Not signed: Front-line staff trained (华东片区)." in missing
    assert len(missing) == 5  # the five checklist lines
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW


def test_each_signer_signs_only_the_lines_of_his_role_and_then_cm_launches(
    world, make_campaign, as_user
):
    org = world.org
    campaign = make_campaign()
    services.campaign_submit(actor=org.users["cm"], campaign=campaign)
    items = {i.kind: i for i in campaign.checklist.all()}
    review = items[ChecklistKind.SERVICE_REVIEW]

    svc_page = html(as_user("svc_east").get(f"/campaigns/{campaign.pk}/"))
    assert f"/checklist/{review.pk}/sign/" in svc_page
    assert f"/checklist/{items[ChecklistKind.TRAINING].pk}/sign/" not in svc_page
    # the analyst may look but signs nothing
    assert "/sign/" not in html(as_user("analyst").get(f"/campaigns/{campaign.pk}/"))
    # an outsider posting anyway is refused
    training = items[ChecklistKind.TRAINING]
    assert (
        as_user("svc_east")
        .post(f"/campaigns/{campaign.pk}/checklist/{training.pk}/sign/")
        .status_code
        == 403
    )

    signed = as_user("svc_east").post(
        f"/campaigns/{campaign.pk}/checklist/{review.pk}/sign/",
        {f"sign-{review.pk}-note": "条款与FAQ已审"},
    )
    assert signed.status_code == 302
    review.refresh_from_db()
    assert review.signed_by == org.users["svc_east"] and review.note == "条款与FAQ已审"

    as_user("rm_east").post(f"/campaigns/{campaign.pk}/checklist/{training.pk}/sign/")
    for kind in (ChecklistKind.MATERIALS, ChecklistKind.GIFT_STOCK, ChecklistKind.CONFLICT_CHECK):
        as_user("cm").post(f"/campaigns/{campaign.pk}/checklist/{items[kind].pk}/sign/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.READY

    launched_ = as_user("cm").post(f"/campaigns/{campaign.pk}/launch/")
    assert launched_.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING


def test_a_signature_is_withdrawn_with_a_reason(world, make_campaign, as_user):
    campaign = make_campaign()
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    materials = campaign.checklist.get(kind=ChecklistKind.MATERIALS)
    client = as_user("cm")
    client.post(f"/campaigns/{campaign.pk}/checklist/{materials.pk}/sign/")

    missing_reason = client.post(f"/campaigns/{campaign.pk}/checklist/{materials.pk}/unsign/")
    assert missing_reason.status_code == 422
    assert "This field is required." in html(missing_reason)
    client.post(
        f"/campaigns/{campaign.pk}/checklist/{materials.pk}/unsign/",
        {f"unsign-{materials.pk}-reason": "海报未到"},
    )

    materials.refresh_from_db()
    assert not materials.signed and materials.note == "海报未到"


def test_the_gift_stock_line_refuses_with_the_shortfall(world, make_campaign, as_user):
    services.offer_update(actor=world.org.users["cm"], offer=world.gift_offer, stock_total=1)
    campaign = make_campaign(expected_take_up="0.5")
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    stock = campaign.checklist.get(kind=ChecklistKind.GIFT_STOCK)

    response = as_user("cm").post(f"/campaigns/{campaign.pk}/checklist/{stock.pk}/sign/")

    assert response.status_code == 422
    assert "does not cover the 4 acceptances" in html(response)
    stock.refresh_from_db()
    assert not stock.signed


def test_return_to_draft_needs_a_reason(world, make_campaign, as_user):
    campaign = make_campaign()
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    client = as_user("cm")

    assert client.post(f"/campaigns/{campaign.pk}/to-draft/").status_code == 422
    response = client.post(f"/campaigns/{campaign.pk}/to-draft/", {"to_draft-reason": "换赠品"})

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_pause_with_a_reason_shows_it_then_resume_and_complete(world, make_campaign, as_user):
    campaign = launched(make_campaign(), world.org)
    client = as_user("cm")

    no_reason = client.post(f"/campaigns/{campaign.pk}/pause/", {"pause-reason": ""})
    assert no_reason.status_code == 422 and "This field is required." in html(no_reason)
    client.post(f"/campaigns/{campaign.pk}/pause/", {"pause-reason": "赠品到货延迟"})
    page = html(client.get(f"/campaigns/{campaign.pk}/"))
    assert 'id="pause-reason"' in page and "赠品到货延迟" in page

    client.post(f"/campaigns/{campaign.pk}/resume/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    page = html(client.get(f"/campaigns/{campaign.pk}/"))
    assert 'data-confirm="' in page[page.index(f"/campaigns/{campaign.pk}/complete/") - 200 :][:600]
    client.post(f"/campaigns/{campaign.pk}/complete/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_an_action_the_service_refuses_shows_its_message(world, make_campaign, as_user):
    campaign = make_campaign()
    response = as_user("cm").post(f"/campaigns/{campaign.pk}/resume/")
    assert response.status_code == 422
    assert "Only a paused campaign can resume." in html(response)


def test_conflicts_are_listed_and_accepted_with_a_reason(world, make_campaign, as_user):
    org = world.org
    services.offer_update(
        actor=org.users["cm"], offer=world.gift_offer, incompatible_with=[world.discount_offer]
    )
    other = make_campaign("plan-spring", offers=[world.discount_offer])
    services.campaign_submit(actor=org.users["cm"], campaign=other)
    campaign = make_campaign("bb-spring")
    services.campaign_submit(actor=org.users["cm"], campaign=campaign)
    conflict = Conflict.objects.get()
    client = as_user("cm")

    page = html(client.get(f"/campaigns/{campaign.pk}/"))
    box = page[page.index('id="conflicts"') :]
    assert f'data-conflict="{conflict.pk}"' in box and other.name in box
    assert "8 customers in both audiences" in box
    assert "Open conflict with" in page  # readiness lists it

    too_short = client.post(
        f"/campaigns/{campaign.pk}/conflicts/{conflict.pk}/accept/",
        {f"accept-{conflict.pk}-reason": "ok"},
    )
    assert too_short.status_code == 422 and "Say why the conflict is acceptable." in html(too_short)
    client.post(
        f"/campaigns/{campaign.pk}/conflicts/{conflict.pk}/accept/",
        {f"accept-{conflict.pk}-reason": "套餐与宽带面向不同需求，可同时推荐"},
    )
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.ACCEPTED

    checked = client.post(f"/campaigns/{campaign.pk}/conflicts/check/")
    assert checked.status_code == 302
    assert as_user("analyst").post(f"/campaigns/{campaign.pk}/conflicts/check/").status_code == 403


# --- waves -----------------------------------------------------------------------------------


def wave_post(**changes):
    data = {
        "name": "第二波：外呼",
        "kind": "call",
        "scheduled_at": at_ten(6).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (at_ten(6) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
        "offer": "",
        "source": "audience",
        "source_wave": "",
        "subject": "",
        "message": "",
        "agent_role": "service_agent",
        "agents": 2,
        "hours": "4",
        "calls_per_agent_hour": 10,
        "visit_min_value": "",
    }
    data.update(changes)
    return data


def test_a_call_wave_is_added_through_the_form(world, make_campaign, as_user):
    campaign = make_campaign()

    response = as_user("cm").post(f"/campaigns/{campaign.pk}/waves/new/", wave_post())

    assert response.status_code == 302
    wave = campaign.waves.get(number=2)
    assert (wave.kind, wave.channels, wave.capacity) == ("call", ["call"], 80)
    assert timezone.localtime(wave.scheduled_at).hour == 10  # Beijing time as typed
    assert f"/campaigns/waves/{wave.pk}/edit/" in html(
        as_user("cm").get(f"/campaigns/{campaign.pk}/")
    )


def test_the_wave_form_marks_fields_by_kind(world, make_campaign, as_user):
    page = html(as_user("cm").get(f"/campaigns/{make_campaign().pk}/waves/new/"))

    def tag(name: str) -> str:
        found = re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', page)
        assert found is not None, name
        return found.group(0)

    assert 'data-kinds="call"' in tag("agents") and 'data-kinds="call"' in tag("ends_at")
    assert 'data-kinds="broadcast follow_up"' in tag("channel_1")
    assert 'data-kinds="follow_up"' in tag("visit_min_value")
    assert "data-kinds" not in tag("scheduled_at")  # shown for every kind


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"agents": 0}, "agents", "Must be between 1 and 10000."),
        ({"ends_at": ""}, "ends_at", "A call wave ends after it starts."),
        (
            {"kind": "broadcast", "channel_1": "email", "message": ""},
            "message",
            "Write the message the customers will receive.",
        ),
        ({"kind": "broadcast", "channel_1": ""}, "channel_1", "Choose at least one channel."),
        (
            {"kind": "follow_up", "channel_1": "sms", "message": "hi"},
            "source",
            "A follow-up wave addresses an outcome of an earlier wave.",
        ),
    ],
)
def test_the_wave_form_shows_the_services_errors_next_to_the_field(
    world, make_campaign, as_user, changes, field, message
):
    campaign = make_campaign()
    response = as_user("cm").post(f"/campaigns/{campaign.pk}/waves/new/", wave_post(**changes))

    assert response.status_code == 422
    page = html(response)
    row = re.search(rf'<div class="form-row has-error[^"]*">\s*<label for="id_{field}">', page)
    assert row is not None, page[:200]
    assert message in page[row.start() : row.start() + 4000]
    assert campaign.waves.count() == 1


def test_a_follow_up_wave_of_an_earlier_wave_and_its_edit(world, make_campaign, as_user):
    campaign = make_campaign()
    first = first_wave(campaign)
    client = as_user("cm")
    client.post(
        f"/campaigns/{campaign.pk}/waves/new/",
        wave_post(
            name="跟进：未打开邮件",
            kind="follow_up",
            source="not_opened",
            source_wave=first.pk,
            channel_1="sms",
            channel_2="email",
            message="{name}您好，宽带优惠还剩最后几天。",
            scheduled_at=at_ten(8).strftime("%Y-%m-%dT%H:%M"),
            visit_min_value="5000",
        ),
    )
    follow = campaign.waves.get(number=2)
    assert (follow.source, follow.source_wave, follow.channels) == (
        "not_opened",
        first,
        ["sms", "email"],
    )

    form = html(client.get(f"/campaigns/waves/{follow.pk}/edit/"))
    assert 'value="sms" selected' in form or re.search(r'<option value="sms" selected>', form)
    client.post(
        f"/campaigns/waves/{follow.pk}/edit/",
        wave_post(
            name="跟进：未打开邮件",
            kind="follow_up",
            source="not_opened",
            source_wave=first.pk,
            channel_1="email",
            message="最后提醒",
            scheduled_at=at_ten(8).strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    follow.refresh_from_db()
    assert follow.channels == ["email"] and follow.message == "最后提醒"


def test_a_wave_is_deleted_in_draft_only(world, make_campaign, as_user):
    campaign = make_campaign()
    services.wave_create(
        actor=world.org.users["cm"],
        campaign=campaign,
        name="额外",
        kind="broadcast",
        channels=["sms"],
        message="hi",
        scheduled_at=at_ten(6),
    )
    extra = campaign.waves.get(number=2)
    client = as_user("cm")
    assert client.post(f"/campaigns/waves/{extra.pk}/delete/").status_code == 302
    assert not Wave.objects.filter(pk=extra.pk).exists()

    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    refused = client.post(f"/campaigns/waves/{first_wave(campaign).pk}/delete/")
    assert refused.status_code == 422
    assert "only while the campaign is a draft" in html(refused)


def test_the_plan_preview_shows_the_counts_and_writes_nothing(world, make_campaign, as_user):
    campaign = make_campaign()
    wave = first_wave(campaign)

    preview = as_user("cm").post(f"/campaigns/waves/{wave.pk}/preview/", **HTMX)

    assert preview.status_code == 200
    box = html(preview)
    assert "<html" not in box
    assert 'data-count="audience">8<' in box and 'data-count="planned">5<' in box
    assert 'data-reason="opted_out">3<' in box and "No consent (opted out)" in box
    assert 'data-channel="email">5<' in box
    assert not Delivery.objects.exists()
    # without htmx the campaign page opens with the preview
    full = html(as_user("cm").post(f"/campaigns/waves/{wave.pk}/preview/"))
    assert 'id="waves"' in full and 'data-count="planned">5<' in full


def test_planning_through_the_page_fills_the_funnel(world, make_campaign, as_user):
    campaign = make_campaign()
    wave = first_wave(campaign)
    client = as_user("cm")
    page = html(client.get(f"/campaigns/{campaign.pk}/"))
    assert 'data-action="plan"' not in page  # a draft is only previewed

    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    response = client.post(f"/campaigns/waves/{wave.pk}/plan/")

    assert response.status_code == 302
    wave.refresh_from_db()
    assert wave.status == WaveStatus.PLANNED
    page = html(client.get(f"/campaigns/{campaign.pk}/"))
    table = page[page.index(f'data-funnel-table="{wave.number}"') :]
    assert 'data-step="audience">8<' in table and 'data-step="planned">5<' in table
    assert 'data-reason="opted_out">3<' in table
    assert '<g data-step="planned">' in page  # the SVG chart


def test_planning_a_wave_whose_source_is_not_done_shows_why(world, make_campaign, as_user):
    campaign = make_campaign()
    first = first_wave(campaign)
    follow = services.wave_create(
        actor=world.org.users["cm"],
        campaign=campaign,
        name="跟进",
        kind="follow_up",
        channels=["sms"],
        message="hi",
        source="not_opened",
        source_wave=first,
        scheduled_at=at_ten(8),
    )
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)

    response = as_user("cm").post(f"/campaigns/waves/{follow.pk}/plan/")

    assert response.status_code == 422
    assert "which is not done yet" in html(response)


# --- a wave's contacts -----------------------------------------------------------------------


def test_the_contacts_of_a_wave_are_those_the_user_sees_masked_and_filtered(
    world, make_campaign, as_user
):
    campaign = make_campaign()
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    wave = first_wave(campaign)
    wave_plan(actor=world.org.users["cm"], wave=wave)
    url = f"/campaigns/waves/{wave.pk}/deliveries/"

    am = html(as_user("am_nb").get(url))  # Ningbo: customers 6 and 7
    rows = re.findall(r'<tr data-delivery="\d*" data-status="(\w+)">', am)
    assert sorted(rows) == ["excluded", "excluded"]
    assert "客户6" in am and "客户0" not in am
    assert "13905710006" not in am and "139****0006" in am
    assert "c6@example.com" not in am and "c***@example.com" in am

    svc = as_user("svc_east")
    assert len(re.findall(r"<tr data-delivery=", html(svc.get(url)))) == 8
    planned = html(svc.get(url, {"status": "planned"}, **HTMX))
    assert len(re.findall(r'data-status="planned"', planned)) == 5 and "<html" not in planned
    opted = html(svc.get(url, {"reason": "opted_out"}))
    assert len(re.findall(r"<tr data-delivery=", opted)) == 3
    assert "No consent (opted out)" in opted
    # the campaign manager's department has no customers: an explained empty list
    assert "none of its customers is in your units" in html(as_user("cm").get(url))


# --- query counts ----------------------------------------------------------------------------


def _more_customers(world, n: int) -> None:
    for i in range(n):
        customer = customer_create(
            actor=None,
            name=f"新客户{i}",
            unit=world.org.hz,
            contacts=[ContactInput("email", f"n{i}@example.com", primary=True)],
        )
        consent(customer, "email")


def test_the_campaign_page_costs_the_same_queries_for_few_or_many_contacts(
    world, make_campaign, as_user
):
    campaign = make_campaign()
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    sign_all(campaign, world.org)
    wave = first_wave(campaign)
    wave_plan(actor=world.org.users["cm"], wave=wave)
    client = as_user("cm")
    client.get(f"/campaigns/{campaign.pk}/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200

    _more_customers(world, 30)
    wave_plan(actor=world.org.users["cm"], wave=wave)
    assert len(decisions(wave.pk)) == 38
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200

    assert len(many.captured_queries) == len(few.captured_queries)
