"""Campaign demo data on top of the seeded customers: offers, segments, the contact policy and
campaigns in every status, all through the campaign services, the planner and the sender.

A month of campaigning is replayed on the services' clocks (``now=``), from five weeks ago to
today, so that periods, lead times, signatures, sends and answers fall where a manager
expects them:

* the contact policy (three caps and the quiet hours 21:00–09:00) as data in engagement;
* offers, two of them incompatible gifts with stock, and saved segments (value tier,
  territory, holdings, last contact, consent);
* a **completed** campaign: SMS/e-mail broadcast, a follow-up of those who did not respond
  that sends the valuable ones to their account manager as visits (the others get a portal
  message), and a call list for those who still did not respond (sized by agents × hours ×
  calls per hour);
* two **running** campaigns that compete for the same customers in the same days: the
  conflict of their offers was accepted with a reason, and arbitration took the weaker
  campaign's contacts where the caps left room for one (``lost_arbitration:<campaign>``);
* a **paused** campaign, paused by the complaint-rate check, its owner notified;
* a **ready** campaign (every line signed), one **in review** (some lines unsigned, so its
  launch is refused with the list of what is missing) and a **draft**.

Messages go out through the demo transports (e-mail and SMS to files in ``DATA_DIR/outbox``,
portal and push inside Yiti). The campaigns whose waves the seed sends to the end address the
books of named account managers, which stay a few thousand customers whatever the size of
the company (``company.py`` hires account managers as the book grows); the others are planned
over whole territories, set-based, and send one batch at most. Answers and worked calls are
a bounded sample of each wave.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Min
from django.utils import timezone

from yiti.campaigns.choices import (
    CONTACTED_STATUSES,
    AgentRole,
    BenefitKind,
    CallOutcome,
    CampaignStatus,
    ChecklistKind,
    DeliveryStatus,
    ResponseKind,
    WaveChannel,
    WaveKind,
    WaveSource,
)
from yiti.campaigns.conflicts import conflict_accept, open_conflicts
from yiti.campaigns.errors import NotReady
from yiti.campaigns.models import Campaign, ChecklistItem, Delivery, Offer, Segment, Wave
from yiti.campaigns.outcomes import (
    complaint_rate_check,
    conversions_attribute,
    delivery_respond,
    delivery_work,
)
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.rules import can_sign
from yiti.campaigns.sending import batch_send, wave_start, waves_due
from yiti.campaigns.services import (
    campaign_complete,
    campaign_create,
    campaign_launch,
    campaign_submit,
    checklist_sign,
    offer_create,
    segment_count,
    segment_create,
    segment_recount,
    wave_create,
)
from yiti.customers.choices import Channel, CustomerKind, ProductCategory, ValueTier
from yiti.customers.models import Customer, CustomerValue, Product
from yiti.demo.company import Company
from yiti.engagement.choices import InteractionChannel, InteractionPurpose
from yiti.engagement.models import ContactPolicyRule, QuietHours
from yiti.engagement.services import contact_rule_create, quiet_hours_create
from yiti.org.models import User
from yiti.service.choices import ComplaintReason, TicketChannel, TicketKind
from yiti.service.models import Ticket
from yiti.service.services import ticket_create

RESPONSES = 30  # at most this many answers recorded per broadcast wave
WORKED_CALLS = 30  # at most this many calls or visits worked per wave
MAX_COMPLAINTS = 12  # complaints filed about the campaign that pauses itself
SIGNER_ORDER = ("svc_east", "rm_east", "rm_north", "rm_south", "cm", "fin", "admin")


@dataclass
class CampaignsReport:
    rules: int = 0
    offers: int = 0
    segments: int = 0
    campaigns: dict[str, int] = field(default_factory=dict)  # status -> count
    waves: int = 0
    deliveries: int = 0
    sent: int = 0
    calls_worked: int = 0
    responses: int = 0
    conversions: int = 0
    lost_arbitration: int = 0
    complaints: int = 0

    def campaigns_total(self) -> int:
        return sum(self.campaigns.values())


def campaigns_seeded() -> bool:
    """Whether the campaign demo data is there already (a second seed adds nothing)."""
    return Campaign.objects.exists()


class _Clock:
    """Local times of the story, counted in days from today."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.today: date = timezone.localdate(now)

    def at(self, days: int, hour: int = 10, minute: int = 0) -> datetime:
        moment = datetime.combine(self.today + timedelta(days=days), time(hour, minute))
        return timezone.make_aware(moment)

    def day(self, days: int) -> date:
        return self.today + timedelta(days=days)


