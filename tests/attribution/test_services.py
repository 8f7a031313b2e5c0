"""Credit allocation among the units of a joint campaign: the plan, the nightly run and the
stored, explainable credit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.attribution.conftest import bj, launch, order, touch
from yiti.attribution import selectors, services
from yiti.attribution.models import Credit
from yiti.attribution.tasks import attribute_yesterday
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.core.scheduling import schedules

pytestmark = pytest.mark.django_db

DAY = (bj(2026, 12, 6), bj(2026, 12, 7))


@pytest.fixture
def three_touches(world, joint):
    """SMS by marketing on 12-01, call by Hangzhou on 12-03, visit by Ningbo on 12-05; the
    customer orders broadband (960, margin 384) on 12-06."""
    org, c = world.org, world.customers[0]
    touch(joint, c, "sms", bj(2026, 12, 1, 10))
    touch(joint, c, "call", bj(2026, 12, 3, 15), actor=org.users["am_hz"], outcome="accepted")
    touch(joint, c, "visit", bj(2026, 12, 5, 11), actor=org.users["am_nb"], outcome="reached")
    return order(world, c, bj(2026, 12, 6, 9))


def rows(campaign):
    return sorted(
        (r.order_id, r.unit.code, r.basis, r.channel, r.share, r.revenue, r.margin, r.model)
        for r in Credit.objects.filter(campaign=campaign).select_related("unit")
    )


def by_unit(campaign):
    """Revenue and margin per unit code, summed over the unit's rows."""
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for r in Credit.objects.filter(campaign=campaign).select_related("unit"):
        revenue, margin = totals.get(r.unit.code, (Decimal(0), Decimal(0)))
        totals[r.unit.code] = (revenue + r.revenue, margin + r.margin)
    return totals


def run(joint):
    return services.credit_attribute(
        campaign=joint, start=DAY[0], end=DAY[1], now=bj(2026, 12, 7, 1)
    )


def test_linear_by_touches_gives_each_unit_its_touch(world, joint, three_touches):
    result = run(joint)
    assert result.orders == 1 and result.rows == 3
    assert by_unit(joint) == {
        "mkt": (Decimal("320.00"), Decimal("128.00")),
        "hz": (Decimal("320.00"), Decimal("128.00")),
        "nb": (Decimal("320.00"), Decimal("128.00")),
    }


def test_switching_the_model_before_launch_changes_the_split(world, joint, three_touches):
    cm = world.org.users["cm"]
    services.plan_set(actor=cm, campaign=joint, model="last_touch", basis="touches")
    run(joint)
    assert by_unit(joint) == {"nb": (Decimal("960.00"), Decimal("384.00"))}
    services.plan_set(actor=cm, campaign=joint, model="position_based", basis="touches")
    run(joint)
    assert by_unit(joint) == {
        "mkt": (Decimal("384.00"), Decimal("153.60")),
        "hz": (Decimal("192.00"), Decimal("76.80")),
        "nb": (Decimal("384.00"), Decimal("153.60")),
    }


def test_fixed_shares_and_a_mix(world, joint, three_touches):
    org, cm = world.org, world.org.users["cm"]
    shares = {org.marketing.pk: "20", org.hz.pk: "50", org.nb.pk: "30"}
    services.plan_set(actor=cm, campaign=joint, model="linear", basis="fixed", shares=shares)
    run(joint)
    assert by_unit(joint) == {
        "mkt": (Decimal("192.00"), Decimal("76.80")),
        "hz": (Decimal("480.00"), Decimal("192.00")),
        "nb": (Decimal("288.00"), Decimal("115.20")),
    }
    services.plan_set(
        actor=cm, campaign=joint, model="last_touch", basis="mix", shares=shares, touch_weight="0.5"
    )
    run(joint)
    credit = {(code, basis): rev for _o, code, basis, _c, _s, rev, _m, _mod in rows(joint)}
    assert credit == {
        ("nb", "touch"): Decimal("480.00"),
        ("mkt", "agreement"): Decimal("96.00"),
        ("hz", "agreement"): Decimal("240.00"),
        ("nb", "agreement"): Decimal("144.00"),
    }


