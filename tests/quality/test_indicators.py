"""Every indicator against values computed by hand from the month in conftest.py, per branch and
rolled up to the regions; the weighted score and the ranks with the default catalogue."""

from __future__ import annotations

import pytest

from tests.quality.conftest import NOVEMBER
from yiti.org.models import OrgUnit
from yiti.quality import indicators
from yiti.quality.models import UnitScore
from yiti.quality.services import ranking_compute

EXPECTED = {
    # Hangzhou: T1, T2, T3, T4 resolved (3 met of 4); contacts T1 (FCR), T2, T3; T3 reopened;
    # complaints T3 (repeat of T5) and T6 over 4 active customers; care 1 of 3 in time;
    # CSAT 5, 2, 4; NPS 10, 3, 8
    "hz": {
        "sla_attainment": 75.0,
        "first_contact_resolution": 33.33,
        "complaint_rate": 500.0,
        "repeat_complaints": 50.0,
        "care_on_time": 33.33,
        "csat": 3.67,
        "nps": 0.0,
        "handling_time": 65.33,  # (4 + 48 + 144) / 3
        "reopen_rate": 25.0,
    },
    # Ningbo: T7 resolved, missed, within 5 hours; complaints T7 and T8 (a repeat) over 2
    # customers; care 1 of 1; CSAT 3, NPS 9 (n1's December answer does not count)
    "nb": {
        "sla_attainment": 0.0,
        "first_contact_resolution": 100.0,
        "complaint_rate": 1000.0,
        "repeat_complaints": 50.0,
        "care_on_time": 100.0,
        "csat": 3.0,
        "nps": 100.0,
        "handling_time": 5.0,
        "reopen_rate": 0.0,
    },
    # Beijing: only T10 (resolved in the first half hour of November, local time); T9 resolved
    # in December locally; no complaint of its one customer, no care call, no answer
    "bj": {
        "sla_attainment": 100.0,
        "first_contact_resolution": 100.0,
        "complaint_rate": 0.0,
        "repeat_complaints": None,
        "care_on_time": None,
        "csat": None,
        "nps": None,
        "handling_time": 1.0,
        "reopen_rate": 0.0,
    },
    # East = Hangzhou + Ningbo, from the summed counts (not the mean of the two branches)
    "east": {
        "sla_attainment": 60.0,
        "first_contact_resolution": 50.0,
        "complaint_rate": 666.67,
        "repeat_complaints": 50.0,
        "care_on_time": 50.0,
        "csat": 3.5,
        "nps": 25.0,
        "handling_time": 50.25,  # (196 + 5) / 4
        "reopen_rate": 20.0,
    },
    "hq": {
        "sla_attainment": 66.67,  # 4 of 6
        "first_contact_resolution": 60.0,  # 3 of 5
        "complaint_rate": 571.43,  # 4 of 7 customers
        "repeat_complaints": 50.0,
        "care_on_time": 50.0,
        "csat": 3.5,
        "nps": 25.0,
        "handling_time": 40.4,  # (196 + 5 + 1) / 5
        "reopen_rate": 16.67,  # 1 of 6
    },
}


def _values(totals, unit):
    return {
        code: indicators.value_of(code, totals.get(unit.pk, {}).get(code))
        for code in EXPECTED["hz"]
    }


@pytest.mark.parametrize("code", ["hz", "nb", "bj", "east", "hq"])
def test_every_indicator_matches_the_hand_computed_value(org, month, code):
    units = list(OrgUnit.objects.all())
    totals = indicators.rolled_up(indicators.own_counts(NOVEMBER), units)
    unit = OrgUnit.objects.get(code=code)
    assert _values(totals, unit) == pytest.approx(EXPECTED[code], abs=0.005)


def test_the_month_is_local_time(org, month):
    """T9 opened late on 30 November and resolved at 01:00 on 1 December in Shanghai (still
    November in UTC) is not in November's Beijing numbers; T10 resolved at 00:30 on 1 November
    (October in UTC) is."""
    counts = indicators.own_counts(NOVEMBER)[org.bj.pk]
    assert counts["sla_attainment"].den == 1
    assert counts["handling_time"].num == pytest.approx(3600)


def test_the_ranking_scores_and_ranks_units_of_each_kind(org, month, settings):
    run = ranking_compute(month=NOVEMBER)
    assert run.status == "ready"
    scores = {
        s.unit.code: s for s in UnitScore.objects.filter(month=NOVEMBER).select_related("unit")
    }
    # Beijing reaches every target it has data for: 100, on 55 of the 100 weights
    assert scores["bj"].score == pytest.approx(100.0)
    assert scores["bj"].coverage == pytest.approx(0.55)
    # Ningbo: FCR, care, NPS, handling time and reopen rate at target (10+10+10+5+10 weights
    # × 100), the rest at or beyond the zero line
    assert scores["nb"].score == pytest.approx(45.0)
    # Hangzhou: SLA 20 (75 between 70 and 95), FCR 8.33, CSAT 44.67, NPS 33.33, AHT 56.95
    assert scores["hz"].score == pytest.approx(16.71, abs=0.01)
    assert [scores[c].rank for c in ("bj", "nb", "hz")] == [1, 2, 3]
    assert scores["hz"].ranked_of == 3
    # the regions are ranked among regions: North (Beijing) above East
    assert (scores["north"].rank, scores["east"].rank) == (1, 2)
    assert scores["east"].score == pytest.approx(21.13, abs=0.01)
    # each indicator's contribution: the points it adds; together they make the score
    hz = scores["hz"].indicators
    assert hz["csat"]["contribution"] == pytest.approx(6.70, abs=0.01)
    assert sum(p["contribution"] or 0 for p in hz.values()) == pytest.approx(16.71, abs=0.02)
    assert hz["complaint_rate"]["num"] == 2 and hz["complaint_rate"]["den"] == 4
    # units without customers (the marketing department) are not ranked
    assert "mkt" not in scores


def test_computing_a_month_again_replaces_it(org, month):
    ranking_compute(month=NOVEMBER)
    first = UnitScore.objects.filter(month=NOVEMBER).count()
    ranking_compute(month=NOVEMBER)
    assert UnitScore.objects.filter(month=NOVEMBER).count() == first