class _Story:
    """The users, units and clock of the campaign story, and the steps every campaign uses."""

    def __init__(self, *, rng: np.random.Generator, company: Company, now: datetime) -> None:
        self.rng = rng
        self.company = company
        self.clock = _Clock(now)
        self.users = {u.username: u for u in User.objects.filter(is_active=True)}
        self.cm = self.users["cm"]
        self.units = company.units
        self.report = CampaignsReport()

    # --- preparation -------------------------------------------------------------------------

    def sign(self, campaign: Campaign, at: datetime, *, skip: tuple[str, ...] = ()) -> None:
        """Sign the checklist lines, each by a demo user holding a signer role for its unit."""
        items = list(
            ChecklistItem.objects.filter(campaign=campaign).select_related("unit").order_by("id")
        )
        for i, item in enumerate(items):
            if item.kind in skip:
                continue
            if item.kind == ChecklistKind.CONFLICT_CHECK:
                for conflict in open_conflicts(campaign):
                    conflict_accept(
                        actor=self.cm,
                        conflict=conflict,
                        reason="两档礼品面向不同套餐档位，同一客户只能领取一份，已与财务确认。",
                    )
            signer = self._signer(item)
            checklist_sign(
                actor=signer,
                item=item,
                note="已确认",
                now=at + timedelta(hours=i),
            )

    def _signer(self, item: ChecklistItem) -> User:
        for username in SIGNER_ORDER:
            user = self.users.get(username)
            if user is not None and can_sign(user, item.kind, item.unit):
                return user
        raise RuntimeError(f"no demo user signs {item.kind} for {item.unit}")

    def campaign(
        self,
        *,
        code: str,
        name: str,
        segment: Segment,
        offers: list[Offer],
        units: list[str],
        starts: int,
        ends: int,
        **options: Any,
    ) -> Campaign:
        campaign = campaign_create(
            actor=self.cm,
            code=code,
            name=name,
            owner_unit=self.units["mkt"],
            segment=segment,
            offers=offers,
            participating_units=[self.units[u] for u in units],
            service_unit=self.units["csc"],
            stock_unit=self.units["finance"]
            if any(o.benefit == BenefitKind.GIFT for o in offers)
            else None,
            starts_on=self.clock.day(starts),
            ends_on=self.clock.day(ends),
            **options,
        )
        return campaign

    def wave(self, campaign: Campaign, name: str, kind: str, at: datetime, **options: Any) -> Wave:
        self.report.waves += 1
        return wave_create(
            actor=self.cm, campaign=campaign, name=name, kind=kind, scheduled_at=at, **options
        )

    def plan(self, wave: Wave) -> Wave:
        wave_plan(actor=self.cm, wave=wave)
        return Wave.objects.get(pk=wave.pk)

    # --- running -----------------------------------------------------------------------------

    def send(self, wave: Wave, *, batches: int | None = None) -> int:
        """Open the wave at its time and send its batches (the first ``batches`` of them)."""
        at = wave.scheduled_at
        made = wave_start(wave=wave, now=at)
        sent = 0
        for i, batch in enumerate(made[:batches]):
            sent += batch_send(batch.pk, now=at + timedelta(minutes=5 * i)).sent
        self.report.sent += sent
        return sent

    def respond(self, wave: Wave, mix: Sequence[tuple[str, float]], share: float) -> None:
        """Answers of a sample of the contacted customers, a day or two after the send."""
        ids = list(
            Delivery.objects.filter(
                wave=wave,
                status__in=(DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
                channel__in=(WaveChannel.EMAIL, WaveChannel.SMS, WaveChannel.PORTAL),
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return
        k = min(RESPONSES, max(1, round(len(ids) * share)))
        picked = np.sort(self.rng.choice(np.asarray(ids), size=k, replace=False)).tolist()
        kinds = [m for m, _w in mix]
        weights = np.asarray([w for _m, w in mix], dtype=float)
        answers = self.rng.choice(len(kinds), size=k, p=weights / weights.sum()).tolist()
        delays = self.rng.integers(30, 36 * 60, size=k).tolist()
        for delivery_id, answer, minutes in zip(picked, answers, delays, strict=True):
            delivery = Delivery.objects.get(pk=delivery_id)
            sent_at = delivery.sent_at or wave.scheduled_at
            kind = kinds[answer]
            if kind == ResponseKind.ACCEPTED and not self._stock_left(wave):
                kind = ResponseKind.INTERESTED
            delivery_respond(
                actor=None,
                delivery=delivery,
                kind=kind,
                at=sent_at + timedelta(minutes=int(minutes)),
            )
            self.report.responses += 1

    def _stock_left(self, wave: Wave) -> bool:
        offer = wave.offer or wave.campaign.offers.order_by("pk").first()
        if offer is None:
            return False
        offer.refresh_from_db(fields=["stock_total", "stock_reserved"])
        return offer.benefit != BenefitKind.GIFT or offer.stock_reserved < offer.stock_total

    def work(
        self,
        wave: Wave,
        mix: Sequence[tuple[str, float]],
        *,
        share: float,
        start: datetime,
        limit: int | None = WORKED_CALLS,
    ) -> None:
        """The assigned agents work part of their list, in rank order, from ``start``."""
        rows = list(
            Delivery.objects.filter(
                wave=wave, status=DeliveryStatus.PLANNED, assignee__isnull=False
            )
            .select_related("assignee")
            .order_by("rank", "pk")
        )
        k = max(1, math.ceil(len(rows) * share)) if rows else 0
        k = k if limit is None else min(limit, k)
        outcomes = [o for o, _w in mix]
        weights = np.asarray([w for _o, w in mix], dtype=float)
        picks = self.rng.choice(len(outcomes), size=k, p=weights / weights.sum()).tolist()
        for i, (delivery, pick) in enumerate(zip(rows[:k], picks, strict=True)):
            outcome = outcomes[pick]
            if outcome == CallOutcome.ACCEPTED and not self._stock_left(wave):
                outcome = CallOutcome.INTERESTED
            delivery_work(
                actor=delivery.assignee,
                delivery=delivery,
                outcome=outcome,
                note="",
                now=start + timedelta(minutes=6 * i),
            )
            self.report.calls_worked += 1


# --- the contact policy, offers and segments --------------------------------------------------


def _policy() -> int:
    """The contact policy of the demo company, unless one is set up already."""
    if ContactPolicyRule.objects.exists() or QuietHours.objects.exists():
        return 0
    contact_rule_create(
        actor=None,
        name="营销触达：每7天最多2次",
        max_contacts=2,
        window_days=7,
        purposes=[InteractionPurpose.MARKETING],
    )
    contact_rule_create(
        actor=None,
        name="全部触达：每30天最多4次（服务、关怀记半次）",
        max_contacts=4,
        window_days=30,
        weights={
            InteractionPurpose.MARKETING: 1,
            InteractionPurpose.SALES: 1,
            InteractionPurpose.SERVICE: 0.5,
            InteractionPurpose.CARE: 0.5,
        },
    )
    contact_rule_create(
        actor=None,
        name="外呼：每14天最多1次",
        max_contacts=1,
        window_days=14,
        purposes=[InteractionPurpose.MARKETING, InteractionPurpose.SALES],
        channels=[InteractionChannel.CALL],
    )
    quiet_hours_create(actor=None, name="夜间免打扰 21:00–09:00", start=time(21), end=time(9))
    return 3


def _stock(expected: int) -> int:
    """Gift stock that covers the expected acceptances with room to spare (whole hundreds)."""
    return max(100, math.ceil(expected * 1.5 / 100.0) * 100)


def _visit_threshold() -> Decimal | None:
    """Visits for the valuable customers: a quarter of the lowest lifetime value of the most
    valuable tier, in tens of yuan (None, no visits, before the value model has been fitted)."""
    low = CustomerValue.objects.filter(tier=ValueTier.MVC).aggregate(m=Min("clv"))["m"]
    return None if low is None else Decimal(int(float(low) / 40) * 10)


# --- the seed --------------------------------------------------------------------------------


def seed_campaigns(*, seed: int, company: Company, now: datetime | None = None) -> CampaignsReport:
    """The contact policy, offers, segments and a month of campaigns (see the module
    docstring); nothing when campaigns exist already."""
    if campaigns_seeded() or not Customer.objects.exists():
        return CampaignsReport()
    story = _Story(
        rng=np.random.default_rng(seed + 104_729),
        company=company,
        now=(now or timezone.now()).replace(microsecond=0),
    )
    report = story.report
    report.rules = _policy()
    clock, cm, units = story.clock, story.cm, company.units
    products = {p.code: p for p in Product.objects.all()}

    # --- segments ----------------------------------------------------------------------------
    def segment(name: str, description: str, *conditions: dict[str, Any]) -> Segment:
        made = segment_create(
            actor=cm,
            name=name,
            description=description,
            unit=units["mkt"],
            rules={"match": "all", "conditions": list(conditions)},
        )
        segment_recount(segment=made)
        report.segments += 1
        return made

    books = {code: ids[0] for code, ids in company.account_managers.items() if ids}
    s_broadband = segment(
        "宽带老用户·近一个月未联系（杭州、宁波客户经理名下）",
        "am_hz1、am_nb1 名下持有宽带、30天以上未联系的客户：提速季的目标人群。",
        {"field": "holds_category", "op": "any", "value": [ProductCategory.BROADBAND]},
        {"field": "days_since_contact", "op": "gte", "value": 30},
        {"field": "owner", "op": "in", "value": [books["hz"], books["nb"]]},
    )
    s_upgrade = segment(
        "高价值·可成长手机客户（北京、杭州客户经理名下）",
        "am_bj1、am_hz1 名下的最有价值与最具成长性手机客户：两个5G升级活动争夺的人群。",
        {"field": "value_tier", "op": "in", "value": [ValueTier.MVC, ValueTier.MGC]},
        {"field": "holds_category", "op": "any", "value": [ProductCategory.MOBILE_PLAN]},
        {"field": "owner", "op": "in", "value": [books["bj"], books["hz"]]},
        {"field": "unit", "op": "in", "value": [units["bj"].pk, units["hz"].pk]},
    )
    s_video = segment(
        "深圳短信许可·未订视频会员",
        "同意短信营销、尚未订购视频会员的深圳客户。",
        {"field": "consent", "op": "any", "value": [Channel.SMS]},
        {"field": "holds_product", "op": "none", "value": [products["vas-video"].pk]},
        {"field": "unit", "op": "in", "value": [units["sz"].pk]},
    )
    s_cloud = segment(
        "苏州邮件许可客户",
        "有电子邮箱、同意邮件营销的苏州客户。",
        {"field": "consent", "op": "any", "value": [Channel.EMAIL]},
        {"field": "unit", "op": "in", "value": [units["su"].pk]},
    )
    s_ringtone = segment(
        "广州普通客户",
        "普通价值档的广州客户。",
        {"field": "value_tier", "op": "in", "value": [ValueTier.STANDARD]},
        {"field": "unit", "op": "in", "value": [units["gz"].pk]},
    )
    s_enterprise = segment(
        "天津政企客户",
        "天津分公司的政企（单位）客户。",
        {"field": "kind", "op": "in", "value": [CustomerKind.ORGANISATION]},
        {"field": "unit", "op": "in", "value": [units["tj"].pk]},
    )

    # --- offers ------------------------------------------------------------------------------
    def offer(**data: Any) -> Offer:
        report.offers += 1
        return offer_create(actor=cm, **data)

    take_up = Decimal("0.05")
    upgrade_need = int(segment_count(s_upgrade.rules) * take_up)
    o_broadband = offer(
        code="bb-1000m-80",
        name="千兆宽带八折",
        product=products["bb-1000m"],
        benefit=BenefitKind.DISCOUNT,
        benefit_value=20,
        terms="宽带老用户升级千兆，包年费用八折，限活动期内办理。",
        faq="问：已是千兆用户能参加吗？答：不能，仅限100M/300M升级。",
    )
    o_router = offer(
        code="5g199-router",
        name="升级5G智享199送千兆路由器",
        product=products["plan-5g-199"],
        benefit=BenefitKind.GIFT,
        benefit_value=299,
        gift_name="千兆路由器",
        stock_total=_stock(upgrade_need),
        terms="升级5G智享套餐199元并在网12个月，赠千兆路由器一台，每户限一台。",
        faq="问：路由器何时发放？答：办理后7个工作日内由营业厅通知领取。",
    )
    o_earbuds = offer(
        code="5g299-earbuds",
        name="升级5G尊享299送蓝牙耳机",
        product=products["plan-5g-299"],
        benefit=BenefitKind.GIFT,
        benefit_value=399,
        gift_name="蓝牙耳机",
        stock_total=_stock(upgrade_need),
        terms="升级5G尊享套餐299元并在网12个月，赠蓝牙耳机一副。",
        faq="问：能和送路由器活动同时参加吗？答：不能，两档礼品只能选一。",
        incompatible_with=[o_router],
    )
    o_video = offer(
        code="video-credit-20",
        name="订视频会员赠话费20元",
        product=products["vas-video"],
        benefit=BenefitKind.CREDIT,
        benefit_value=20,
        terms="订购视频会员月包连续3个月，次月赠送话费20元。",
    )
    o_cloud = offer(
        code="cloud-half-price",
        name="云盘200G首三月半价",
        product=products["vas-cloud"],
        benefit=BenefitKind.DISCOUNT,
        benefit_value=50,
        terms="首次订购云盘200G月包，前三个月半价。",
    )
    o_ringtone = offer(
        code="ringtone-free-month",
        name="彩铃首月免费",
        product=products["vas-ringtone"],
        benefit=BenefitKind.CREDIT,
        benefit_value=5,
        terms="新开通彩铃月包，首月免费。",
    )
    o_enterprise = offer(
        code="enterprise-line-95",
        name="政企千兆专线九五折",
        product=products["bb-1000m"],
        benefit=BenefitKind.DISCOUNT,
        benefit_value=5,
        terms="政企客户新装千兆专线，年费九五折。",
        # for organisations only: the next best action never proposes it to a person
        eligibility={
            "match": "all",
            "conditions": [{"field": "kind", "op": "in", "value": [CustomerKind.ORGANISATION]}],
        },
    )

    call_mix = [
        (CallOutcome.NO_ANSWER, 0.25),
        (CallOutcome.BUSY, 0.08),
        (CallOutcome.WRONG_NUMBER, 0.03),
        (CallOutcome.REACHED, 0.2),
        (CallOutcome.INTERESTED, 0.14),
        (CallOutcome.ACCEPTED, 0.14),
        (CallOutcome.DECLINED, 0.16),
    ]
    visit_mix = [
        (CallOutcome.REACHED, 0.3),
        (CallOutcome.INTERESTED, 0.2),
        (CallOutcome.ACCEPTED, 0.3),
        (CallOutcome.DECLINED, 0.2),
    ]
    answer_mix = [
        (ResponseKind.OPENED, 0.35),
        (ResponseKind.REPLIED, 0.1),
        (ResponseKind.INTERESTED, 0.2),
        (ResponseKind.ACCEPTED, 0.2),
        (ResponseKind.DECLINED, 0.15),
    ]

    # Campaigns 1–3 are the ones the service desk's demo complaints name (yiti.service.demo):
    # the paused one, and two that have not launched (their complaints do not count).

    # --- 1. paused by its complaint rate -------------------------------------------------------
    video = story.campaign(
        code="video-credit",
        name="视频会员赠话费",
        segment=s_video,
        offers=[o_video],
        units=["sz"],
        starts=-8,
        ends=12,
        priority=5,
        goal="深圳视频会员新增订购",
        goal_conversions=50,
        complaint_threshold=Decimal("5"),
        complaint_min_contacts=20,
    )
    video_sms = story.wave(
        video,
        "短信推送",
        WaveKind.BROADCAST,
        clock.at(-6, 11),
        channels=[WaveChannel.SMS],
        offer=o_video,
        message="【营销服】{name}您好，订视频会员月包连续3个月，赠话费20元，详情{link} 回TD退订",
    )
    story.wave(
        video,
        "门户提醒未响应客户",
        WaveKind.FOLLOW_UP,
        clock.at(2, 10),
        channels=[WaveChannel.PORTAL],
        source=WaveSource.NOT_RESPONDED,
        source_wave=video_sms,
        offer=o_video,
        subject="视频会员赠话费活动",
        message="{name}您好，订视频会员连续3个月赠话费20元，活动还剩最后几天。",
    )

    # --- 2. ready --------------------------------------------------------------------------
    cloud = story.campaign(
        code="cloud-half",
        name="云盘半价体验",
        segment=s_cloud,
        offers=[o_cloud],
        units=["su"],
        starts=4,
        ends=30,
        priority=3,
        goal="云盘月包新增",
        lead_days=2,
    )
    cloud_mail = story.wave(
        cloud,
        "邮件与门户通知",
        WaveKind.BROADCAST,
        clock.at(4, 10),
        channels=[WaveChannel.EMAIL, WaveChannel.PORTAL],
        offer=o_cloud,
        subject="{name}，云盘200G前三个月半价",
        message="{name}您好：云盘200G月包首三月半价，照片文件安全备份。立即办理：{link}",
    )

    # --- 3. in review, not all signed -------------------------------------------------------
    ringtone = story.campaign(
        code="ringtone-free",
        name="彩铃首月免费",
        segment=s_ringtone,
        offers=[o_ringtone],
        units=["gz"],
        starts=6,
        ends=36,
        priority=2,
        goal="彩铃月包新增",
    )
    story.wave(
        ringtone,
        "短信推送",
        WaveKind.BROADCAST,
        clock.at(6, 10),
        channels=[WaveChannel.SMS, WaveChannel.PORTAL],
        offer=o_ringtone,
        message="【营销服】{name}您好，彩铃月包首月免费，回复KT开通，回TD退订",
    )

    # --- 4. completed -------------------------------------------------------------------------
    speedup = story.campaign(
        code="bb-speedup",
        name="宽带提速季",
        segment=s_broadband,
        offers=[o_broadband],
        units=["east"],
        starts=-28,
        ends=-5,
        priority=6,
        goal="宽带升级千兆",
        goal_conversions=40,
        expected_take_up=Decimal("0.04"),
        complaint_threshold=Decimal("50"),
    )
    sp_broadcast = story.wave(
        speedup,
        "短信与邮件通知",
        WaveKind.BROADCAST,
        clock.at(-28, 10),
        channels=[WaveChannel.SMS, WaveChannel.EMAIL],
        offer=o_broadband,
        subject="{name}，千兆宽带升级八折",
        message="【营销服】{name}您好，宽带升级千兆包年八折，详情{link} 回TD退订",
    )
    sp_follow = story.wave(
        speedup,
        "未响应客户：门户提醒，高价值客户经理上门",
        WaveKind.FOLLOW_UP,
        clock.at(-24, 10),
        channels=[WaveChannel.PORTAL],
        source=WaveSource.NOT_RESPONDED,
        source_wave=sp_broadcast,
        offer=o_broadband,
        visit_min_value=_visit_threshold(),
        subject="千兆宽带八折，活动即将结束",
        message="{name}您好，宽带升级千兆包年八折，活动即将结束。立即办理：{link}",
    )
    sp_calls = story.wave(
        speedup,
        "外呼仍未响应客户",
        WaveKind.CALL,
        clock.at(-19, 9),
        ends_at=clock.at(-17, 18),
        source=WaveSource.NOT_RESPONDED,
        source_wave=sp_follow,
        offer=o_broadband,
        agent_role=AgentRole.SERVICE_AGENT,
        agents=2,
        hours=Decimal("6"),
        calls_per_agent_hour=8,
    )

    # --- 5 and 6. two campaigns competing for the same customers ----------------------------
    router = story.campaign(
        code="5g-router",
        name="5G升级送路由器",
        segment=s_upgrade,
        offers=[o_router],
        units=["bj", "hz"],
        starts=-12,
        ends=18,
        priority=8,
        goal="5G智享199升级",
        goal_conversions=60,
        expected_take_up=take_up,
    )
    earbuds = story.campaign(
        code="5g-earbuds",
        name="5G尊享送耳机",
        segment=s_upgrade,
        offers=[o_earbuds],
        units=["bj", "hz"],
        starts=-11,
        ends=10,
        priority=3,
        goal="5G尊享299升级",
        goal_conversions=30,
        expected_take_up=take_up,
    )
    r_broadcast = story.wave(
        router,
        "邮件、短信、门户通知",
        WaveKind.BROADCAST,
        clock.at(-10, 10),
        channels=[WaveChannel.EMAIL, WaveChannel.SMS, WaveChannel.PORTAL],
        offer=o_router,
        subject="{name}，升级5G智享送{gift}",
        message="【营销服】{name}您好，升级5G智享199元套餐即送{gift}，详情{link} 回TD退订",
    )
    r_calls = story.wave(
        router,
        "外呼未响应客户",
        WaveKind.CALL,
        clock.at(-8, 9),
        ends_at=clock.at(4, 18),
        source=WaveSource.NOT_RESPONDED,
        source_wave=r_broadcast,
        offer=o_router,
        agent_role=AgentRole.SERVICE_AGENT,
        agents=3,
        hours=Decimal("8"),
        calls_per_agent_hour=6,
    )
    story.wave(
        router,
        "未接通客户：短信，高价值客户经理上门",
        WaveKind.FOLLOW_UP,
        clock.at(6, 10),
        channels=[WaveChannel.SMS, WaveChannel.PORTAL],
        source=WaveSource.NOT_REACHED,
        source_wave=r_calls,
        offer=o_router,
        visit_min_value=_visit_threshold(),
        message="【营销服】{name}您好，升级5G送{gift}活动名额有限，详情{link} 回TD退订",
    )
    e_broadcast = story.wave(
        earbuds,
        "短信与邮件通知",
        WaveKind.BROADCAST,
        clock.at(-9, 10),
        channels=[WaveChannel.SMS, WaveChannel.EMAIL],
        offer=o_earbuds,
        subject="{name}，升级5G尊享送{gift}",
        message="【营销服】{name}您好，升级5G尊享299元套餐送{gift}，详情{link} 回TD退订",
    )

    # --- 7. draft ------------------------------------------------------------------------------
    enterprise = story.campaign(
        code="enterprise-line",
        name="政企专线季度推广",
        segment=s_enterprise,
        offers=[o_enterprise],
        units=["tj"],
        starts=14,
        ends=45,
        priority=5,
        goal="政企专线新装",
    )
    story.wave(
        enterprise,
        "邮件邀约",
        WaveKind.BROADCAST,
        clock.at(14, 10),
        channels=[WaveChannel.EMAIL],
        offer=o_enterprise,
        subject="{name}：千兆专线九五折",
        message="尊敬的{name}：政企千兆专线新装年费九五折，客户经理将与您联系。{link}",
    )

    # === the month, in the order it happened ==================================================
    # The completed campaign: reviewed five weeks ago, three waves, closed five days ago.
    campaign_submit(actor=cm, campaign=speedup, now=clock.at(-33, 10))
    story.sign(speedup, clock.at(-32, 10))
    campaign_launch(actor=cm, campaign=speedup, now=clock.at(-28, 9))
    story.send(story.plan(sp_broadcast))
    story.respond(sp_broadcast, answer_mix, share=0.12)
    story.send(story.plan(sp_follow))
    story.respond(sp_follow, answer_mix, share=0.1)
    # every visit is made: the wave is done once its portal messages and visits are
    story.work(sp_follow, visit_mix, share=1.0, start=clock.at(-23, 10), limit=None)
    waves_due(now=clock.at(-22, 9))  # the dispatch job sees the wave through and closes it
    story.plan(sp_calls)
    wave_start(wave=sp_calls, now=sp_calls.scheduled_at)
    story.work(sp_calls, call_mix, share=0.8, start=sp_calls.scheduled_at)
    waves_due(now=clock.at(-17, 18, 30))  # the call window closed: calls not made lapse
    report.conversions += conversions_attribute(now=clock.at(-6, 20))
    campaign_complete(actor=cm, campaign=speedup, now=clock.at(-5, 18))

    # The two competitors: reviewed together, their conflict accepted, both launched.
    campaign_submit(actor=cm, campaign=router, now=clock.at(-16, 10))
    campaign_submit(actor=cm, campaign=earbuds, now=clock.at(-15, 10))
    story.sign(router, clock.at(-15, 14))
    story.sign(earbuds, clock.at(-14, 14))
    campaign_launch(actor=cm, campaign=router, now=clock.at(-12, 9))
    campaign_launch(actor=cm, campaign=earbuds, now=clock.at(-11, 9))
    story.plan(r_broadcast)
    story.plan(e_broadcast)
    story.send(r_broadcast)
    story.respond(r_broadcast, answer_mix, share=0.1)
    # The router's call list is planned the evening after its broadcast, while the earbuds'
    # broadcast still waits: where the caps leave room for one, the better contact wins.
    story.plan(r_calls)
    story.send(Wave.objects.get(pk=e_broadcast.pk))
    story.respond(e_broadcast, answer_mix, share=0.1)
    wave_start(wave=r_calls, now=r_calls.scheduled_at)
    story.work(r_calls, call_mix, share=0.3, start=r_calls.scheduled_at)

    # The paused one: its SMS drew complaints and the complaint-rate check stopped it.
    campaign_submit(actor=cm, campaign=video, now=clock.at(-12, 10))
    story.sign(video, clock.at(-11, 10))
    campaign_launch(actor=cm, campaign=video, now=clock.at(-8, 9))
    story.plan(video_sms)
    story.send(video_sms, batches=1)
    story.respond(video_sms, answer_mix, share=0.05)
    # Customers call in to complain about the SMS; the service desk files each complaint
    # naming the campaign, and the complaint-rate check (as the dispatch job runs it) pauses
    # the campaign once they pass its threshold.
    contacted = list(
        Delivery.objects.filter(wave=video_sms, status__in=CONTACTED_STATUSES)
        .order_by("pk")
        .values_list("customer_id", flat=True)
    )
    agent = story.users.get("svc_south")
    for i, customer_id in enumerate(contacted[:MAX_COMPLAINTS]):
        if Campaign.objects.filter(pk=video.pk, status=CampaignStatus.PAUSED).exists():
            break
        opened = clock.at(-5, 10) + timedelta(minutes=17 * i)
        ticket_create(
            actor=agent,
            customer=Customer.objects.get(pk=customer_id),
            kind=TicketKind.COMPLAINT,
            subject="营销短信打扰，要求停止推送",
            description="客户表示未同意接收视频会员推广短信。",
            channel=TicketChannel.PHONE,
            complaint_reason=ComplaintReason.UNREASONABLE_CONDITIONS,
            campaign_id=video.pk,
            opened_at=opened,
        )
        complaint_rate_check(campaign_id=video.pk, now=opened + timedelta(minutes=5))

    # Ready: every line signed, waiting for its start.
    campaign_submit(actor=cm, campaign=cloud, now=clock.at(-3, 10))
    story.sign(cloud, clock.at(-2, 10))
    story.plan(cloud_mail)

    # In review: the materials are signed, the service review and the training are not.
    campaign_submit(actor=cm, campaign=ringtone, now=clock.at(-1, 10))
    story.sign(
        ringtone,
        clock.at(-1, 15),
        skip=(ChecklistKind.SERVICE_REVIEW, ChecklistKind.TRAINING),
    )
    try:
        campaign_launch(actor=cm, campaign=ringtone, now=clock.now)
    except NotReady:
        pass  # as it should be: the refusal lists what is missing
    else:  # pragma: no cover - the checklist rules changed
        raise RuntimeError("the campaign in review launched with unsigned lines")

    report.conversions += conversions_attribute(now=clock.now)

    # --- the report ----------------------------------------------------------------------------
    for status in CampaignStatus.values:
        report.campaigns[status] = Campaign.objects.filter(status=status).count()
    report.deliveries = Delivery.objects.count()
    report.lost_arbitration = Delivery.objects.filter(
        reason__startswith="lost_arbitration:"
    ).count()
    report.complaints = Ticket.objects.filter(
        kind=TicketKind.COMPLAINT, campaign_id__in=[video.pk]
    ).count()
    return report
