"""The contact policy engine against a brute-force reference, on small random data.

The reference below is deliberately naive: plain Python, one customer and one candidate at a
time, and for every cap it sums the contacts of every distinct window containing the planned
instant. A rolling window ``[s, s + D)`` (D = window days × 24 h) changes what it holds only
where a contact enters or leaves it, so the reference tries every start in ``(t - D, t]`` at
which that happens (``x + 1`` and ``x - D + 1`` for every contact ``x``, and both ends); a
calendar-day rule's windows are D consecutive local days, all of them tried. Instants are
drawn near window edges (whole days apart, give or take a second) as often as anywhere. The
engine must give the same decision and the same reason for every candidate.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiti.engagement.policy import (
    CHANNELS,
    DAY,
    PURPOSES,
    SUPPRESSION_REASONS,
    Candidates,
    Consent,
    Contacts,
    Quiet,
    Rule,
    Suppressed,
    evaluate,
    evaluate_one,
    plan_counts,
)

OFFSET = 8 * 3600  # Asia/Shanghai
DAY0 = 20_000  # a local day number (2024-10-04)
CH = ["sms", "email", "call", "portal"]
PU = ["marketing", "service", "care"]


# --- the reference ------------------------------------------------------------------------


def reference(cands, history, rules, quiet, consent, suppressed, offset):
    """Decisions as a list of reason strings ("" = kept), computed the slow, obvious way."""
    consent_of = {(c, ch, pu): g for c, ch, pu, g in consent}
    supp_of: dict[int, list[str]] = {}
    for c, r in suppressed:
        supp_of.setdefault(c, []).append(r)
    out = [""] * len(cands)
    open_by_customer: dict[int, list[int]] = {}
    for i, x in enumerate(cands):
        local = datetime.fromtimestamp(x["at"] + offset, UTC)
        granted = consent_of.get((x["customer"], x["channel"], x["purpose"]))
        if granted is None:
            # without a row: service and care allowed, marketing only on the portal inbox
            granted = x["purpose"] in ("service", "care") or x["channel"] == "portal"
        if not granted:
            out[i] = "opted_out"
        elif x["purpose"] == "marketing" and supp_of.get(x["customer"]):
            first = min(supp_of[x["customer"]], key=SUPPRESSION_REASONS.index)
            out[i] = f"suppressed:{first}"
        elif any(_quiet(q, local, x["channel"]) for q in quiet):
            out[i] = "quiet_hours"
        else:
            open_by_customer.setdefault(x["customer"], []).append(i)
    for customer, members in open_by_customer.items():
        members.sort(
            key=lambda i: (
                -(cands[i]["priority"] * cands[i]["value"]),
                cands[i]["campaign"],
                cands[i]["wave"],
                i,
            )
        )
        past = [h for h in history if h["customer"] == customer]
        kept: list[int] = []
        for i in members:
            x = cands[i]

            def breaks(rule, kept_list, x=x, past=past):
                w = _weight(rule, x["channel"], x["purpose"])
                if w == 0:
                    return False
                contacts = [
                    (h["at"], _weight(rule, h["channel"], h["purpose"]) * h["count"]) for h in past
                ] + [
                    (cands[j]["at"], _weight(rule, cands[j]["channel"], cands[j]["purpose"]))
                    for j in kept_list
                ]
                for inside in windows(rule, x["at"], [at for at, _ in contacts], offset):
                    load = w + sum(cw for at, cw in contacts if inside(at))
                    if load > rule.max_contacts * 1000:
                        return True
                return False

            broken = [r for r in rules if breaks(r, kept)]
            if not broken:
                kept.append(i)
                continue
            own = [j for j in kept if cands[j]["campaign"] == x["campaign"]]
            still = [r for r in rules if breaks(r, own)]
            if still:
                out[i] = f"cap:{still[0].name}"
                continue
            for j in kept:  # best-ranked first
                y = cands[j]
                if y["campaign"] != x["campaign"] and any(
                    _weight(r, y["channel"], y["purpose"]) > 0
                    and any(
                        inside(x["at"]) and inside(y["at"])
                        for inside in windows(r, x["at"], [y["at"]], offset)
                    )
                    for r in broken
                ):
                    out[i] = f"lost_arbitration:{y['campaign']}"
                    break
            else:
                raise AssertionError("a lost candidate without a winner")
    return out


def windows(rule, t, contacts, offset):
    """Every distinct window of ``rule`` containing instant ``t``, as a membership test on
    instants, given the instants of the ``contacts`` that may be in it."""
    if rule.calendar_days:
        d = (t + offset) // DAY
        for start in range(d - rule.window_days + 1, d + 1):
            yield lambda at, start=start: start <= (at + offset) // DAY < start + rule.window_days
        return
    span = rule.window_days * DAY
    starts = {t, t - span + 1}
    for x in contacts:
        starts |= {x + 1, x - span + 1, x}
    for s in sorted(starts):
        if t - span < s <= t:
            yield lambda at, s=s: s <= at < s + span


def _weight(rule, channel, purpose):
    if rule.channels and channel not in rule.channels:
        return 0
    if rule.purposes and purpose not in rule.purposes:
        return 0
    return round(rule.weights.get(purpose, 1) * 1000)


def _quiet(q, local, channel):
    if q.channels and channel not in q.channels:
        return False
    sod = local.hour * 3600 + local.minute * 60 + local.second
    today = local.weekday() in q.days
    yesterday = (local.weekday() - 1) % 7 in q.days
    if q.start == q.end:
        return today
    if q.start < q.end:
        return today and q.start <= sod < q.end
    return (today and sod >= q.start) or (yesterday and sod < q.end)


# --- random worlds ----------------------------------------------------------------------------

# a few local times of day: midnight, a second past it, 10:00, 23:30, a second to midnight
EDGES = [0, 1, 10 * 3600, 23 * 3600 + 1800, DAY - 1]


@st.composite
def instants(draw, first_day, last_day):
    """Local days ``first_day .. last_day`` from DAY0: half the time anywhere in the day, half
    the time at one of a few times of day give or take a second, so that instants fall whole
    days apart, or a second more or less — the edges of rolling and calendar windows."""
    day = DAY0 + draw(st.integers(first_day, last_day))
    if draw(st.booleans()):
        second = draw(st.integers(0, DAY - 1))
    else:
        second = draw(st.sampled_from(EDGES)) + draw(st.sampled_from([-1, 0, 0, 1]))
    return day * DAY - OFFSET + second


@st.composite
def worlds(draw):
    n_customers = draw(st.integers(1, 4))
    # dense ids (looked up in direct-address tables) or sparse ones (binary searches)
    spread = draw(st.sampled_from([1, 1, 10_000_019]))
    customers = [i * spread for i in range(1, n_customers + 1)]
    campaigns = draw(st.lists(st.integers(1, 9), min_size=2, max_size=4, unique=True))
    cands = [
        {
            "customer": draw(st.sampled_from(customers)),
            "campaign": camp,
            "wave": draw(st.integers(1, 3)),
            "channel": draw(st.sampled_from(CH)),
            "purpose": draw(st.sampled_from(PU + ["marketing"] * 3)),
            "at": draw(instants(0, 6)),
            "priority": float(draw(st.integers(1, 3))),
            "value": float(draw(st.sampled_from([1, 2, 3, 6]))),
        }
        for camp in campaigns
        for _ in range(draw(st.integers(1, 4)))
    ]
    history = [
        {
            "customer": draw(st.sampled_from(customers)),
            "at": draw(instants(-8, 8)),
            "channel": draw(st.sampled_from(CH)),
            "purpose": draw(st.sampled_from(PU)),
            "count": draw(st.integers(1, 2)),
        }
        for _ in range(draw(st.integers(0, 14)))
    ]
    rules = [
        Rule(
            name=f"r{i}",
            max_contacts=draw(st.integers(1, 4)),
            window_days=draw(st.integers(1, 7)),
            purposes=frozenset(draw(st.lists(st.sampled_from(PU), unique=True, max_size=2))),
            channels=frozenset(draw(st.lists(st.sampled_from(CH), unique=True, max_size=2))),
            weights=draw(
                st.dictionaries(st.sampled_from(PU), st.sampled_from([0.5, 1, 1.5, 2]), max_size=2)
            ),
            calendar_days=draw(st.integers(0, 3)) == 0,
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    quiet = [
        Quiet(
            days=frozenset(draw(st.lists(st.integers(0, 6), unique=True, min_size=1))),
            start=draw(st.integers(0, 23)) * 3600,
            end=draw(st.integers(0, 23)) * 3600,
            channels=frozenset(draw(st.lists(st.sampled_from(CH), unique=True, max_size=2))),
        )
        for _ in range(draw(st.integers(0, 1)))
    ]
    consent = {
        (c, ch, pu): draw(st.sampled_from([True, True, True, False]))
        for c in customers
        for ch in CH
        for pu in PU
        if draw(st.integers(0, 2)) > 0  # about a third of the rows missing
    }
    suppressed = [
        (draw(st.sampled_from(customers)), draw(st.sampled_from(SUPPRESSION_REASONS)))
        for _ in range(draw(st.integers(0, 2)))
    ]
    return cands, history, rules, quiet, consent, suppressed


def run_engine(cands, history, rules, quiet, consent, suppressed, workers=None, planned=None):
    candidates = Candidates.of(
        customer_id=[x["customer"] for x in cands],
        campaign_id=[x["campaign"] for x in cands],
        wave_id=[x["wave"] for x in cands],
        channel=[x["channel"] for x in cands],
        purpose=[x["purpose"] for x in cands],
        planned_at=[x["at"] for x in cands],
        priority=[x["priority"] for x in cands],
        expected_value=[x["value"] for x in cands],
    )
    hist = _contacts(history)
    rows = list(consent.items())
    cons = Consent(
        customer_id=np.array([k[0] for k, _ in rows], dtype=np.int64),
        channel=np.array([CHANNELS.index(k[1]) for k, _ in rows], dtype=np.int8),
        purpose=np.array([PURPOSES.index(k[2]) for k, _ in rows], dtype=np.int8),
        granted=np.array([g for _, g in rows], dtype=bool),
    )
    supp = Suppressed(
        customer_id=np.array([c for c, _ in suppressed], dtype=np.int64),
        reason=np.array([SUPPRESSION_REASONS.index(r) for _, r in suppressed], dtype=np.int8),
    )
    return evaluate(
        candidates,
        hist,
        rules,
        quiet,
        cons,
        supp,
        utc_offset=OFFSET,
        workers=workers,
        planned=None if planned is None else _contacts(planned),
    )


def _contacts(rows):
    return Contacts(
        customer_id=np.array([h["customer"] for h in rows], dtype=np.int64),
        at=np.array([h["at"] for h in rows], dtype=np.int64),
        channel=np.array([CHANNELS.index(h["channel"]) for h in rows], dtype=np.int8),
        purpose=np.array([PURPOSES.index(h["purpose"]) for h in rows], dtype=np.int8),
        count=np.array([h["count"] for h in rows], dtype=np.int64),
    )


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_engine_decides_exactly_as_the_brute_force_reference(world):
    cands, history, rules, quiet, consent, suppressed = world
    decision = run_engine(*world)
    expected = reference(
        cands, history, rules, quiet, [(*k, g) for k, g in consent.items()], suppressed, OFFSET
    )
    assert decision.labels() == expected
    assert decision.keep.tolist() == [r == "" for r in expected]
    # customers are independent: split over threads by customer, the decision is the same
    assert run_engine(*world, workers=3).labels() == expected
    # already-planned sends count like history
    past, planned = history[::2], history[1::2]
    assert run_engine(cands, past, *world[2:], planned=planned).labels() == expected


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.booleans())
def test_one_contact_for_one_customer_is_decided_as_the_engine_decides_it(world, live):
    """``evaluate_one`` (plain Python, for the next best action) gives every candidate, taken
    alone, the engine's decision and reason; with the quiet hours left out too (a live
    channel)."""
    cands, history, rules, quiet, consent, suppressed = world
    quiet = [] if live else quiet
    for x in cands:
        customer = x["customer"]
        alone = run_engine([x], history, rules, quiet, consent, suppressed).labels()[0]
        mine = evaluate_one(
            channel=x["channel"],
            purpose=x["purpose"],
            at=x["at"],
            history=[
                (h["at"], h["channel"], h["purpose"], h["count"])
                for h in history
                if h["customer"] == customer
            ],
            rules=rules,
            quiet=quiet,
            consent={(ch, pu): g for (c, ch, pu), g in consent.items() if c == customer},
            suppressed=[r for c, r in suppressed if c == customer],
            utc_offset=OFFSET,
        )
        assert mine == alone, x


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_no_customer_ever_exceeds_a_cap_in_any_window(world):
    cands, history, rules = world[:3]
    decision = run_engine(*world)
    kept = [x for x, k in zip(cands, decision.keep.tolist(), strict=True) if k]
    for rule in rules:
        for customer in {x["customer"] for x in kept}:
            mine = [x for x in kept if x["customer"] == customer]
            past = [h for h in history if h["customer"] == customer]
            everything = [y["at"] for y in mine] + [h["at"] for h in past]
            for x in mine:
                # a kept candidate out of the rule's scope may sit in an already-full window
                if not _weight(rule, x["channel"], x["purpose"]):
                    continue
                for inside in windows(rule, x["at"], everything, OFFSET):
                    load = sum(
                        _weight(rule, y["channel"], y["purpose"]) for y in mine if inside(y["at"])
                    ) + sum(
                        _weight(rule, h["channel"], h["purpose"]) * h["count"]
                        for h in past
                        if inside(h["at"])
                    )
                    assert load <= rule.max_contacts * 1000


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_arbitration_keeps_the_best_contact_and_names_a_kept_winner(world):
    cands = world[0]
    decision = run_engine(*world)
    labels = decision.labels()
    # a customer's best-ranked contact that reaches arbitration never loses it
    in_arbitration = [
        i
        for i, lab in enumerate(labels)
        if lab == "" or lab.split(":")[0] in ("cap", "lost_arbitration")
    ]
    best: dict[int, int] = {}
    for i in in_arbitration:
        x = cands[i]
        rank = (-(x["priority"] * x["value"]), x["campaign"], x["wave"], i)
        j = best.get(x["customer"])
        if j is None or rank < (
            -(cands[j]["priority"] * cands[j]["value"]),
            cands[j]["campaign"],
            cands[j]["wave"],
            j,
        ):
            best[x["customer"]] = i
    for i in best.values():
        assert not labels[i].startswith("lost_arbitration:")
    for i, label in enumerate(labels):
        if not label.startswith("lost_arbitration:"):
            continue
        winner = int(label.split(":")[1])
        me = cands[i]
        rivals = [
            x
            for x, lab in zip(cands, labels, strict=True)
            if lab == "" and x["customer"] == me["customer"] and x["campaign"] == winner
        ]
        assert winner != me["campaign"]
        assert rivals, "the winner kept a contact with this customer"
        assert any(
            (r["priority"] * r["value"], -r["campaign"])
            >= (me["priority"] * me["value"], -me["campaign"])
            for r in rivals
        )
    counts = plan_counts(decision)
    assert counts["audience"] == len(cands)
    assert counts["kept"] + sum(counts["excluded"].values()) == len(cands)


# --- examples ---------------------------------------------------------------------------------


def _cand(customer, campaign, day, priority=1.0, value=1.0, channel="sms", purpose="marketing"):
    return {
        "customer": customer,
        "campaign": campaign,
        "wave": 1,
        "channel": channel,
        "purpose": purpose,
        "at": (DAY0 + day) * DAY - OFFSET + 10 * 3600,
        "priority": priority,
        "value": value,
    }


def test_competing_campaigns_share_a_weekly_cap_by_priority_times_value():
    # given two contacts a week, a service call yesterday counting half, and three campaigns
    # wanting the same customer this week
    rules = [Rule(name="weekly", max_contacts=2, window_days=7, weights={"service": 0.5})]
    cands = [_cand(1, 10, 0, 1, 5), _cand(1, 11, 1, 2, 4), _cand(1, 12, 2, 1, 1)]
    consent = {(1, "sms", "marketing"): True}
    history = [
        {"customer": 1, "at": _cand(1, 0, -1)["at"], "channel": "call", "purpose": "service"}
        | {"count": 1}
    ]
    # when the policy plans the week
    decision = run_engine(cands, history, rules, [], consent, [])
    # then campaign 11 (2 × 4) wins; with the service call there is no room for a second offer
    assert decision.labels() == ["lost_arbitration:11", "", "lost_arbitration:11"]
    assert plan_counts(decision) == {
        "audience": 3,
        "kept": 1,
        "excluded": {"lost_arbitration:11": 2},
    }


def test_exclusion_reasons_in_order_consent_suppression_quiet_cap():
    # given five customers, each stopped by a different check (or none)
    rules = [Rule(name="daily", max_contacts=1, window_days=1)]
    quiet = [Quiet(days=frozenset(range(7)), start=21 * 3600, end=8 * 3600)]
    night = _cand(3, 1, 0) | {"at": (DAY0 + 1) * DAY - OFFSET + 2 * 3600}  # 02:00 local
    cands = [_cand(1, 1, 0), _cand(2, 1, 0), night, _cand(4, 1, 0), _cand(5, 1, 0, purpose="care")]
    consent = {(c, "sms", "marketing"): True for c in (2, 3, 4)}
    history = [
        {"customer": 4, "at": _cand(4, 1, 0)["at"] - 3600, "channel": "sms"}
        | {"purpose": "marketing", "count": 1}
    ]
    # when the policy plans a marketing SMS to each (a care SMS to the fifth)
    decision = run_engine(cands, history, rules, quiet, consent, [(2, "do_not_disturb")])
    # then each gets the reason of the first check it fails
    assert decision.labels() == [
        "opted_out",  # no consent row for marketing
        "suppressed:do_not_disturb",
        "quiet_hours",  # 02:00 falls in the 21:00-08:00 quiet period begun the day before
        "cap:daily",  # already contacted today
        "",  # care needs no recorded consent
    ]


def test_the_common_path_scales_without_a_loop_per_customer():
    # given 20,000 customers with 5 competing campaigns on the same day and random history
    rng = np.random.default_rng(1)
    n = 20_000
    cust = np.repeat(np.arange(1, n + 1), 5)
    cands = Candidates(
        customer_id=cust,
        campaign_id=np.tile(np.arange(1, 6), n),
        wave_id=np.ones(5 * n, dtype=np.int64),
        channel=np.full(5 * n, CHANNELS.index("sms"), dtype=np.int8),
        purpose=np.zeros(5 * n, dtype=np.int8),
        planned_at=np.full(5 * n, DAY0 * DAY + 3600, dtype=np.int64),
        priority=np.ones(5 * n),
        expected_value=rng.random(5 * n),
    )
    hist = Contacts.each(
        customer_id=rng.integers(1, n + 1, 50_000),
        at=DAY0 * DAY - rng.integers(0, 30 * DAY, 50_000),
        channel=np.full(50_000, CHANNELS.index("sms")),
        purpose=np.zeros(50_000),
    )
    consent = Consent(
        customer_id=np.arange(1, n + 1),
        channel=np.full(n, CHANNELS.index("sms"), dtype=np.int8),
        purpose=np.zeros(n, dtype=np.int8),
        granted=np.ones(n, dtype=bool),
    )
    rules = [Rule(name="week", max_contacts=2, window_days=7), Rule("month", 4, 30)]
    # when the policy plans the wave
    decision = evaluate(cands, hist, rules, [], consent, Suppressed.empty())
    # then every customer keeps its best offers first, within the weekly cap
    kept = decision.keep.reshape(n, 5)
    value = cands.expected_value.reshape(n, 5)
    for row in range(0, n, 997):
        if kept[row].any():
            assert value[row][kept[row]].min() >= value[row][~kept[row]].max(initial=0)
    assert plan_counts(decision)["kept"] <= 2 * n


def test_marketing_on_the_portal_inbox_needs_no_opt_in_but_respects_a_refusal():
    # given two customers without consent rows for the portal, one of whom refused it
    at = (DAY0 + 1) * DAY - OFFSET + 11 * 3600
    candidates = Candidates.of(
        customer_id=[1, 2, 1],
        campaign_id=[7, 7, 8],
        wave_id=[1, 1, 2],
        channel=["portal", "portal", "sms"],
        purpose=["marketing"] * 3,
        planned_at=[at] * 3,
        priority=[1, 1, 1],
        expected_value=[1, 1, 1],
    )
    refused = Consent(
        customer_id=np.array([2]),
        channel=np.array([CHANNELS.index("portal")], dtype=np.int8),
        purpose=np.array([PURPOSES.index("marketing")], dtype=np.int8),
        granted=np.array([False]),
    )
    # when the policy decides
    decision = evaluate(
        candidates, Contacts.empty(), [], [], refused, Suppressed.empty(), utc_offset=OFFSET
    )
    # then the portal message of the first is kept, the refusal and the SMS without opt-in are not
    assert decision.labels() == ["", "opted_out", "opted_out"]


def _bj(day: int, hour: int, minute: int = 0, second: int = 0) -> int:
    """Epoch seconds of December ``day``, 2026 at that Beijing time."""
    return int(datetime(2026, 12, day, hour, minute, second, tzinfo=UTC).timestamp()) - OFFSET


@pytest.mark.parametrize(
    ("when", "rolling", "calendar"),
    [
        (_bj(10, 10), "cap:2/7", ""),  # 6 days 10.5 hours after the first: three in a window
        (_bj(10, 23, 29, 59), "cap:2/7", ""),  # one second short of 7 × 24 hours
        (_bj(10, 23, 30), "", ""),  # exactly 7 × 24 hours later: the first has left
        (_bj(9, 23, 59, 59), "cap:2/7", "cap:2/7"),  # calendar: 12-03 .. 12-09 hold all three
    ],
)
def test_n_in_w_days_holds_over_every_span_of_w_times_24_hours(when, rolling, calendar):
    # given marketing SMS at 12-03 23:30 and 12-07 10:00 and "2 in any 7 days", rolling or
    # counted in calendar days
    history = [(_bj(3, 23, 30), "sms", "marketing", 1), (_bj(7, 10), "sms", "marketing", 1)]
    consent = {(1, "sms", "marketing"): True}
    for calendar_days, expected in ((False, rolling), (True, calendar)):
        rules = [Rule(name="2/7", max_contacts=2, window_days=7, calendar_days=calendar_days)]
        # when a third is planned
        cand = _cand(1, 5, 0) | {"at": when}
        engine = run_engine(
            [cand],
            [
                {"customer": 1, "at": a, "channel": c, "purpose": p, "count": n}
                for a, c, p, n in history
            ],
            rules,
            [],
            consent,
            [],
        ).labels()[0]
        one = evaluate_one(
            channel="sms",
            purpose="marketing",
            at=when,
            history=history,
            rules=rules,
            quiet=[],
            consent={("sms", "marketing"): True},
            suppressed=[],
            utc_offset=OFFSET,
        )
        # then rolling windows refuse it while the three would fit in 7 × 24 hours; calendar
        # days only when they fall in 7 consecutive local days
        assert engine == one == expected, (calendar_days, when)


def test_a_kept_contact_near_a_window_edge_counts_for_the_next_candidate():
    # given "1 in any 2 days" and two campaigns' contacts 47 h 59 min 59 s and 48 h apart
    rules = [Rule(name="1/2", max_contacts=1, window_days=2)]
    consent = {(1, "sms", "marketing"): True, (2, "sms", "marketing"): True}
    first = _bj(5, 10)
    cands = [
        _cand(1, 1, 0, priority=9) | {"at": first},
        _cand(1, 2, 0) | {"at": first + 2 * DAY - 1},
        _cand(2, 1, 0, priority=9) | {"at": first},
        _cand(2, 2, 0) | {"at": first + 2 * DAY},
    ]
    # when the policy decides
    labels = run_engine(cands, [], rules, [], consent, []).labels()
    # then the second contact loses to the first within 48 hours, and is kept at 48 hours
    assert labels == ["", "lost_arbitration:1", "", ""]
