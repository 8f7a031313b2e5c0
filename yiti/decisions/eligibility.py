"""Offer eligibility in Python: the segment rule language evaluated over ONE customer's profile.

The next best action decides for one customer while an agent waits, against every active
offer (hundreds). Compiling each offer's rule to SQL (``campaigns.segments.rules_q``) and asking
the database per offer would cost a query per offer; instead the customer's profile is read
once (``nba.profile_load``) and every rule is evaluated here against it.

This evaluator is hand-written because no library evaluates this rule language: it is Yiti's
own JSON language (``yiti.campaigns.segments``), whose meaning is defined by the SQL it
compiles to. Each field below mirrors its SQL builder in ``segments.FIELDS``, including the
edge cases (a missing value score matches "is none of" but no number bound; never contacted
counts as long ago; "orders at least 0" matches everyone; a customer without an account
manager is "none of" any list). A hypothesis property test
(``tests/decisions/test_eligibility.py``) checks that both agree on random rules and customers.

A :class:`Profile` holds what the rules read; :func:`compile_rule` turns a clean rule into a
predicate ``(profile, now) -> bool`` once per offer, so a decision only runs closures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from yiti.customers.choices import CustomerStatus

Predicate = Callable[["Profile", datetime, date], bool]


@dataclass(frozen=True)
class OrderFact:
    """One order that is not cancelled (what holdings and windows count)."""

    product_id: int
    category: str
    amount: float
    ordered_at: datetime


@dataclass(frozen=True)
class ValueFact:
    tier: str
    clv: float
    churn_risk: float
    p_alive: float
    net_value: float


@dataclass
class Profile:
    """What the rule language (and the next best action) reads about one customer."""

    id: int
    status: str
    kind: str
    city: str
    industry: str
    unit_id: int
    unit_path: str
    owner_id: int | None
    primary_email: str
    primary_phone: str
    since: date | None
    birth_date: date | None
    last_contact_at: datetime | None
    value: ValueFact | None = None
    orders: list[OrderFact] = field(default_factory=list)
    # (channel, purpose) -> granted, from the consent state rows
    consent: dict[tuple[str, str], bool] = field(default_factory=dict)

    # What several rules read, derived once per decision (a profile is read whole by
    # ``nba.profile_load`` and not changed after).
    @functools.cached_property
    def held_products(self) -> frozenset[int]:
        return frozenset(o.product_id for o in self.orders)

    @functools.cached_property
    def held_keys(self) -> dict[str, frozenset[str]]:
        """``product_id`` / ``category`` -> the held values as text (rule values are text)."""
        return {
            "product_id": frozenset(str(o.product_id) for o in self.orders),
            "category": frozenset(str(o.category) for o in self.orders),
        }

    @functools.cached_property
    def last_ordered_at(self) -> datetime | None:
        return max((o.ordered_at for o in self.orders), default=None)

    @functools.cached_property
    def marketing_channels(self) -> frozenset[str]:
        """The channels with a granted marketing consent."""
        return frozenset(
            ch for (ch, purpose), ok in self.consent.items() if ok and purpose == "marketing"
        )


def _in(values: Sequence[Any]) -> frozenset[str]:
    return frozenset(str(v) for v in values)


def _choice(attr: str) -> Callable[[str, Any, int, Mapping[int, str]], Predicate]:
    def build(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
        wanted = _in(value)
        positive = op == "in"

        def test(p: Profile, now: datetime, today: date) -> bool:
            got = getattr(p, attr)
            return (got is not None and str(got) in wanted) == positive

        return test

    return build


def _unit(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
    prefixes = tuple(paths[int(v)] for v in value if str(v).isdigit() and int(v) in paths)
    positive = op == "in"

    def test(p: Profile, now: datetime, today: date) -> bool:
        return bool(prefixes and p.unit_path.startswith(prefixes)) == positive

    return test


def _holds(attr: str) -> Callable[[str, Any, int, Mapping[int, str]], Predicate]:
    def build(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
        wanted = _in(value)
        positive = op == "any"

        def test(p: Profile, now: datetime, today: date) -> bool:
            return (not wanted.isdisjoint(p.held_keys[attr])) == positive

        return test

    return build


def _window(aggregate: str) -> Callable[[str, Any, int, Mapping[int, str]], Predicate]:
    def build(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
        span = timedelta(days=days)
        bound = float(value)

        def metric(p: Profile, now: datetime) -> float:
            since = now - span
            recent = [o for o in p.orders if o.ordered_at >= since]
            return float(len(recent)) if aggregate == "count" else sum(o.amount for o in recent)

        if op == "gte":
            if bound <= 0:
                return lambda p, now, today: True
            return lambda p, now, today: metric(p, now) >= bound
        # "at most": nobody with more (no orders in the window counts as none)
        return lambda p, now, today: metric(p, now) <= bound

    return build


def _days_since_order(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
    span = timedelta(days=float(value))
    recent_wanted = op == "lte"

    def test(p: Profile, now: datetime, today: date) -> bool:
        last = p.last_ordered_at
        return (last is not None and last >= now - span) == recent_wanted

    return test


def _days_since_contact(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
    span = timedelta(days=float(value))
    recent_wanted = op == "lte"

    def test(p: Profile, now: datetime, today: date) -> bool:
        recent = p.last_contact_at is not None and p.last_contact_at >= now - span
        return recent == recent_wanted  # never contacted counts as long ago

    return test


def _tenure(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
    span = timedelta(days=float(value))

    def test(p: Profile, now: datetime, today: date) -> bool:
        if p.since is None:
            return False
        cut = today - span
        return p.since <= cut if op == "gte" else p.since > cut

    return test


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _age(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
    years = int(value)

    def test(p: Profile, now: datetime, today: date) -> bool:
        if p.birth_date is None:
            return False
        cut = _years_ago(today, years)
        return p.birth_date <= cut if op == "gte" else p.birth_date > cut

    return test


def _tier(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
    wanted = _in(value)
    positive = op == "in"

    def test(p: Profile, now: datetime, today: date) -> bool:
        return (p.value is not None and p.value.tier in wanted) == positive

    return test


def _score(attr: str) -> Callable[[str, Any, int, Mapping[int, str]], Predicate]:
    def build(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
        bound = float(value)

        def test(p: Profile, now: datetime, today: date) -> bool:
            if p.value is None:
                return False  # not scored: no number bound holds
            got = float(getattr(p.value, attr))
            return got >= bound if op == "gte" else got <= bound

        return test

    return build


def _consent(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
    wanted = _in(value)
    positive = op == "any"

    def test(p: Profile, now: datetime, today: date) -> bool:
        return (not wanted.isdisjoint(p.marketing_channels)) == positive

    return test


def _has(attr: str) -> Callable[[str, Any, int, Mapping[int, str]], Predicate]:
    def build(op: str, value: Any, days: int, paths: Mapping[int, str]) -> Predicate:
        wanted = bool(value)
        return lambda p, now, today: (getattr(p, attr) != "") == wanted

    return build


BUILDERS: dict[str, Callable[[str, Any, int, Mapping[int, str]], Predicate]] = {
    "kind": _choice("kind"),
    "city": _choice("city"),
    "industry": _choice("industry"),
    "tenure_days": _tenure,
    "age": _age,
    "unit": _unit,
    "owner": _choice("owner_id"),
    "holds_product": _holds("product_id"),
    "holds_category": _holds("category"),
    "order_count": _window("count"),
    "spend": _window("sum"),
    "days_since_order": _days_since_order,
    "value_tier": _tier,
    "clv": _score("clv"),
    "churn_risk": _score("churn_risk"),
    "days_since_contact": _days_since_contact,
    "consent": _consent,
    "has_email": _has("primary_email"),
    "has_phone": _has("primary_phone"),
}


def unit_ids_of(rules: dict[str, Any]) -> set[int]:
    """The org unit ids a clean rule names (their paths are needed to compile it)."""
    out: set[int] = set()
    for c in rules.get("conditions", []):
        if c["field"] == "unit":
            out.update(int(v) for v in c["value"] if str(v).isdigit())
    return out


def compile_rule(rules: dict[str, Any], unit_paths: Mapping[int, str]) -> Predicate:
    """The predicate of a clean rule (``segments.rules_clean``); active customers only.

    ``unit_paths`` maps the unit ids the rule names to their tree paths (``unit_ids_of``).
    """
    parts = [
        BUILDERS[c["field"]](c["op"], c["value"], int(c.get("days", 0)), unit_paths)
        for c in rules.get("conditions", [])
    ]
    active = CustomerStatus.ACTIVE.value
    if not parts:
        return lambda p, now, today: p.status == active
    # one or two conditions (most rules) are called directly: a generator per offer and
    # decision cost more than the tests themselves
    if len(parts) == 1:
        (only,) = parts
        return lambda p, now, today: p.status == active and only(p, now, today)
    if rules.get("match") == "any":
        if len(parts) == 2:
            a, b = parts
            return lambda p, now, today: (
                p.status == active and (a(p, now, today) or b(p, now, today))
            )
        return lambda p, now, today: p.status == active and any(t(p, now, today) for t in parts)
    if len(parts) == 2:
        a, b = parts
        return lambda p, now, today: p.status == active and a(p, now, today) and b(p, now, today)
    return lambda p, now, today: p.status == active and all(t(p, now, today) for t in parts)
