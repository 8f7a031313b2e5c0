"""The next best action: candidates, drops with reasons, ranking by the score, outcomes.

Given/when/then on a small organisation: offers created by the campaign manager, a Hangzhou
customer served by the East service agent.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from django.utils import timezone

from tests.decisions.conftest import most_valuable_at_risk
from tests.factories import ProductFactory
from yiti.campaigns.models import OfferReservation
from yiti.campaigns.services import offer_create, offer_reserve, offer_update
from yiti.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.customers.models import Order
from yiti.customers.services import consent_record, customer_create, order_create
from yiti.decisions import nba, selectors
from yiti.decisions.models import NbaOutcome, Propensity
from yiti.decisions.nba import Context
from yiti.decisions.outcomes import nba_outcome_record
from yiti.decisions.selectors import value_settings_current
from yiti.decisions.services import context_weights_save
from yiti.decisions.weights import ContextWeights
from yiti.engagement import policy
from yiti.engagement.models import ContactPolicyRule, Interaction
from yiti.engagement.policy_data import policy_inputs
from yiti.engagement.services import interaction_record, suppression_lift, suppression_set

CALL = Context(channel="call", reason="general")


@pytest.fixture
def shop(org):
    plan = ProductFactory(
        code="plan5g", name="5G plan", category="mobile_plan", price=200, margin_rate="0.5000"
    )
    bb = ProductFactory(
        code="bb1000",
        name="Gigabit broadband",
        category="broadband",
        price=1000,
        margin_rate="0.4000",
    )
    tv = ProductFactory(
        code="iptv", name="IPTV", category="value_added", price=100, margin_rate="0.5000"
    )
    return {"plan": plan, "bb": bb, "tv": tv}


def _customer(org, name: str = "李娜", *, consent: bool = True, unit=None):
    customer = customer_create(
        actor=org.users["am_hz"], name=name, unit=unit or org.hz, owner=org.users["am_hz"]
    )
    if consent:
        consent_record(
            actor=org.users["am_hz"],
            customer=customer,
            channel="call",
            purpose="marketing",
            granted=True,
        )
    return customer


def _offer(org, code: str, product, **extra):
    defaults = {"name": code, "benefit": "discount", "benefit_value": 10}
    defaults.update(extra)
    return offer_create(actor=org.users["cm"], code=code, product=product, **defaults)


def _decide(org, customer, context: Context = CALL, user: str = "svc_east"):
    return selectors.next_best_for(org.users[user], customer.pk, context)


def test_ranking_follows_the_score_and_explains_each_part(org, shop):
    # given two offers: broadband (margin ¥400 less 10% = ¥300) and a plan (¥100 less ¥20)
    bb = _offer(org, "bb-10", shop["bb"])
    plan = _offer(org, "plan-10", shop["plan"])
    customer = _customer(org)

    # when the agent asks for the next best action on a call
    best = _decide(org, customer)

    # then both offers and the follow-up are ranked, best score first
    keys = [a.key for a in best.actions]
    assert {f"offer:{bb.pk}", f"offer:{plan.pk}", "care:follow_up"} <= set(keys)
    scores = [a.score for a in best.actions]
    assert scores == sorted(scores, reverse=True)
    assert keys.index(f"offer:{bb.pk}") < keys.index(f"offer:{plan.pk}")
    for a in best.actions:
        # the score is the product of its parts, and each part is explained
        assert a.score == pytest.approx(
            a.propensity * a.value * a.priority_weight * a.context_weight
        )
        assert len(a.reasons) == 4 and all(a.reasons)
    top_bb = next(a for a in best.actions if a.offer_id == bb.pk)
    assert top_bb.value == pytest.approx(300)
    assert top_bb.propensity == pytest.approx(nba.DEFAULT_TAKE_UP)
    # a retention call is not proposed to a customer who is not at risk, and says why
    retention = next(d for d in best.dropped if d.key == "care:retention")
    assert retention.code == "not_eligible" and retention.reason


def test_context_weights_change_the_ranking(org, shop):
    # given an offer whose score on a call beats the follow-up
    _offer(org, "bb-10", shop["bb"])
    customer = _customer(org)
    on_call = _decide(org, customer, Context(channel="call", reason="consultation"))
    assert on_call.actions[0].kind == "offer"
    # when the customer came about a complaint (no open complaint ticket: not suppressed)
    on_complaint = _decide(org, customer, Context(channel="call", reason="complaint"))
    # then the offer weighs less and the follow-up more
    offer_call = next(a for a in on_call.actions if a.kind == "offer")
    offer_complaint = next(a for a in on_complaint.actions if a.kind == "offer")
    assert offer_complaint.context_weight < offer_call.context_weight
    follow = next(a for a in on_complaint.actions if a.key == "care:follow_up")
    assert (
        follow.context_weight
        > next(a for a in on_call.actions if a.key == "care:follow_up").context_weight
    )


def test_context_weights_set_as_data_rank_the_next_decision_and_are_audited(org, shop):
    """An administrator's context weights reach the very next decision (no refit, no
    restart): the offer's weight, its sentence and the ranking follow them; the change is
    audited with the weights before and after; unchanged weights save nothing."""
    bb = _offer(org, "bb-10", shop["bb"])
    customer = _customer(org)
    billing = Context(channel="call", reason="billing")
    before = _decide(org, customer, billing)
    assert before.actions[0].key == f"offer:{bb.pk}"
    assert before.actions[0].context_weight == pytest.approx(1.1)  # the defaults
    context_weights_save(
        actor=org.users["admin"], weights={"offer:billing": "0.05", "channel:call": "0.8"}
    )
    after = _decide(org, customer, billing)
    offer = next(a for a in after.actions if a.kind == "offer")
    assert offer.context_weight == pytest.approx(0.05 * 0.8)
    assert "×0.04" in offer.reasons[-1] and "×0.80" in offer.reasons[-1]
    assert after.actions[0].kind == "care"  # the follow-up now outranks the offer
    follow = next(a for a in after.actions if a.key == "care:follow_up")
    assert follow.context_weight == pytest.approx(1.0 * 0.8)  # care's billing weight kept
    event = AuditEvent.objects.get(action="decisions.context_weights_update")
    assert event.changes == {"channel:call": [1.0, 0.8], "offer:billing": [1.1, 0.05]}
    context_weights_save(actor=org.users["admin"], weights={"offer:billing": "0.05"})
    assert AuditEvent.objects.filter(action="decisions.context_weights_update").count() == 1


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        ({"offer:billing": "-0.1"}, "offer:billing"),
        ({"care:complaint": "5.01"}, "care:complaint"),
        ({"channel:sms": "lots"}, "channel:sms"),
        ({"channel:sms": "NaN"}, "channel:sms"),
        ({"offer:billing": "2", "offer:weather": "1"}, "offer:weather"),
    ],
)
def test_context_weights_out_of_range_are_refused_and_change_nothing(org, weights, field):
    with pytest.raises(ValidationFailed) as refused:
        context_weights_save(actor=org.users["admin"], weights=weights)
    assert refused.value.field == field
    assert ContextWeights.of(value_settings_current().context_weights) == ContextWeights.of(None)
    assert not AuditEvent.objects.filter(action="decisions.context_weights_update").exists()


def test_only_administrators_set_context_weights(org):
    with pytest.raises(PermissionDenied):
        context_weights_save(actor=org.users["analyst"], weights={"offer:billing": "2"})


def test_a_suppressed_customer_gets_no_marketing_action(org, shop):
    # given a customer with marketing consent and an open complaint (on the suppression list)
    _offer(org, "bb-10", shop["bb"])
    _offer(org, "plan-10", shop["plan"])
    customer = _customer(org)
    suppression_set(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=1
    )

    # when the agent serving the complaint asks for the next best action
    best = _decide(org, customer, Context(channel="call", reason="complaint"))

    # then only care actions are proposed, and every offer is dropped as suppressed
    assert best.actions and {a.kind for a in best.actions} == {"care"}
    offers = [d for d in best.dropped if d.kind == "offer"]
    assert len(offers) == 2 and {d.code for d in offers} == {"suppressed"}
    assert all("complaint" in d.reason.lower() for d in offers)
    assert best.marketing_blocked

    # and once the complaint is resolved the offers are back
    suppression_lift(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=1
    )
    after = _decide(org, customer)
    assert any(a.kind == "offer" for a in after.actions)


def test_drops_carry_their_reasons(org, shop):
    customer = _customer(org)
    other = _customer(org, "王芳")
    # not eligible: only most valuable customers
    mvc_only = _offer(
        org,
        "mvc-only",
        shop["tv"],
        eligibility={
            "match": "all",
            "conditions": [{"field": "value_tier", "op": "in", "value": ["mvc"]}],
        },
    )
    # out of stock: one gift, taken by another customer
    gift = _offer(
        org,
        "gift-1",
        shop["tv"],
        benefit="gift",
        benefit_value=30,
        gift_name="电饭煲",
        stock_total=1,
    )
    offer_reserve(actor=None, offer=gift, customer=other)
    # conflict: the customer holds the product already
    order_create(actor=None, customer=customer, product=shop["plan"])
    holds = _offer(org, "plan-again", shop["plan"])
    # conflict: incompatible with an offer whose gift the customer holds
    held = _offer(
        org, "held", shop["bb"], benefit="gift", benefit_value=50, gift_name="路由器", stock_total=5
    )
    offer_reserve(actor=None, offer=held, customer=customer)
    clash = _offer(org, "clash", shop["bb"], incompatible_with=[held])

    best = _decide(org, customer)
    codes = {d.offer_id: d.code for d in best.dropped if d.kind == "offer"}
    assert codes[mvc_only.pk] == "not_eligible"
    assert codes[gift.pk] == "out_of_stock"
    assert codes[holds.pk] == "conflict"
    assert codes[held.pk] == "conflict"  # he holds it already
    assert codes[clash.pk] == "conflict"
    reasons = {d.offer_id: d.reason for d in best.dropped if d.kind == "offer"}
    assert held.name in reasons[clash.pk]  # names the held offer it clashes with
    assert shop["plan"].name in reasons[holds.pk]  # names the product he holds
    assert "电饭煲" in reasons[gift.pk]  # names the gift that ran out
    assert all(d.reason for d in best.dropped)

    # consent: a customer without a marketing opt-in on the phone
    no_consent = _customer(org, "赵敏", consent=False)
    plain = _offer(org, "plain", shop["bb"])
    nb = _decide(org, no_consent)
    assert next(d for d in nb.dropped if d.offer_id == plain.pk).code == "consent"

    # policy cap: one marketing contact a week, already used yesterday
    ContactPolicyRule.objects.create(
        name="marketing once a week", max_contacts=1, window_days=7, purposes=["marketing"]
    )
    interaction_record(
        actor=None,
        customer=customer,
        channel="sms",
        direction="out",
        purpose="marketing",
        occurred_at=timezone.now() - timedelta(days=1),
        check_access=False,
    )
    capped = _decide(org, customer)
    drop = next(d for d in capped.dropped if d.offer_id == plain.pk)
    assert drop.code == "policy_cap" and "marketing once a week" in drop.reason
    assert {a.kind for a in capped.actions} == {"care"}  # care is outside the rule's scope


def test_a_retention_call_for_a_most_valuable_customer_at_risk(org, shop):
    customer = _customer(org)
    most_valuable_at_risk(customer)  # clv 5000, churn risk 0.7
    best = _decide(org, customer)
    retention = next(a for a in best.actions if a.key == "care:retention")
    assert retention.value == pytest.approx(5000 * 0.7)
    assert best.actions[0].key == "care:retention"
    assert best.segment == "mvc"


def test_accept_reserves_the_gift_records_the_sale_for_the_unit_and_the_timeline(org, shop):
    gift = _offer(
        org,
        "bb-gift",
        shop["bb"],
        benefit="gift",
        benefit_value=50,
        gift_name="路由器",
        stock_total=3,
    )
    customer = _customer(org)
    agent = org.users["svc_east"]
    best = _decide(org, customer, Context(channel="call", reason="billing"))
    assert best.actions[0].key == f"offer:{gift.pk}"

    recorded = nba_outcome_record(
        actor=agent,
        customer=customer,
        action=f"offer:{gift.pk}",
        result="accepted",
        context=Context(channel="call", reason="billing"),
    )

    gift.refresh_from_db()
    assert gift.stock_reserved == 1
    reservation = OfferReservation.objects.get(offer=gift, customer=customer)
    assert reservation.unit_id == org.east.pk and reservation.source == "nba"
    order = Order.objects.get(customer=customer, product=shop["bb"])
    assert order.unit_id == org.east.pk and order.sold_by_id == agent.pk
    assert order.channel == "call_centre"
    interaction = Interaction.objects.get(customer=customer, outcome="accepted")
    assert interaction.channel == "call" and interaction.purpose == "marketing"
    assert recorded.outcome.order_id == order.pk
    assert recorded.outcome.interaction_id == interaction.pk
    assert recorded.propensity.successes == 1
    assert recorded.outcome.propensity_after > recorded.outcome.propensity_before
    # and the customer now holds the product: the offer is dropped as a conflict
    again = _decide(org, customer)
    assert next(d for d in again.dropped if d.offer_id == gift.pk).code == "conflict"


def test_decline_lowers_the_propensity_for_the_segment(org, shop):
    offer = _offer(org, "bb-10", shop["bb"])
    a, b = _customer(org, "甲"), _customer(org, "乙")
    before = next(x for x in _decide(org, a).actions if x.offer_id == offer.pk).propensity

    nba_outcome_record(
        actor=org.users["svc_east"],
        customer=a,
        action=f"offer:{offer.pk}",
        result="declined",
        context=CALL,
    )

    row = Propensity.objects.get(action=f"offer:{offer.pk}", segment="unscored")
    assert (row.successes, row.failures) == (0, 1)
    after = next(x for x in _decide(org, b).actions if x.offer_id == offer.pk).propensity
    assert after < before
    assert after == pytest.approx(row.posterior_mean)
    assert Interaction.objects.filter(customer=a, outcome="declined").count() == 1
    assert NbaOutcome.objects.get(customer=a).result == "declined"
    assert not Order.objects.filter(customer=a).exists()


def test_an_action_the_decision_drops_cannot_be_accepted(org, shop):
    offer = _offer(org, "bb-10", shop["bb"])
    customer = _customer(org)
    suppression_set(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=9
    )
    with pytest.raises(Conflict) as exc:
        nba_outcome_record(
            actor=org.users["svc_east"],
            customer=customer,
            action=f"offer:{offer.pk}",
            result="accepted",
            context=CALL,
        )
    assert exc.value.code == "suppressed"
    assert not OfferReservation.objects.exists() and not Order.objects.exists()


def test_customers_outside_the_users_units_are_not_found(org, shop):
    customer = _customer(org)
    with pytest.raises(NotFound):
        _decide(org, customer, user="am_bj")


def test_a_warm_decision_is_two_queries_whatever_the_offers(org, shop, django_assert_num_queries):
    for i in range(30):
        _offer(org, f"o{i}", shop["bb"] if i % 2 else shop["plan"])
    customer = _customer(org)
    _decide(org, customer)  # compiles the catalogue
    loaded = None
    with django_assert_num_queries(2):
        loaded = nba.load(customer.pk, now=timezone.now())
    assert loaded is not None
    with django_assert_num_queries(0):
        nba.decide(loaded, CALL)


def test_a_changed_offer_invalidates_the_compiled_catalogue(org, shop):
    offer = _offer(org, "bb-10", shop["bb"])
    customer = _customer(org)
    assert any(a.offer_id == offer.pk for a in _decide(org, customer).actions)
    offer_update(
        actor=org.users["cm"],
        offer=offer,
        eligibility={
            "match": "all",
            "conditions": [{"field": "city", "op": "in", "value": ["北京"]}],
        },
    )
    drop = next(d for d in _decide(org, customer).dropped if d.offer_id == offer.pk)
    assert drop.code == "not_eligible"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_single_customer_policy_path_agrees_with_the_bulk_inputs(org, seed):
    """``nba.policy_check`` on the two-query profile decides as ``evaluate`` on
    ``policy_inputs`` (the bulk loader) for the same customer."""
    rng = np.random.default_rng(seed)
    ContactPolicyRule.objects.create(
        name="m2w", max_contacts=2, window_days=7, purposes=["marketing"]
    )
    ContactPolicyRule.objects.create(
        name="all5m", max_contacts=5, window_days=30, weights={"care": 0.5, "service": 0.5}
    )
    now = timezone.now()
    customers = [_customer(org, f"客户{i}", consent=bool(rng.random() < 0.6)) for i in range(6)]
    for c in customers:
        for _ in range(int(rng.integers(0, 6))):
            interaction_record(
                actor=None,
                customer=c,
                channel=str(rng.choice(["sms", "call", "email"])),
                direction="out",
                purpose=str(rng.choice(["marketing", "care", "service"])),
                occurred_at=now - timedelta(days=float(rng.uniform(0, 40))),
                check_access=False,
            )
        if rng.random() < 0.3:
            suppression_set(actor=None, customer=c, reason="do_not_disturb")
    catalogue = nba.catalogue_current()
    for c in customers:
        loaded = nba.load(c.pk, now=now)
        assert loaded is not None
        for purpose in ("marketing", "care"):
            mine = nba.policy_check(
                state=loaded.state,
                consent=loaded.profile.consent,
                catalogue=catalogue,
                channel="call",
                purposes=[purpose],
                now=now,
            )[purpose]
            inputs = policy_inputs(customers=np.array([c.pk]), first=now, last=now)
            cand = policy.Candidates.of(
                customer_id=[c.pk],
                campaign_id=[1],
                wave_id=[1],
                channel=["call"],
                purpose=[purpose],
                planned_at=[int(now.timestamp())],
                priority=[1.0],
                expected_value=[1.0],
            )
            d = policy.evaluate(
                cand,
                inputs.history,
                inputs.rules,
                inputs.quiet,
                inputs.consent,
                inputs.suppressed,
                utc_offset=inputs.utc_offset,
            )
            assert mine == ("" if d.keep[0] else d.reason_of(0)), (c.pk, purpose)


def test_eligibility_rules_read_the_profile_dates(org, shop):
    offer = _offer(
        org,
        "tenure",
        shop["bb"],
        eligibility={
            "match": "all",
            "conditions": [{"field": "tenure_days", "op": "gte", "value": 365}],
        },
    )
    customer = _customer(org)
    customer.since = date.today() - timedelta(days=800)
    customer.save(update_fields=["since"])
    assert any(a.offer_id == offer.pk for a in _decide(org, customer).actions)


def test_the_drops_shown_are_the_first_of_each_code_most_telling_first():
    """An answer lists a few drops: one of each code in ``DROP_ORDER``, then the next ones in
    the order they were dropped; the counts cover every drop, in the same order."""
    offers = [nba.CareRef(f"offer:{i}", f"o{i}") for i in range(6)]
    drops = [
        (offers[0], "offer", "not_eligible", nba.WHY_RULE, ""),
        (offers[1], "offer", "out_of_stock", nba.WHY_STOCK, "电饭煲"),
        (offers[2], "offer", "not_eligible", nba.WHY_RULE, ""),
        (offers[3], "offer", "suppressed", nba.WHY_POLICY, "Open complaint"),
        (offers[4], "offer", "out_of_stock", nba.WHY_STOCK, ""),
        (offers[5], "offer", "not_eligible", nba.WHY_RULE, ""),
    ]
    counts, shown = nba.drops_summary(drops, details=4)
    assert list(counts.items()) == [("suppressed", 1), ("out_of_stock", 2), ("not_eligible", 3)]
    assert [d.key for d in shown] == ["offer:3", "offer:1", "offer:0", "offer:2"]
    assert "电饭煲" in shown[1].reason
    assert [d.key for d in nba.drops_summary(drops, details=2)[1]] == ["offer:3", "offer:1"]
    assert len(nba.drops_summary(drops, details=10)[1]) == 6
