"""The value refit from the database: one score per customer with tiers that follow their
definitions, the fit recovering known parameters, failed fits keeping the old scores, tier
history and migration, cost to serve at unit costs, retention calls, and a query count that
does not grow with the book."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.decisions.conftest import END, MARGIN_RATE, TRUE_BGNBD, TRUE_GG
from tests.factories import CustomerFactory
from yiti.care.choices import TaskKind, TaskStatus, Trigger
from yiti.care.models import CareAttempt, CareTask, FollowUpRule
from yiti.care.services import retention_rule_ensure
from yiti.core.models import AuditEvent
from yiti.customers.choices import ValueTier
from yiti.customers.models import Customer, CustomerValue, Order
from yiti.customers.services import customer_merge
from yiti.decisions.choices import CostItem, FitStatus
from yiti.decisions.models import ServiceCost, TierChange, ValueModelFit, ValueSettings
from yiti.decisions.scores import annuity
from yiti.decisions.selectors import tier_migration, value_settings_current
from yiti.decisions.services import months_before, value_refit
from yiti.engagement.models import Interaction
from yiti.service.models import Ticket


def scores() -> dict[int, CustomerValue]:
    return {v.customer_id: v for v in CustomerValue.objects.all()}


def configure(**values) -> ValueSettings:
    current = value_settings_current()  # the row the migration made (or its defaults)
    for name, value in values.items():
        setattr(current, name, value)
    current.save()
    return current


def test_refit_scores_every_customer_and_the_tiers_follow_their_definitions(book):
    # Given 300 customers with simulated orders and 20 who never ordered
    made = book(300, without_orders=20)
    # When the model is refitted on the orders up to END
    fit = value_refit(end=END)
    # Then it succeeded and stored its window, parameters and log-likelihoods
    assert fit.status == FitStatus.SUCCEEDED, fit.error
    assert fit.window_end == END.date() and fit.window_start == END.date().replace(year=2023)
    assert fit.bgnbd_log_likelihood < 0 and fit.gg_log_likelihood < 0
    assert fit.customers == 320 and fit.transactions == made.orders
    # And every customer has exactly one score
    values = scores()
    assert set(values) == set(made.ids)
    rows = list(values.values())
    clv = np.array([v.clv for v in rows])
    rules = value_settings_current()
    for v in rows:
        assert v.fit_id == fit.pk
        assert v.churn_risk == pytest.approx(1 - v.p_alive)
        assert v.net_value == pytest.approx(v.clv - v.cost_to_serve)
        # below zero exactly when the net value is negative
        assert (v.tier == ValueTier.BZ) == (v.net_value < 0)
        if v.purchases == 0:  # never ordered: no value, not a buyer
            assert v.clv == 0 and v.p_alive == 0 and v.tier in (ValueTier.STANDARD, ValueTier.BZ)
        if v.tier == ValueTier.MGC:
            assert v.purchases > 0 and v.churn_risk < rules.churn_threshold
            assert v.growth_gap > 0 or v.rising
    # most valuable: the top 10% by value of those with a positive value (minus below zero)
    positive = sorted((v for v in rows if v.clv > 0), key=lambda v: (-v.clv, v.customer_id))
    top = positive[: math.ceil(0.1 * len(positive))]
    assert {v.customer_id for v in rows if v.tier == ValueTier.MVC} == {
        v.customer_id for v in top if v.tier != ValueTier.BZ
    }
    assert clv.sum() == pytest.approx(fit.total_clv)
    assert fit.tier_counts == {t: sum(v.tier == t for v in rows) for t in ValueTier.values}
    # And the refit was audited as one event
    assert AuditEvent.objects.filter(action="decisions.value_refit", object_id=str(fit.pk)).count()


def test_lifetime_value_is_margin_and_follows_the_horizon(book):
    made = book(200)
    # Given a buyer whose orders earn no margin
    no_margin = made.ids[0]
    Order.objects.filter(customer_id=no_margin).update(margin=Decimal("0"))
    value_refit(end=END, horizon_months=12)
    twelve = scores()
    value_refit(end=END, horizon_months=24)
    longer = scores()
    buyers = [i for i in made.ids if twelve[i].purchases > 0]
    # Then he is worth nothing, however much he buys
    assert twelve[no_margin].purchases > 0 and twelve[no_margin].clv == 0
    # And a longer horizon only adds value and expected purchases
    assert all(longer[i].clv >= twelve[i].clv for i in buyers)
    assert all(longer[i].expected_purchases >= twelve[i].expected_purchases for i in buyers)
    assert sum(longer[i].clv for i in buyers) > sum(twelve[i].clv for i in buyers)


def test_the_fit_recovers_the_parameters_the_orders_were_simulated_from(book):
    # Given 5,000 customers whose orders follow known BG/NBD and Gamma-Gamma parameters
    book(5000, seed=3)
    configure(holdout_months=6)
    # When the refit reads them from the database and fits them
    fit = value_refit(end=END)
    assert fit.status == FitStatus.SUCCEEDED, fit.error
    fitted = {"r": fit.bgnbd_r, "alpha": fit.bgnbd_alpha, "a": fit.bgnbd_a, "b": fit.bgnbd_b}
    errors = {k: abs(fitted[k] - v) / v for k, v in TRUE_BGNBD.items()}
    # Then each BG/NBD parameter is within 25% (orders fall on whole days, same-day ones merge)
    assert max(errors.values()) < 0.25, (fitted, errors)
    # And the Gamma-Gamma mean spend p·v/(q-1) is within 10% of the truth
    mean_spend = fit.gg_p * fit.gg_v / (fit.gg_q - 1)
    true_mean = TRUE_GG["p"] * TRUE_GG["v"] / (TRUE_GG["q"] - 1)
    assert abs(mean_spend - true_mean) / true_mean < 0.10, (fit.gg_p, fit.gg_q, fit.gg_v)
    # And the forecast of the last six months from the earlier data is within 15%
    assert fit.holdout_actual and abs(fit.holdout_error) < 0.15, (
        fit.holdout_predicted,
        fit.holdout_actual,
    )
    # And margin is what is valued: at 30% margin, value per expected purchase ≈ 0.3 × spend
    values = CustomerValue.objects.filter(purchases__gt=0, expected_purchases__gt=0.1)
    per_purchase = np.array([v.clv / v.expected_purchases for v in values])
    assert 0.6 * MARGIN_RATE * true_mean < np.median(per_purchase) < 1.4 * MARGIN_RATE * true_mean


def test_a_failed_fit_keeps_the_previous_scores_and_says_why(book):
    book(120)
    first = value_refit(end=END)
    before = {k: (v.tier, v.clv, v.fit_id) for k, v in scores().items()}
    # Given the orders are all cancelled since
    Order.objects.update(status="cancelled")
    # When the model is refitted
    failed = value_refit(end=END)
    # Then the fit is recorded as failed with its reason, and no score changed
    assert failed.status == FitStatus.FAILED and failed.pk != first.pk
    assert "orders" in failed.error
    assert {k: (v.tier, v.clv, v.fit_id) for k, v in scores().items()} == before
    assert not TierChange.objects.filter(fit=failed).exists()
    assert AuditEvent.objects.filter(
        action="decisions.value_refit_failed", object_id=str(failed.pk)
    ).exists()


def test_no_repeat_buyer_is_a_failed_fit(org, products):
    for i in range(5):
        customer = CustomerFactory(unit=org.hz)
        Order.objects.create(
            customer=customer,
            product=products[0],
            amount=Decimal("50.00"),
            margin=Decimal("15.00"),
            ordered_at=END - timedelta(days=10 * i + 1),
            channel="branch",
            status="fulfilled",
        )
    fit = value_refit(end=END)
    assert fit.status == FitStatus.FAILED
    assert "more than once" in fit.error
    assert not CustomerValue.objects.exists()


def test_tier_changes_are_recorded_and_the_migration_matrix_counts_them(book, org):
    made = book(200)
    first = value_refit(end=END)
    # the first fit records every customer's first tier ("newly scored")
    assert TierChange.objects.filter(fit=first).count() == 200
    assert TierChange.objects.filter(fit=first, from_tier="").count() == 200
    matrix = tier_migration(first)
    assert matrix is not None
    assert {t: matrix.cell("", t) for t in matrix.tiers} == first.tier_counts
    before = {k: v.tier for k, v in scores().items()}
    # Given a fifth of the customers now cost a lot to serve (complaints) and the shares change
    costly = made.ids[::5]
    for customer_id in costly:
        Ticket.objects.create(
            customer_id=customer_id,
            kind="complaint",
            complaint_class="offer_design",
            subject="投诉",
            unit=org.east,
            opened_at=END - timedelta(days=3),
        )
    ServiceCost.objects.update_or_create(
        item=CostItem.TICKET_COMPLAINT, defaults={"cost": Decimal("5000")}
    )
    configure(mvc_share=0.2)
    second = value_refit(end=END)
    after = {k: v.tier for k, v in scores().items()}
    # Then a change is stored exactly for the customers whose tier changed
    changed = {k for k in after if after[k] != before[k]}
    rows = TierChange.objects.filter(fit=second)
    assert {c.customer_id for c in rows} == changed
    assert all(c.from_tier == before[c.customer_id] for c in rows)
    assert all(after[k] == ValueTier.BZ for k in costly)
    # And the migration matrix is the from × to count of customers, diagonal included
    matrix = tier_migration()
    assert matrix is not None and matrix.fit == second
    for f in matrix.tiers:
        for t in matrix.tiers:
            expected = sum(1 for k in after if before[k] == f and after[k] == t)
            assert matrix.cell(f, t) == expected, (f, t)
    assert sum(total for _f, _cells, total in matrix.rows()) == 200


def test_cost_to_serve_counts_tickets_care_calls_and_visits_at_unit_costs(org, book):
    made = book(60)
    customer = Customer.objects.get(pk=made.ids[0])
    other = Customer.objects.get(pk=made.ids[1])
    recent = END - timedelta(days=30)
    for kind in ("complaint", "complaint", "repair"):
        Ticket.objects.create(
            customer=customer,
            kind=kind,
            complaint_class="offer_design" if kind == "complaint" else "",
            subject="x",
            unit=org.east,
            opened_at=recent,
        )
    # a ticket older than the 12 months counted does not count
    Ticket.objects.create(
        customer=customer,
        kind="repair",
        subject="old",
        unit=org.east,
        opened_at=END - timedelta(days=400),
    )
    rule = FollowUpRule.objects.create(name="r", trigger=Trigger.REPAIR_RESOLVED)
    ticket = Ticket.objects.filter(customer=customer, kind="repair").first()
    task = CareTask.objects.create(
        customer=customer,
        rule=rule,
        kind=TaskKind.FIRST,
        ticket=ticket,
        source_at=recent,
        due_at=recent,
    )
    for _ in range(3):
        CareAttempt.objects.create(task=task, at=recent, outcome="no_answer")
    for direction in ("out", "out", "in"):  # only the account manager's visits (outbound)
        Interaction.objects.create(
            customer=customer,
            occurred_at=recent,
            channel="visit",
            direction=direction,
            purpose="sales",
            outcome="completed",
        )
    Interaction.objects.create(  # a call is not a visit
        customer=other,
        occurred_at=recent,
        channel="call",
        direction="out",
        purpose="sales",
        outcome="reached",
    )
    prices = {
        CostItem.TICKET_COMPLAINT: "80",
        CostItem.TICKET_REPAIR: "40",
        CostItem.CARE_CALL: "4",
        CostItem.VISIT: "60",
    }
    for item, cost in prices.items():
        ServiceCost.objects.update_or_create(item=item, defaults={"cost": Decimal(cost)})
    configure(cost_lookback_months=12, horizon_months=12, discount_rate=0.01)
    fit = value_refit(end=END)
    values = scores()
    # 2 complaints × 80 + 1 repair × 40 + 3 calls × 4 + 2 visits × 60 = 332 over 12 months,
    # i.e. 332/12 a month over a 12-month horizon discounted at 1% a month
    expected = 332 / 12 * annuity(12, 0.01)
    assert values[customer.pk].cost_to_serve == pytest.approx(expected)
    assert values[other.pk].cost_to_serve == 0
    assert fit.inputs["service_use"]["counts"][CostItem.VISIT] == 2
    assert fit.inputs["service_use"]["counts"][CostItem.TICKET_REPAIR] == 1
    assert fit.inputs["unit_costs"][CostItem.VISIT] == "60.00"


def test_most_valuable_customers_at_risk_get_one_retention_call_from_their_account_manager(
    book, org
):
    made = book(200)
    # every most valuable customer counts as at risk
    configure(churn_threshold=0.0)
    fit = value_refit(end=END)
    mvc = list(CustomerValue.objects.filter(tier=ValueTier.MVC).select_related("customer"))
    assert mvc and fit.care_tasks == len(mvc)
    tasks = CareTask.objects.filter(kind=TaskKind.RETENTION, status=TaskStatus.OPEN)
    by_customer = {t.customer_id: t for t in tasks}
    assert set(by_customer) == {v.customer_id for v in mvc}
    care_east = org.users["care_east"]
    for v in mvc:
        task = by_customer[v.customer_id]
        owner = v.customer.owner_id
        # the account manager calls; without one, a care agent of the customer's care unit
        if owner is not None:
            assert task.assignee_id == owner and task.unit_id == v.customer.unit_id
        elif v.customer.unit_id == org.hz.pk:
            assert task.assignee_id == care_east.pk
        assert task.rule.trigger == Trigger.VALUE_AT_RISK and task.due_at > task.source_at
    # When the model is refitted again, nobody gets a second call
    again = value_refit(end=END)
    assert again.care_tasks == 0
    assert CareTask.objects.filter(kind=TaskKind.RETENTION).count() == len(mvc)
    assert len(made.ids) == 200


def test_query_count_of_the_refit_does_not_grow_with_the_book(book):
    configure(churn_threshold=0.0, holdout_months=3)  # retention calls in both runs
    retention_rule_ensure()  # created once, by the first refit ever

    def queries(n: int) -> int:
        CustomerValue.objects.all().delete()
        Order.objects.all().delete()
        CareTask.objects.all().delete()
        book(n, seed=n)
        with CaptureQueriesContext(connection) as captured:
            fit = value_refit(end=END)
        assert fit.status == FitStatus.SUCCEEDED, fit.error
        assert CustomerValue.objects.count() >= n and fit.care_tasks > 0
        return len(captured)

    small, large = queries(60), queries(300)
    assert small == large, (small, large)


def test_months_before_keeps_the_day_or_takes_the_last_of_the_month():
    at = END.replace(month=3, day=31)
    assert months_before(at, 1).date().isoformat() == "2026-02-28"
    assert months_before(at, 12).date().isoformat() == "2025-03-31"
    assert months_before(at, 25).date().isoformat() == "2024-02-29"


def test_merged_away_customers_are_not_scored_and_their_scores_go(book, org):
    made = book(80)
    value_refit(end=END)
    source, target = Customer.objects.filter(pk__in=made.ids[:2]).order_by("pk")
    customer_merge(actor=None, source=source, target=target)
    assert not CustomerValue.objects.filter(customer=source).exists()
    value_refit(end=END)
    assert not CustomerValue.objects.filter(customer=source).exists()
    assert CustomerValue.objects.filter(customer=target).exists()
    assert FollowUpRule.objects.filter(trigger=Trigger.VALUE_AT_RISK).exists()
    assert ValueModelFit.objects.filter(status=FitStatus.SUCCEEDED).count() == 2


def test_packed_and_plain_order_reads_give_the_same_scores(book):
    # The refit reads orders packed into integers when the window allows; with no window
    # start it reads them column by column. On orders inside both windows, same scores.
    book(150)
    value_refit(end=END)
    packed = {
        k: (v.tier, round(v.clv, 6), v.purchases, v.last_purchase_on) for k, v in scores().items()
    }
    configure(window_months=0)
    value_refit(end=END)
    plain = {
        k: (v.tier, round(v.clv, 6), v.purchases, v.last_purchase_on) for k, v in scores().items()
    }
    assert packed == plain
    assert any(v[2] > 0 for v in packed.values())


@pytest.mark.django_db(transaction=True)
def test_sqlite_reads_the_orders_in_two_processes_with_the_same_result(book, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    from yiti.decisions import inputs

    if connection.vendor != "sqlite":
        pytest.skip("the two-process read is for SQLite")
    book(120)
    monkeypatch.setattr(inputs, "PARALLEL_AT", 10**9)
    value_refit(end=END)
    alone = {k: (v.tier, v.clv, v.purchases) for k, v in scores().items()}

    submitted = []

    class Spy(ProcessPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    failures = []
    monkeypatch.setattr(inputs, "PARALLEL_AT", 1)
    monkeypatch.setattr(inputs, "ProcessPoolExecutor", Spy)
    monkeypatch.setattr(inputs.logger, "exception", lambda *a, **k: failures.append(a))
    # When a spawned process reads the upper half of the orders
    value_refit(end=END)
    # Then it did, and the scores are those of the read in one process
    assert submitted == [inputs.sqlite_reader.fetch_slice] and not failures
    assert {k: (v.tier, v.clv, v.purchases) for k, v in scores().items()} == alone
    # And when the child cannot run, this process reads that half itself
    monkeypatch.setattr(inputs.sqlite_reader, "fetch_slice", lambda *a: 1 / 0)
    value_refit(end=END)
    assert failures
    assert {k: (v.tier, v.clv, v.purchases) for k, v in scores().items()} == alone
