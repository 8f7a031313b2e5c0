"""The scoring rules as properties, and the ranking job's query count (set-based: it does not
grow with the number of customers, tickets or units)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from tests.quality.conftest import NOVEMBER, _ticket, nov
from yiti.customers.services import customer_create
from yiti.org.services import unit_create
from yiti.quality.scoring import Rule, indicator_score, ranks, unit_score
from yiti.quality.services import ranking_compute

finite = st.floats(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False)


@given(value=finite, target=finite, floor=finite)
def test_an_indicator_scores_between_0_and_100_and_100_at_the_target(value, target, floor):
    score = indicator_score(value, target, floor)
    assert 0 <= score <= 100
    if target != floor:
        assert indicator_score(target, target, floor) == 100
        assert indicator_score(floor, target, floor) == 0


@given(a=finite, b=finite, target=finite, floor=finite)
def test_a_better_value_never_scores_less(a, b, target, floor):
    if target == floor:
        return
    # the direction from the floor to the target says which of the two is better (compared, not
    # multiplied: a product of two tiny differences underflows to zero)
    low, high = min(a, b), max(a, b)
    better, worse = (high, low) if target > floor else (low, high)
    assert indicator_score(better, target, floor) >= indicator_score(worse, target, floor)


@given(
    st.lists(
        st.tuples(finite, st.floats(min_value=0, max_value=100), st.booleans()),
        min_size=1,
        max_size=9,
    )
)
def test_the_contributions_add_up_to_the_score(items):
    rules = [Rule(f"i{n}", 90.0, 10.0, weight) for n, (_v, weight, _h) in enumerate(items)]
    values = {f"i{n}": (v if has else None) for n, (v, _w, has) in enumerate(items)}
    result = unit_score(values, rules)
    if result.score is None:
        assert all(p.contribution in (None, 0.0) for p in result.parts)
        return
    assert 0 <= result.score <= 100
    total = sum(p.contribution or 0 for p in result.parts)
    assert abs(total - result.score) <= 0.01 * len(items) + 0.01


def test_ranks_share_a_place_on_equal_scores():
    assert ranks({1: 80.0, 2: 90.0, 3: 80.0, 4: None, 5: 70.0}) == {2: 1, 1: 2, 3: 2, 5: 4}


def test_the_ranking_job_runs_a_fixed_number_of_queries(org, month):
    ranking_compute(month=NOVEMBER)  # both measured runs replace a computed month
    with CaptureQueriesContext(connection) as small:
        ranking_compute(month=NOVEMBER)
    # ten more branches with customers and tickets
    for i in range(10):
        unit = unit_create(name=f"支局{i}", code=f"b{i}", kind="branch", parent=org.east)
        for j in range(3):
            c = customer_create(actor=None, name=f"客户{i}-{j}", unit=unit, contacts=[])
            _ticket(c, "complaint", nov(5 + j), nov(6 + j), "met", nov(9))
    with CaptureQueriesContext(connection) as large:
        ranking_compute(month=NOVEMBER)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_demo_seed_fills_the_quality_pages(org, month):
    from yiti.quality.demo import seed_quality
    from yiti.quality.models import QualityRun
    from yiti.service.models import Ticket

    _ticket(month.customers["h2"], "complaint", nov(25), subject="赠品迟迟未到")
    report = seed_quality(now=nov(30, 12))
    assert report.topics == 8 and report.tickets_with_topic == 1
    assert Ticket.objects.get(subject="赠品迟迟未到").topic.name == "赠品未到"
    assert set(QualityRun.objects.values_list("kind", "status")) == {
        ("ranking", "ready"),
        ("themes", "ready"),
    }
    assert seed_quality(now=nov(30, 12)).topics == 0  # again: topics kept