def test_shares_that_do_not_add_up_to_100_are_refused(world, joint):
    org, cm = world.org, world.org.users["cm"]
    with pytest.raises(ValidationFailed) as refused:
        services.plan_set(
            actor=cm,
            campaign=joint,
            model="linear",
            basis="fixed",
            shares={org.hz.pk: "50", org.nb.pk: "40"},
        )
    assert refused.value.code == "shares_not_100"
    assert "90 %" in refused.value.message and "100 %" in refused.value.message
    with pytest.raises(ValidationFailed) as outside:
        services.plan_set(
            actor=cm, campaign=joint, model="linear", basis="fixed", shares={org.bj.pk: "100"}
        )
    assert outside.value.code == "unit_not_in_campaign"
    with pytest.raises(ValidationFailed) as missing:
        services.plan_set(actor=cm, campaign=joint, model="linear", basis="mix")
    assert missing.value.code == "shares_missing"


def test_only_the_owner_units_campaign_managers_choose(world, joint):
    with pytest.raises(PermissionDenied):
        services.plan_set(
            actor=world.org.users["am_hz"], campaign=joint, model="shapley", basis="touches"
        )


def test_after_launch_a_change_needs_a_reason_and_is_audited(world, joint):
    cm = world.org.users["cm"]
    services.plan_set(actor=cm, campaign=joint, model="linear", basis="touches")
    launch(joint)
    with pytest.raises(ValidationFailed) as refused:
        services.plan_set(actor=cm, campaign=joint, model="markov", basis="touches")
    assert refused.value.code == "reason_required"
    services.plan_set(
        actor=cm, campaign=joint, model="markov", basis="touches", reason="各方协商一致"
    )
    event = AuditEvent.objects.filter(action="attribution.plan_set").order_by("-id").first()
    assert event.changes["reason"] == "各方协商一致"
    assert event.changes["before"]["model"] == "linear"
    assert event.changes["after"]["model"] == "markov"
    assert event.actor == cm


def test_a_rerun_gives_the_same_rows(world, joint, three_touches):
    services.plan_set(actor=world.org.users["cm"], campaign=joint, model="shapley", basis="touches")
    run(joint)
    first = rows(joint)
    run(joint)
    assert rows(joint) == first
    assert sum(r[5] for r in first) == Decimal("960.00")
    assert sum(r[6] for r in first) == Decimal("384.00")


def test_the_customers_own_answer_follows_the_campaign_not_the_customers_branch(world, joint):
    c = world.customers[0]  # a Hangzhou customer
    touch(joint, c, "sms", bj(2026, 12, 1, 10))
    touch(joint, c, "sms", bj(2026, 12, 2, 10), outcome="opened", inbound=True)
    touch(joint, c, "portal", bj(2026, 12, 3, 10), outcome="responded", inbound=True)
    order(world, c, bj(2026, 12, 6, 9))
    run(joint)
    assert by_unit(joint) == {"mkt": (Decimal("960.00"), Decimal("384.00"))}


def test_orders_outside_the_lookback_other_products_and_cancelled_orders_get_nothing(world, joint):
    c = world.customers
    touch(joint, c[0], "sms", bj(2026, 11, 1, 10))  # 35 days before its order
    order(world, c[0], bj(2026, 12, 6, 9))
    touch(joint, c[1], "sms", bj(2026, 12, 5, 10))
    order(world, c[1], bj(2026, 12, 6, 9), product=world.plan)  # not the offer's product
    touch(joint, c[2], "sms", bj(2026, 12, 5, 10))
    cancelled = order(world, c[2], bj(2026, 12, 6, 9))
    cancelled.status = "cancelled"
    cancelled.save()
    touch(joint, c[3], "sms", bj(2026, 12, 5, 10), outcome="failed")  # never reached
    order(world, c[3], bj(2026, 12, 6, 9))
    touch(joint, c[4], "sms", bj(2026, 12, 6, 12))  # after the order
    order(world, c[4], bj(2026, 12, 6, 9))
    assert run(joint).rows == 0


def test_each_order_is_explained(world, joint, three_touches, settings):
    run(joint)
    cm = world.org.users["cm"]
    page = selectors.order_allocations(cm, joint)
    assert page.items == []  # the marketing department sees no Hangzhou customer
    page = selectors.order_allocations(world.org.users["am_hz"], joint)
    assert len(page.items) == 1 and not page.has_next
    text = page.items[0].explanation
    assert "33 % 市场部 — SMS on 12-01" in text
    assert "33 % 杭州分公司 — Phone call on 12-03" in text
    assert "33 % 宁波分公司 — Visit on 12-05" in text
    [allocation] = selectors.order_allocation(world.org.users["admin"], three_touches.pk)
    assert allocation.explanation == text


