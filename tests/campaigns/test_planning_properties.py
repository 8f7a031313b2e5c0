"""The planner against a brute-force reference, on small random worlds in the database.

Each example builds a few customers (random consent per channel, random contact history,
random suppressions and value), one to three contact-policy rules, maybe quiet hours, and two
or three campaigns with one broadcast wave each on random days, with random priorities and
channel orders (the portal inbox among them: it needs no recorded opt-in, so a customer
without consent on the channels before it gets the portal). Contacts fall at 10:00 and 15:00
local and history at the same times of day, give or take a second, so the rolling windows'
edges (whole days apart) are hit. The waves are planned **one after the other, in a random order** (some twice),
as campaign managers would. Afterwards the deliveries must be what the brute-force reference
of tests/engagement/test_policy.py decides for all the campaigns' contacts at once: the same
decision and the same reason for every customer of every wave. Checked besides, directly:
no customer exceeds any cap in any window (history plus every planned contact), and each
customer's best contact that passes consent, suppression and quiet hours is planned unless a
cap forbids it on its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dtime

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.campaigns.conftest import BJ
from tests.engagement.test_policy import _weight, reference, windows
from yiti.campaigns import services
from yiti.campaigns.exclusions import decisions
from yiti.campaigns.planning import wave_plan
from yiti.customers.models import ConsentState, Customer, CustomerValue
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.engagement.policy_data import quiet_active, rules_active, utc_offset

pytestmark = pytest.mark.django_db

CHANNELS = ["email", "sms"]  # with a consent of their own
WAVE_CHANNELS = [*CHANNELS, "portal"]
RULES = [
    ("两周三次", 3, 14, ["marketing"], [], {}),
    ("每周一次", 1, 7, ["marketing"], [], {}),
    ("五天三次含服务", 3, 5, [], [], {"service": 0.5}),
    ("短信每日一条", 1, 1, [], ["sms"], {}),
    ("每周两次（按自然日）", 2, 7, ["marketing"], [], {}, True),
]


class _Rollback(Exception):
    pass


@st.composite
def worlds(draw):
    n = draw(st.integers(1, 4))
    customers = [
        {
            "consent": {ch: draw(st.booleans()) for ch in CHANNELS},
            "clv": draw(st.sampled_from([0.0, 100.0, 1000.0])),
            "suppressed": draw(st.integers(0, 5)) == 0,
            "history": [
                (
                    draw(st.integers(0, 9)),  # days ago
                    # at the waves' times of day (10:00, 15:00), a second either way, or 5 min
                    # before now
                    draw(
                        st.one_of(
                            st.none(),
                            st.sampled_from([10 * 3600, 15 * 3600]).flatmap(
                                lambda t: st.sampled_from([t - 1, t, t + 1])
                            ),
                        )
                    ),
                    draw(st.sampled_from([*CHANNELS, "call", "portal"])),
                    draw(st.sampled_from(["marketing", "marketing", "service"])),
                )
                for _ in range(draw(st.integers(0, 3)))
            ],
        }
        for _ in range(n)
    ]
    rules = draw(st.lists(st.sampled_from(RULES), min_size=1, max_size=3, unique_by=lambda r: r[0]))
    quiet_days = draw(st.lists(st.integers(0, 6), unique=True, max_size=2))
    campaigns = []
    for _ in range(draw(st.integers(2, 3))):
        channels = draw(st.permutations(WAVE_CHANNELS))[: draw(st.integers(1, 3))]
        campaigns.append(
            {
                "priority": draw(st.integers(1, 9)),
                "day": draw(st.integers(4, 9)),
                "hour": draw(st.sampled_from([10, 15])),
                "channels": channels,
            }
        )
    order = draw(st.permutations(range(len(campaigns))))
    again = draw(st.lists(st.integers(0, len(campaigns) - 1), max_size=2))
    return customers, rules, quiet_days, campaigns, [*order, *again]


def _build(world, make_campaign, spec):
    customers_spec, rules, quiet_days, campaigns_spec, order = spec
    now = timezone.now()
    for name, n, d, purposes, channels, weights, *calendar in rules:
        ContactPolicyRule.objects.create(
            name=name,
            max_contacts=n,
            window_days=d,
            purposes=purposes,
            channels=channels,
            weights=weights,
            calendar_days=bool(calendar),
        )
    if quiet_days:  # 14:00–16:00 on some days: the 15:00 waves of those days are quiet
        QuietHours.objects.create(name="午休", days=quiet_days, start=dtime(14), end=dtime(16))
    customers = []
    for i, c in enumerate(customers_spec):
        customer = world.customers[i]
        ConsentState.objects.filter(customer=customer).delete()
        for ch, granted in c["consent"].items():
            if granted:
                ConsentState.objects.create(
                    customer=customer, channel=ch, purpose="marketing", granted=True, since=now
                )
        CustomerValue.objects.create(
            customer=customer,
            tier="standard",
            clv=c["clv"],
            expected_purchases=1,
            p_alive=1,
            churn_risk=0,
            cost_to_serve=0,
            net_value=c["clv"],
            fit_id=1,
            computed_at=now,
        )
        if c["suppressed"]:
            Suppression.objects.create(customer=customer, reason="do_not_disturb")
        for days_ago, second, channel, purpose in c["history"]:
            if second is None:
                at = now - timedelta(days=days_ago, minutes=5)
            else:
                day = timezone.localdate() - timedelta(days=days_ago)
                at = datetime(day.year, day.month, day.day, tzinfo=BJ) + timedelta(seconds=second)
            Interaction.objects.create(
                customer=customer,
                occurred_at=at,
                channel=channel,
                direction="out",
                purpose=purpose,
            )
        customers.append(customer)
    campaigns = []
    for k, c in enumerate(campaigns_spec):
        campaign = make_campaign(
            code=f"p{k}",
            priority=c["priority"],
            offers=[world.discount_offer],
            units=[world.org.hz],  # the first six customers; the spec uses at most four
            start_in=4,
            days=10,
            wave_in=c["day"],
            channels=list(c["channels"]),
            lead_days=0,
        )
        wave = campaign.waves.get()
        local = timezone.localdate() + timedelta(days=c["day"])
        wave.scheduled_at = datetime(local.year, local.month, local.day, c["hour"], tzinfo=BJ)
        wave.save(update_fields=["scheduled_at"])
        services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
        campaigns.append(campaign)
    return customers, campaigns, order


def _expected(world, customers, campaigns):
    """The reference's decision for every (wave, customer) of the campaigns' audiences."""
    offset = utc_offset(timezone.now())
    audience = list(Customer.objects.filter(unit=world.org.hz).order_by("pk"))
    consent = set(
        ConsentState.objects.filter(purpose="marketing", granted=True).values_list(
            "customer_id", "channel"
        )
    )
    values = dict(CustomerValue.objects.values_list("customer_id", "clv"))
    cands, keys = [], []
    for campaign in campaigns:
        wave = campaign.waves.get()
        margin = float(world.plan.price) * float(world.plan.margin_rate)
        for customer in audience:
            chosen = next(
                (ch for ch in wave.channels if ch == "portal" or (customer.pk, ch) in consent),
                wave.channels[0],
            )
            cands.append(
                {
                    "customer": customer.pk,
                    "campaign": campaign.pk,
                    "wave": wave.pk,
                    "channel": chosen,
                    "purpose": "marketing",
                    "at": int(wave.scheduled_at.timestamp()),
                    "priority": float(campaign.priority),
                    "value": round(
                        float(campaign.expected_take_up) * (margin + values.get(customer.pk, 0.0)),
                        4,
                    ),
                }
            )
            keys.append((wave.pk, customer.pk))
    history = [
        {
            "customer": cid,
            "at": int(at.timestamp()),
            "channel": ch,
            "purpose": pu,
            "count": 1,
        }
        for cid, at, ch, pu in Interaction.objects.filter(direction="out").values_list(
            "customer_id", "occurred_at", "channel", "purpose"
        )
    ]
    consent_rows = [(c, ch, "marketing", True) for c, ch in consent]
    suppressed = list(
        Suppression.objects.filter(lifted_at__isnull=True).values_list("customer_id", "reason")
    )
    labels = reference(
        cands, history, rules_active(), quiet_active(), consent_rows, suppressed, offset
    )
    return dict(zip(keys, labels, strict=True)), cands, history, offset


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=worlds())
def test_planning_waves_one_after_another_decides_as_the_reference_decides_them_all(
    world, make_campaign, spec
):
    try:
        with transaction.atomic():
            customers, campaigns, order = _build(world, make_campaign, spec)
            cm = world.org.users["cm"]
            for k in order:
                wave_plan(actor=cm, wave=campaigns[k].waves.get())

            expected, cands, history, offset = _expected(world, customers, campaigns)
            actual = {
                (c.waves.get().pk, customer): reason
                for c in campaigns
                for customer, reason in decisions(c.waves.get().pk).items()
            }
            assert actual == expected

            # no cap is ever exceeded: history plus every planned contact, every window
            rules = rules_active()
            kept = [x for x, key in zip(cands, expected, strict=True) if expected[key] == ""]
            for customer in {x["customer"] for x in cands}:
                contacts = [
                    (h["at"], h["channel"], h["purpose"], h["count"])
                    for h in history
                    if h["customer"] == customer
                ]
                mine = [x for x in kept if x["customer"] == customer]
                contacts += [(x["at"], x["channel"], "marketing", 1) for x in mine]
                for rule in rules:
                    for x in mine:
                        if not _weight(rule, x["channel"], "marketing"):
                            continue
                        for inside in windows(rule, x["at"], [c[0] for c in contacts], offset):
                            load = sum(
                                _weight(rule, ch, pu) * n
                                for at, ch, pu, n in contacts
                                if inside(at)
                            )
                            assert load <= rule.max_contacts * 1000

            # each customer's best contact never loses arbitration
            for customer in {x["customer"] for x in cands}:
                mine = [
                    (x, key)
                    for x, key in zip(cands, expected, strict=True)
                    if x["customer"] == customer
                ]
                best = max(
                    mine, key=lambda p: (p[0]["priority"] * p[0]["value"], -p[0]["campaign"])
                )
                assert not actual[best[1]].startswith("lost_arbitration:")
            raise _Rollback
    except _Rollback:
        pass