def test_campaign_credit_and_the_comparison_of_models(world, joint, three_touches):
    run(joint)
    cm = world.org.users["cm"]
    credit = selectors.campaign_credit(cm, joint)
    assert credit.total_revenue == Decimal("960.00")
    assert {line.unit.code for line in credit.units} == {"mkt", "hz", "nb"}
    splits = {s.model: s for s in selectors.campaign_compare(cm, joint, now=bj(2026, 12, 7))}
    assert splits["linear"].chosen
    assert splits["first_touch"].units == {
        world.org.marketing.pk: (1.0, Decimal("960.00"), Decimal("384.00"))
    }
    for split in splits.values():
        assert sum(rev for _c, rev, _m in split.units.values()) == Decimal("960.00")


def test_credit_by_unit_sums_the_stored_credit_per_unit(world, joint, three_touches):
    run(joint)
    org = world.org
    result = selectors.credit_by_unit(
        period_start=bj(2026, 12, 1).date(), period_end=bj(2026, 12, 31).date()
    )
    assert {r["unit_id"]: r["revenue"] for r in result} == {
        org.marketing.pk: Decimal("320.00"),
        org.hz.pk: Decimal("320.00"),
        org.nb.pk: Decimal("320.00"),
    }
    assert all(r["orders"] == 1 for r in result)
    assert sum(r["conversions"] for r in result) == pytest.approx(1)
    assert (
        selectors.credit_by_unit(
            campaign=joint,
            period_start=bj(2026, 12, 7).date(),
            period_end=bj(2026, 12, 31).date(),
        )
        == []
    )
    [hz] = selectors.credit_by_unit_product(
        period_start=bj(2026, 12, 6).date(), period_end=bj(2026, 12, 6).date(), units=[org.hz]
    )
    assert hz["product_id"] == world.broadband.pk and hz["margin"] == Decimal("128.00")


def test_the_nightly_job_attributes_the_day_before(world, joint, three_touches):
    launch(joint)
    assert "attribution.nightly" in {s.name for s in schedules()}
    result = attribute_yesterday.call(slot=bj(2026, 12, 7, 1, 30).isoformat())
    assert result == {"day": "2026-12-06", "campaigns": 1, "orders": 1, "rows": 3}
    again = attribute_yesterday.call(slot=bj(2026, 12, 7, 1, 30).isoformat())
    assert again == result
    assert Credit.objects.count() == 3
    assert timezone.localtime(Credit.objects.first().computed_at).date().isoformat() >= "2026"


def test_a_change_after_launch_recomputes_the_stored_credit(
    world, joint, three_touches, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from yiti.attribution.tasks import recompute_campaign

    launch(joint)
    run(joint)
    assert by_unit(joint)["hz"] == (Decimal("320.00"), Decimal("128.00"))
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_set(
            actor=world.org.users["cm"],
            campaign=joint,
            model="last_touch",
            basis="touches",
            reason="以成交前最后一次接触为准",
        )
    assert DBTaskResult.objects.filter(task_path__endswith="recompute_campaign").count() == 1
    recompute_campaign.call(campaign_id=joint.pk)
    assert by_unit(joint) == {"nb": (Decimal("960.00"), Decimal("384.00"))}
    assert set(Credit.objects.filter(campaign=joint).values_list("model", flat=True)) == {
        "last_touch"
    }


def test_the_command_runs_a_day(world, joint, three_touches, capsys):
    import json

    from django.core.management import call_command

    launch(joint)
    call_command("attribution", "run", "--day", "2026-12-06")
    assert json.loads(capsys.readouterr().out) == {"campaigns": 1, "orders": 1, "rows": 3}


def test_a_campaign_over_many_units_is_modelled_over_its_channels(
    world, joint, three_touches, monkeypatch
):
    from yiti.attribution import attribute

    monkeypatch.setattr(attribute, "MAX_UNIT_CHANNEL_KEYS", 2)  # three (unit, channel) pairs
    services.plan_set(actor=world.org.users["cm"], campaign=joint, model="markov", basis="touches")
    run(joint)
    credit = by_unit(joint)
    assert set(credit) == {"mkt", "hz", "nb"}  # each touch's unit keeps that touch's credit
    assert sum(r for r, _m in credit.values()) == Decimal("960.00")
