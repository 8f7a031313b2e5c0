"""The contact policy engine: which planned contacts may go out, and why the others may not.

Pure and vectorised: numpy arrays in, numpy arrays out, no database (``policy_data`` loads the
inputs set-based). Campaigns call :func:`evaluate` to plan a wave and :func:`plan_counts` for
the dry-run summary.

Time. Instants are int64 seconds since the epoch (UTC); a contact's time is its second (the
history's instants are rounded down to theirs). ``utc_offset`` (seconds) turns them into local
time for quiet hours and for calendar-day rules. One offset serves the whole evaluation (a
wave's period does not straddle a DST change in the zones Yiti serves;
``policy_data.utc_offset`` gives it for the period).

Windows. "``max_contacts`` in ``window_days`` days" holds over EVERY span of ``window_days`` ×
24 hours: a window is the half-open interval ``[s, s + window_days × 86400)`` for any instant
``s``, so two contacts share a window exactly when they are less than ``window_days`` × 24 h
apart (contacts at 12-03 23:30 and 12-07 10:00 leave no room at 12-10 10:00 under "2 in any 7
days"; at 12-10 23:30 there is room again). A rule with ``calendar_days`` counts whole local days
instead: each contact counts at the local midnight starting its day, so a window is
``window_days`` consecutive local days.

Codes. Channels, purposes and suppression reasons are small integers: their index in
:data:`CHANNELS`, :data:`PURPOSES`, :data:`SUPPRESSION_REASONS` (``encode`` converts strings).

Decision for each candidate, with ONE reason when excluded, checked in this order:

1. ``opted_out``: no consent for the candidate's channel × purpose. A consent row decides when
   there is one; without a row, service and care contacts are allowed and marketing (and sales)
   contacts are not — marketing needs a recorded opt-in, except on the portal inbox
   (``PULL_CHANNELS``), which the customer reads when he signs in.
2. ``suppressed:<reason>``: a marketing candidate whose customer has an active suppression
   (open complaint, do-not-disturb, …). Several reasons: the first in ``SuppressionReason``
   order. Suppression does not stop service or care contacts.
3. ``quiet_hours``: the local planned time falls in an active quiet period for its channel.
4. Arbitration and caps, among the remaining candidates of each customer, in rank order: higher
   ``priority × expected_value`` first; ties go to the lower campaign id, then the lower wave id,
   then the earlier candidate in the input. A candidate is kept when, for every rule whose scope
   holds it (purpose and channel in scope, weight > 0), every window of the rule containing
   its instant has a load, with it, of at most ``max_contacts``.
   The load of a window is the weighted count of the contacts of the customer in it: history
   (past contacts), already-planned sends, and candidates kept so far (all in the rule's scope).
   Weights are counted in integer thousandths, so comparisons are exact.

   A candidate that breaks a rule is excluded with:

   * ``cap:<rule>`` if it would still break a rule when the kept candidates of *other*
     campaigns are left out of the load (history, planned sends and its own campaign's kept
     contacts already fill the cap): ``<rule>`` is the first such rule in rule order;
   * otherwise ``lost_arbitration:<campaign id>``: a better-ranked contact of another campaign
     took the room. The campaign named is that of the best-ranked kept candidate of another
     campaign that is in the scope of a rule the candidate breaks and lies less than that rule's
     window from it (so it shares a window with it).

The common path has no Python loop per customer: candidates are sorted once by customer and
rank (a stable sort by customer, skipped when they come sorted, and a pairwise rank within
customers, or ``np.lexsort`` when a customer has many candidates); customers are ordered by
their number of candidates, largest first, so that those with a rank-``k`` candidate are the
first ones, and a loop runs over ranks (0, 1, 2 … up to the most candidates any customer has),
each step deciding the candidates of that rank of every customer at once on slices of the
earlier ranks' arrays. Within a step the windows to try are the few that can hold the maximum
load: the window starting at the candidate's instant and the windows starting at a contact
less than a window before it (moving a window's start forward to its first contact never
lowers its load), so a rolling window costs what a day-based one did. A customer's static
contacts (history, planned sends) are few, so where a window's bounds fall among them is
counted rather than searched; a kept contact's window starts at a candidate's instant, whose
static load is already known. Consent and suppression are looked up in tables
indexed by customer id when the ids are dense (binary searches otherwise). Customers are
independent, so the arbitration runs on ``workers`` threads, each on the customers of one
residue of the id (numpy releases the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from yiti.engagement.choices import InteractionChannel, InteractionPurpose, SuppressionReason

CHANNELS: tuple[str, ...] = tuple(InteractionChannel.values)
PURPOSES: tuple[str, ...] = tuple(InteractionPurpose.values)
SUPPRESSION_REASONS: tuple[str, ...] = tuple(SuppressionReason.values)
DEFAULT_ALLOWED = frozenset({InteractionPurpose.SERVICE.value, InteractionPurpose.CARE.value})
# Channels on which marketing needs no recorded opt-in: the portal inbox is read when the
# customer signs in, nothing reaches him uninvited (caps and suppressions still apply).
PULL_CHANNELS = frozenset({InteractionChannel.PORTAL.value})
MARKETING = PURPOSES.index(InteractionPurpose.MARKETING.value)
DAY = 86_400
SCALE = 1000  # weights and caps in thousandths
OPTED_OUT = "opted_out"
QUIET_HOURS = "quiet_hours"

_TIME_BITS = 34  # static contact key = customer's group << 34 | instant - base (544 years)
_TIME_LIMIT = 1 << _TIME_BITS
_TIME_MASK = _TIME_LIMIT - 1
_I64 = np.int64


def encode(values: Iterable[str], vocabulary: Sequence[str]) -> np.ndarray:
    """Strings to their codes in ``vocabulary`` (int8); unknown strings raise ``ValueError``."""
    index = {v: i for i, v in enumerate(vocabulary)}
    return np.fromiter((index[v] for v in values), dtype=np.int8)


def _arr(values: object, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=dtype))


@dataclass(frozen=True)
class Candidates:
    """Contacts campaigns want to make, one element per contact (all arrays of one length)."""

    customer_id: np.ndarray
    campaign_id: np.ndarray
    wave_id: np.ndarray
    channel: np.ndarray
    purpose: np.ndarray
    planned_at: np.ndarray
    priority: np.ndarray
    expected_value: np.ndarray

    @classmethod
    def of(cls, **columns: object) -> Candidates:
        """Build from sequences; ``channel`` and ``purpose`` may be codes or strings."""
        cols = dict(columns)
        for name, vocabulary in (("channel", CHANNELS), ("purpose", PURPOSES)):
            values = list(cols[name])  # type: ignore[call-overload]
            cols[name] = (
                encode(values, vocabulary) if values and isinstance(values[0], str) else values
            )
        return cls(
            customer_id=_arr(cols["customer_id"], _I64),
            campaign_id=_arr(cols["campaign_id"], _I64),
            wave_id=_arr(cols["wave_id"], _I64),
            channel=_arr(cols["channel"], np.int8),
            purpose=_arr(cols["purpose"], np.int8),
            planned_at=_arr(cols["planned_at"], _I64),
            priority=_arr(cols["priority"], np.float64),
            expected_value=_arr(cols["expected_value"], np.float64),
        )

    def __len__(self) -> int:
        return len(self.customer_id)


@dataclass(frozen=True)
class Contacts:
    """Contacts that count towards caps: history (past) or sends already planned.

    ``at``: the contact's instant (epoch seconds, UTC); ``count`` contacts of that customer,
    channel and purpose at that instant (history arrives counted per instant).
    """

    customer_id: np.ndarray
    at: np.ndarray
    channel: np.ndarray
    purpose: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> Contacts:
        z = np.zeros(0, dtype=_I64)
        return cls(z, z, z.astype(np.int8), z.astype(np.int8), z)

    @classmethod
    def each(
        cls,
        *,
        customer_id: object,
        at: object,
        channel: object,
        purpose: object,
    ) -> Contacts:
        """One contact per element at instants ``at`` (epoch seconds), e.g. planned sends."""
        when = _arr(at, _I64)
        return cls(
            customer_id=_arr(customer_id, _I64),
            at=when,
            channel=_arr(channel, np.int8),
            purpose=_arr(purpose, np.int8),
            count=np.ones(len(when), dtype=_I64),
        )

    def __len__(self) -> int:
        return len(self.customer_id)


@dataclass(frozen=True)
class Rule:
    """A contact cap (see ``models.ContactPolicyRule``); empty scopes mean all.

    ``calendar_days``: count whole local days (a window is ``window_days`` consecutive local
    days) instead of every span of ``window_days`` × 24 hours.
    """

    name: str
    max_contacts: int
    window_days: int
    purposes: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    weights: dict[str, float] = field(default_factory=dict)
    calendar_days: bool = False

    def weight_of(self, purpose: str) -> int:
        """Weight in thousandths of one contact of ``purpose`` (0 when out of scope)."""
        if self.purposes and purpose not in self.purposes:
            return 0
        return max(0, round(float(self.weights.get(purpose, 1)) * SCALE))

    def weight_table(self) -> np.ndarray:
        """Weight in thousandths per (channel code, purpose code)."""
        table = np.zeros((len(CHANNELS), len(PURPOSES)), dtype=_I64)
        for ci, channel in enumerate(CHANNELS):
            if self.channels and channel not in self.channels:
                continue
            for pi, purpose in enumerate(PURPOSES):
                table[ci, pi] = self.weight_of(purpose)
        return table


@dataclass(frozen=True)
class Quiet:
    """A quiet period (see ``models.QuietHours``): seconds after local midnight."""

    days: frozenset[int]
    start: int
    end: int
    channels: frozenset[str] = frozenset()

    def mask(self, local: np.ndarray, channel: np.ndarray) -> np.ndarray:
        """Which local instants (seconds, epoch-based) on which channel codes are quiet."""
        return _quiet_mask([self], local, local // DAY, channel)


@dataclass(frozen=True)
class Consent:
    """Consent rows: customer × channel code × purpose code → granted (one row per key)."""

    customer_id: np.ndarray
    channel: np.ndarray
    purpose: np.ndarray
    granted: np.ndarray

    @classmethod
    def empty(cls) -> Consent:
        z = np.zeros(0, dtype=_I64)
        return cls(z, z.astype(np.int8), z.astype(np.int8), z.astype(bool))


@dataclass(frozen=True)
class Suppressed:
    """Active suppressions: customer and reason code (several rows per customer allowed)."""

    customer_id: np.ndarray
    reason: np.ndarray

    @classmethod
    def empty(cls) -> Suppressed:
        z = np.zeros(0, dtype=_I64)
        return cls(z, z.astype(np.int8))


@dataclass(frozen=True)
class Decision:
    """``keep[i]`` for candidate ``i``; when excluded ``reasons[reason[i]]`` says why."""

    keep: np.ndarray
    reason: np.ndarray
    reasons: tuple[str, ...]

    def reason_of(self, i: int) -> str:
        return self.reasons[int(self.reason[i])]

    def labels(self) -> list[str]:
        """The reason of every candidate ("" for kept ones)."""
        return [self.reasons[r] for r in self.reason.tolist()]


def plan_counts(decision: Decision) -> dict[str, object]:
    """Audience size, kept and excluded counts by reason (for ``plan --dry-run --json``)."""
    counts = np.bincount(decision.reason, minlength=len(decision.reasons))
    excluded = {decision.reasons[i]: int(n) for i, n in enumerate(counts.tolist()) if i and n}
    return {
        "audience": len(decision.keep),
        "kept": int(decision.keep.sum()),
        "excluded": dict(sorted(excluded.items())),
    }


def evaluate(
    candidates: Candidates,
    history: Contacts,
    rules: Sequence[Rule],
    quiet: Sequence[Quiet],
    consent: Consent,
    suppressed: Suppressed,
    *,
    planned: Contacts | None = None,
    utc_offset: int = 0,
    workers: int | None = None,
) -> Decision:
    """Decide keep or exclude (with one reason) for every candidate; see the module docstring.

    ``workers``: threads for the arbitration (customers are independent, so they are split by
    customer id into that many parts; numpy releases the GIL). By default one per core (at
    most :data:`MAX_WORKERS`) when there are at least :data:`PARALLEL_FROM` open candidates.
    The decision is the same whatever the number.
    """
    n = len(candidates)
    cust, purpose = candidates.customer_id, candidates.purpose

    reasons: list[str] = ["", OPTED_OUT, QUIET_HOURS]
    reasons += [f"suppressed:{r}" for r in SUPPRESSION_REASONS]
    cap_base = len(reasons)
    reasons += [f"cap:{rule.name}" for rule in rules]
    reason = np.zeros(n, dtype=np.int32)

    # 1. consent
    consented = _consented(cust, candidates.channel, purpose, consent)
    reason[~consented] = 1
    idx = np.flatnonzero(consented)  # the candidates still open, checked further
    # 2. suppression (marketing only)
    marketing = idx[purpose[idx] == MARKETING]
    supp = _suppression_reason(cust[marketing], suppressed)
    hit = supp >= 0
    reason[marketing[hit]] = 3 + supp[hit]
    # 3. quiet hours
    idx = idx[reason[idx] == 0]
    if quiet:
        local = candidates.planned_at[idx] + utc_offset
        hit = _quiet_mask(quiet, local, local // DAY, candidates.channel[idx])
        reason[idx[hit]] = 2
        idx = idx[~hit]

    # 4. arbitration and caps
    winner = np.full(n, -1, dtype=_I64)  # campaign that took the room, for lost_arbitration
    if len(idx) and rules:
        cap_rule, winner_sel = _arbitrate_parts(
            candidates, idx, history, planned, rules, _workers(workers, len(idx)), utc_offset
        )
        failed = cap_rule >= 0
        reason[idx[failed]] = cap_base + cap_rule[failed]
        lost = winner_sel >= 0
        winner[idx[lost]] = winner_sel[lost]
    lost_any = winner >= 0
    if lost_any.any():
        campaigns, inverse = np.unique(winner[lost_any], return_inverse=True)
        base = len(reasons)
        reasons += [f"lost_arbitration:{c}" for c in campaigns.tolist()]
        reason[lost_any] = base + inverse
    return Decision(keep=reason == 0, reason=reason, reasons=tuple(reasons))


def evaluate_one(
    *,
    channel: str,
    purpose: str,
    at: int,
    history: Iterable[tuple[int, str, str, int]],
    rules: Sequence[Rule],
    quiet: Sequence[Quiet],
    consent: Mapping[tuple[str, str], bool],
    suppressed: Iterable[str],
    utc_offset: int = 0,
) -> str:
    """:func:`evaluate` for ONE candidate contact of one customer with no competing candidates
    (so no ``lost_arbitration``): ``""`` when allowed, else its reason.

    ``at``: epoch seconds; ``history``: his contacts as (epoch seconds, channel, purpose,
    count), history and planned sends alike; ``consent``: his rows, (channel, purpose) → granted;
    ``suppressed``: his active suppression reasons. Values outside :data:`CHANNELS`,
    :data:`PURPOSES` and :data:`SUPPRESSION_REASONS` are ignored (the engine has no code for
    them).

    Written by hand in plain Python because the next best action asks this question for a
    single customer while an agent waits: numpy's cost per call is fixed, and for one
    customer's few contacts that fixed cost was most of the decision. The rules are the same
    as the module docstring's; a property test checks that it decides as :func:`evaluate`.
    """
    granted = consent.get((channel, purpose))
    if granted is None:
        granted = allowed_by_default(channel, purpose)
    if not granted:
        return OPTED_OUT
    if purpose == PURPOSES[MARKETING]:
        codes = [SUPPRESSION_REASONS.index(r) for r in suppressed if r in SUPPRESSION_REASONS]
        if codes:
            return f"suppressed:{SUPPRESSION_REASONS[min(codes)]}"
    local = at + utc_offset
    day = local // DAY
    if any(_quiet_at(q, local - day * DAY, (day + 3) % 7, channel) for q in quiet):
        return QUIET_HOURS
    contacts = [(h, ch, pu, n) for h, ch, pu, n in history if ch in CHANNELS and pu in PURPOSES]
    for rule in rules:
        w = _weight_one(rule, channel, purpose)
        if not w:
            continue
        span = _span(rule)
        t = _counted_one(rule, at, utc_offset)
        load: dict[int, int] = {}
        for h, ch, pu, n in contacts:
            d = _counted_one(rule, h, utc_offset)
            if t - span < d < t + span and (cw := _weight_one(rule, ch, pu) * n):
                load[d] = load.get(d, 0) + cw
        # the windows that can hold the most: starting at ``t`` or at a contact before it
        starts = [t, *(d for d in load if d < t)]
        peak = max(sum(x for d, x in load.items() if s <= d < s + span) for s in starts)
        if peak + w > rule.max_contacts * SCALE:
            return f"cap:{rule.name}"
    return ""


def _counted_one(rule: Rule, at: int, utc_offset: int) -> int:
    """Instant ``at`` as ``rule`` counts it (a calendar-day rule: its local midnight)."""
    if not rule.calendar_days:
        return at
    return (at + utc_offset) // DAY * DAY - utc_offset


def _weight_one(rule: Rule, channel: str, purpose: str) -> int:
    """The rule's weight (thousandths) of one contact on ``channel`` for ``purpose``."""
    if rule.channels and channel not in rule.channels:
        return 0
    return rule.weight_of(purpose)


def _quiet_at(q: Quiet, second: int, weekday: int, channel: str) -> bool:
    """Whether a contact on ``channel`` at ``second`` after local midnight of a ``weekday``
    (0 Monday) falls in the quiet period ``q`` (one over midnight belongs to its start day)."""
    if q.channels and channel not in q.channels:
        return False
    today = weekday in q.days
    if q.start == q.end:
        return today
    if q.start < q.end:
        return today and q.start <= second < q.end
    return (today and second >= q.start) or ((weekday - 1) % 7 in q.days and second < q.end)


MAX_WORKERS = 2
PARALLEL_FROM = 200_000


def _workers(workers: int | None, n_open: int) -> int:
    if workers is None:
        workers = min(MAX_WORKERS, os.cpu_count() or 1) if n_open >= PARALLEL_FROM else 1
    return max(1, int(workers))


def _dense_span(*ids: np.ndarray) -> tuple[int, int] | None:
    """``(low, size)`` of a direct-address table over the customer ids, when it stays small.

    Customer ids are mostly dense (a sequence), so a table indexed by ``id - low`` replaces a
    sort and a binary search per candidate; ``low`` is 0 when that costs little room. For
    sparse ids (more than 4 slots per id looked up or stored, and over a million slots)
    ``None`` says to search instead.
    """
    present = [a for a in ids if len(a)]
    if not present:
        return None
    low = min(int(a.min()) for a in present)
    high = max(int(a.max()) for a in present)
    room = max(1 << 20, 4 * sum(len(a) for a in present))
    if low >= 0 and high < room:
        return 0, high + 1
    if high - low < room:
        return low, high - low + 1
    return None


def _consented(
    cust: np.ndarray, channel: np.ndarray, purpose: np.ndarray, consent: Consent
) -> np.ndarray:
    n_pu = len(PURPOSES)
    default = _DEFAULT_TABLE[channel, purpose]
    if not len(consent.customer_id) or not len(cust):
        return default
    pair = channel.astype(np.int16) * n_pu + purpose
    c_pair = consent.channel.astype(np.int16) * n_pu + consent.purpose
    dense = _dense_span(cust, consent.customer_id)
    if dense is not None:
        # a column per channel × purpose the candidates use: -1 no row, 0 refused, 1 granted
        used = np.zeros(len(CHANNELS) * n_pu, dtype=bool)
        used[pair] = True
        column = (np.cumsum(used) - 1).astype(np.int16)
        low, size = dense
        sel = used[c_pair]
        table = np.full((size, int(used.sum())), -1, dtype=np.int8)
        c_cust = consent.customer_id[sel]
        table[c_cust - low if low else c_cust, column[c_pair[sel]]] = consent.granted[sel]
        got = table[cust - low if low else cust, column[pair]]
        return np.where(got < 0, default, got > 0)
    keys = consent.customer_id * (len(CHANNELS) * n_pu) + c_pair
    order = np.argsort(keys, kind="stable")
    keys, granted = keys[order], consent.granted[order].astype(bool)
    want = cust * (len(CHANNELS) * n_pu) + pair
    pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.where(keys[pos] == want, granted[pos], default)


def consented(
    customer_id: np.ndarray, channel: np.ndarray, purpose: np.ndarray, consent: Consent
) -> np.ndarray:
    """Whether each contact (customer, channel code, purpose code) has consent: its row when
    there is one, else :func:`allowed_by_default` — the test of reason 1 (``opted_out``), so a
    planner choosing a channel agrees with the engine (the portal inbox needs no opt-in)."""
    return _consented(
        _arr(customer_id, _I64), _arr(channel, np.int8), _arr(purpose, np.int8), consent
    )


def allowed_by_default(channel: str, purpose: str) -> bool:
    """Whether a contact on ``channel`` for ``purpose`` is allowed without a consent row."""
    return purpose in DEFAULT_ALLOWED or channel in PULL_CHANNELS


_DEFAULT_TABLE = np.array([[allowed_by_default(c, p) for p in PURPOSES] for c in CHANNELS])


def _suppression_reason(cust: np.ndarray, suppressed: Suppressed) -> np.ndarray:
    """Per candidate customer: the first active suppression reason code, or -1."""
    if not len(suppressed.customer_id) or not len(cust):
        return np.full(len(cust), -1, dtype=np.int32)
    reason = suppressed.reason.astype(np.int32)
    dense = _dense_span(cust, suppressed.customer_id)
    if dense is not None:
        low, size = dense
        none = len(SUPPRESSION_REASONS)
        table = np.full(size, none, dtype=np.int32)
        np.minimum.at(table, suppressed.customer_id - low, reason)
        got = table[cust - low]
        return np.where(got == none, -1, got)
    order = np.lexsort((reason, suppressed.customer_id))
    s_cust, s_reason = suppressed.customer_id[order], reason[order]
    first = np.ones(len(s_cust), dtype=bool)
    first[1:] = s_cust[1:] != s_cust[:-1]
    s_cust, s_reason = s_cust[first], s_reason[first]
    pos = np.minimum(np.searchsorted(s_cust, cust), len(s_cust) - 1)
    return np.where(s_cust[pos] == cust, s_reason[pos], -1)


def _quiet_mask(
    quiet: Sequence[Quiet], local: np.ndarray, day: np.ndarray, channel: np.ndarray
) -> np.ndarray:
    """Candidates whose local planned time (``local``, on local ``day``) is in a quiet period.

    The second of the day is computed once for all periods, and a day's weekday is looked up
    in a table of the few days the candidates span.
    """
    q = np.zeros(len(local), dtype=bool)
    if not len(local) or not quiet:
        return q
    sod = (local - day * DAY).astype(np.int32)
    first = int(day.min())
    span = int(day.max()) - first + 1
    if span <= 1 << 16:
        d = (day - first).astype(np.int32)
        weekday_of = (np.arange(first, first + span) + 3) % 7  # 1970-01-01 was a Thursday

        def on(listed: np.ndarray) -> np.ndarray:
            return listed[weekday_of][d]

    else:
        weekday = (day + 3) % 7

        def on(listed: np.ndarray) -> np.ndarray:
            return listed[weekday]

    for period in quiet:
        listed = np.zeros(7, dtype=bool)
        listed[list(period.days)] = True
        if period.start == period.end:
            hit = on(listed)
        elif period.start < period.end:
            hit = on(listed) & (sod >= period.start) & (sod < period.end)
        else:  # over midnight: from the start on a listed day, until the end the day after
            hit = (on(listed) & (sod >= period.start)) | (
                on(np.roll(listed, 1)) & (sod < period.end)
            )
        if period.channels:
            hit &= np.array([c in period.channels for c in CHANNELS])[channel]
        q |= hit
    return q


def _arbitrate_parts(
    c: Candidates,
    idx: np.ndarray,
    history: Contacts,
    planned: Contacts | None,
    rules: Sequence[Rule],
    workers: int,
    utc_offset: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_arbitrate` on ``workers`` parts of the customers at once (by customer id)."""
    if workers <= 1:
        return _arbitrate(c, idx, history, planned, rules, utc_offset)
    part = c.customer_id[idx] % workers
    parts = [np.flatnonzero(part == p) for p in range(workers)]

    def run(p: int) -> tuple[np.ndarray, np.ndarray]:
        own_history = _contacts_of(history, history.customer_id % workers == p)
        own_planned = (
            None if planned is None else _contacts_of(planned, planned.customer_id % workers == p)
        )
        return _arbitrate(c, idx[parts[p]], own_history, own_planned, rules, utc_offset)

    cap_rule = np.empty(len(idx), dtype=np.int32)
    winner = np.empty(len(idx), dtype=_I64)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for p, (cap_p, win_p) in enumerate(pool.map(run, range(workers))):
            cap_rule[parts[p]] = cap_p
            winner[parts[p]] = win_p
    return cap_rule, winner


def _contacts_of(contacts: Contacts, mask: np.ndarray) -> Contacts:
    return Contacts(
        customer_id=contacts.customer_id[mask],
        at=contacts.at[mask],
        channel=contacts.channel[mask],
        purpose=contacts.purpose[mask],
        count=contacts.count[mask],
    )


def _span(rule: Rule) -> int:
    """The rule's window in seconds."""
    return rule.window_days * DAY


def _counted_at(rule: Rule, t: np.ndarray, utc_offset: int, base: int) -> np.ndarray:
    """Instants ``t`` (seconds after ``base``) as rule ``rule`` counts them: as they are, or,
    for a calendar-day rule, the local midnight that starts their day (so a window of
    ``window_days`` × 24 hours starting at a midnight is ``window_days`` whole local days)."""
    if not rule.calendar_days:
        return t
    return (t + (base + utc_offset)) // DAY * DAY - (base + utc_offset)


@dataclass
class _Load:
    """One rule's static contacts (history + planned) summed per group-instant key, sorted."""

    key: np.ndarray  # group << _TIME_BITS | instant - base, sorted unique
    time: np.ndarray  # instant - base (as the rule counts it)
    csum: np.ndarray  # prefix sums, len + 1
    fwd: np.ndarray  # load of the window starting at each key's instant


def _static_keys(
    contacts: list[Contacts], group_cust: np.ndarray, base: int
) -> tuple[np.ndarray, ...]:
    """The static contacts of the candidates' customers in reach, sorted by group-instant key
    (the group: the customer's index in ``group_cust``): key, channel, purpose, count."""
    parts = []
    for c in contacts:
        if not len(c.customer_id) or not len(group_cust):
            continue
        dense = _dense_span(group_cust, c.customer_id)
        if dense is not None:  # a table of group by customer id (ids are mostly dense)
            low, size = dense
            table = np.full(size, -1, dtype=_I64)
            table[group_cust - low] = np.arange(len(group_cust))
            g = table[c.customer_id - low]
            found = g >= 0
        else:
            g = np.minimum(np.searchsorted(group_cust, c.customer_id), len(group_cust) - 1)
            found = group_cust[g] == c.customer_id
        rel = c.at - base
        sel = found & (rel >= 0) & (rel < _TIME_LIMIT)
        key = (g[sel] << _TIME_BITS) | rel[sel]
        parts.append((key, c.channel[sel], c.purpose[sel], c.count[sel]))
    if not parts:
        z = np.zeros(0, dtype=_I64)
        return z, z.astype(np.int8), z.astype(np.int8), z
    cols = [np.concatenate(col) for col in zip(*parts, strict=True)]
    key = cols[0]
    if len(key) > 1 and not (key[1:] >= key[:-1]).all():
        order = np.argsort(key, kind="stable")
        cols = [col[order] for col in cols]
    return tuple(cols)


def _static_load(
    static: tuple[np.ndarray, ...], table: np.ndarray, rule: Rule, utc_offset: int, base: int
) -> _Load:
    key, channel, purpose, count = static
    w = table[channel.astype(np.intp), purpose.astype(np.intp)] * count
    sel = w > 0
    key, weight = key[sel], w[sel]
    if rule.calendar_days and len(key):  # counted at their day's midnight (order kept)
        group, rel = key >> _TIME_BITS, key & _TIME_MASK
        rel = _counted_at(rule, rel, utc_offset, base)
        inside = rel >= 0  # a midnight before ``base`` is out of every candidate's reach
        key, weight = (group[inside] << _TIME_BITS) | rel[inside], weight[inside]
    if len(key):
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        if len(starts) < len(key):
            key, weight = key[starts], np.add.reduceat(weight, starts)
    csum = np.zeros(len(key) + 1, dtype=_I64)
    np.cumsum(weight, out=csum[1:])
    time = key & _TIME_MASK
    hi = np.searchsorted(key, key + (_span(rule) - 1), side="right")  # keys are unique: lo is i
    return _Load(key=key, time=time, csum=csum, fwd=csum[hi] - csum[:-1])


def _rank_order(
    cust: np.ndarray, score: np.ndarray, campaign: np.ndarray, wave: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates by customer, then best first: higher score, lower campaign, lower wave, input.

    Returns the order and, in it, the start and size of each customer's run. A stable sort by
    customer (skipped when the candidates already come sorted by customer, as waves do), then
    within each customer the rank of a candidate is the number of its candidates that beat it,
    compared pairwise across all customers at once (each pair once). Customers with many
    candidates fall back on ``np.lexsort`` (stable, so equal keys keep their input order).
    """
    n = len(cust)
    if n == 0:
        z = np.zeros(0, dtype=np.intp)
        return z, z, z
    by_customer: np.ndarray | None = None
    if not (cust[1:] >= cust[:-1]).all():
        by_customer = np.argsort(cust, kind="stable")
        cust = cust[by_customer]
        score, campaign, wave = score[by_customer], campaign[by_customer], wave[by_customer]
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    sizes = np.diff(np.r_[starts, n])
    width = int(sizes.max())
    if width > 8:
        order = np.lexsort((wave, campaign, -score, cust))
        if by_customer is not None:
            order = by_customer[order]
        return order, starts, sizes
    # b-th against a-th candidate (in input order) of every customer that has both, a < b
    rank = np.zeros(n, dtype=np.intp)
    for b in range(1, width):
        pb = starts[sizes > b] + b
        sb, cb, wb = score[pb], campaign[pb], wave[pb]
        for a in range(b):
            pa = pb - (b - a)
            sa, ca, wa = score[pa], campaign[pa], wave[pa]
            # b beats a (earlier in the input) only when strictly better
            b_wins = (sb > sa) | ((sb == sa) & ((cb < ca) | ((cb == ca) & (wb < wa))))
            rank[pa] += b_wins
            rank[pb] += ~b_wins
    order = np.empty(n, dtype=np.intp)
    order[np.repeat(starts, sizes) + rank] = np.arange(n)
    if by_customer is not None:
        order = by_customer[order]
    return order, starts, sizes


@dataclass
class _Column:
    """The rank-``k`` candidates of the first ``len(pos)`` groups (groups largest first).

    Per rule ``r``: ``time[r]`` of each candidate (seconds after the base, as the rule counts
    it), ``weight[r]`` (0 out of the rule's scope), ``scope[r]`` the rows in scope (``None``:
    all), and for every row ``lo[r] .. mid[r]`` the static contacts in ``(t - span, t)`` and
    ``static[r]`` the static load of the window starting at ``t`` (zero out of scope). After
    the rank's step: ``kept_w[r]`` (weight when kept, else 0).
    """

    pos: np.ndarray
    camp: np.ndarray
    time: list[np.ndarray]
    weight: list[np.ndarray]
    scope: list[np.ndarray | None]
    lo: list[np.ndarray]
    mid: list[np.ndarray]
    static: list[np.ndarray]
    kept_w: list[np.ndarray] = field(default_factory=list)


def _group_ranges(load: _Load, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """For each group (customer): where its static contacts start in ``load`` and how many
    there are (0 for most customers: history is sparse)."""
    g_lo = np.zeros(n_groups, dtype=_I64)
    g_n = np.zeros(n_groups, dtype=np.int32)
    if len(load.key):
        owner = load.key >> _TIME_BITS
        first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        g_lo[owner[first]] = first
        g_n[owner[first]] = np.diff(np.r_[first, len(owner)])
    return g_lo, g_n


_COUNT_UP_TO = 8  # static contacts of a customer counted one by one; more: binary search


def _column(
    pos: np.ndarray,
    gid: np.ndarray,
    times: list[np.ndarray],
    camp: np.ndarray,
    code: np.ndarray,
    tables: list[np.ndarray],
    loads: list[_Load],
    ranges: list[tuple[np.ndarray, np.ndarray]],
    rules: Sequence[Rule],
) -> _Column:
    """Column of ``pos`` (the rank-``k`` candidates of the first ``len(pos)`` groups).

    Where a candidate's window bounds fall among its customer's static contacts is counted
    directly (a customer has few, most none) rather than searched in the whole array.
    """
    m = len(pos)
    col = _Column(pos=pos, camp=camp[pos], time=[], weight=[], scope=[], lo=[], mid=[], static=[])
    code_k = code[pos]
    seen: dict[int, np.ndarray] = {}  # rules counting instants alike share one array
    for ri, (table, load, (g_lo, g_n), rule) in enumerate(
        zip(tables, loads, ranges, rules, strict=True)
    ):
        t = seen.get(id(times[ri]))
        if t is None:
            t = seen[id(times[ri])] = times[ri][pos]
        w = table[code_k]
        inside = w > 0
        scope = None if inside.all() else np.flatnonzero(inside)
        lo, mid = np.zeros(m, dtype=_I64), np.zeros(m, dtype=_I64)
        static = np.zeros(m, dtype=_I64)
        has = g_n[:m] > 0
        if scope is not None:
            has &= inside
        sub = np.flatnonzero(has)
        if len(sub):
            span = _span(rule)
            e0, ne, ts = g_lo[:m][sub], g_n[:m][sub], t[sub]
            first_t, last_t = ts - (span - 1), ts + (span - 1)
            n_lo = np.zeros(len(sub), dtype=_I64)
            n_mid, n_hi = n_lo.copy(), n_lo.copy()
            r = np.arange(len(sub))
            j = 0
            while len(r) and j < _COUNT_UP_TO:
                d = load.time[e0[r] + j]
                n_lo[r] += d < first_t[r]
                n_mid[r] += d < ts[r]
                n_hi[r] += d <= last_t[r]
                j += 1
                r = r[ne[r] > j]
            if len(r):
                tkey = (gid[pos[sub[r]]] << _TIME_BITS) | ts[r]
                n_lo[r] = np.searchsorted(load.key, tkey - (span - 1)) - e0[r]
                n_mid[r] = np.searchsorted(load.key, tkey) - e0[r]
                n_hi[r] = np.searchsorted(load.key, tkey + (span - 1), side="right") - e0[r]
            lo[sub] = e0 + n_lo
            mid[sub] = e0 + n_mid
            static[sub] = load.csum[e0 + n_hi] - load.csum[e0 + n_mid]
        col.time.append(t)
        col.weight.append(w)
        col.scope.append(scope)
        col.lo.append(lo)
        col.mid.append(mid)
        col.static.append(static)
    return col


def _arbitrate(
    c: Candidates,
    idx: np.ndarray,
    history: Contacts,
    planned: Contacts | None,
    rules: Sequence[Rule],
    utc_offset: int,
) -> tuple[np.ndarray, np.ndarray]:
    """For the open candidates ``idx``: failed rule index (or -1) and winning campaign (or -1).

    A candidate is kept when both are -1. The candidates are sorted by customer and rank and
    the customers (groups) by their number of candidates, largest first, so that the groups
    with a rank-``k`` candidate are the first ``m[k]``: column ``k`` holds their rank-``k``
    candidates and the step of rank ``k`` works on slices of the earlier columns. Instants are
    seconds after a base a longest window before the earliest candidate.
    """
    if not len(idx):
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=_I64)
    score = c.priority[idx] * c.expected_value[idx]
    score = np.where(np.isnan(score), -np.inf, score)  # an unknown value ranks last
    order, starts, sizes = _rank_order(
        c.customer_id[idx], score, c.campaign_id[idx], c.wave_id[idx]
    )
    srt = idx[order]
    n = len(srt)
    cust, camp = c.customer_id[srt], c.campaign_id[srt]
    group_cust = cust[starts]  # ascending
    gid = np.repeat(np.arange(len(starts), dtype=_I64), sizes)  # each candidate's group
    at = c.planned_at[srt]
    longest = max(_span(r) for r in rules)
    base = int(at.min()) - longest - DAY
    if int(at.max()) - base >= _TIME_LIMIT - longest:
        raise ValueError("the candidates' planned times are centuries apart")
    rel = at - base
    times = [_counted_at(r, rel, utc_offset, base) for r in rules]
    tables = [r.weight_table() for r in rules]
    static = _static_keys([history] + ([planned] if planned is not None else []), group_cust, base)
    loads = [
        _static_load(static, t, r, utc_offset, base) for r, t in zip(rules, tables, strict=True)
    ]
    code = c.channel[srt].astype(np.int16) * len(PURPOSES) + c.purpose[srt]
    flat = [t.ravel() for t in tables]  # weight by channel × purpose code

    by_size = np.argsort(-sizes, kind="stable")
    g_start, g_size = starts[by_size], sizes[by_size]
    ranges = []
    for load in loads:
        g_lo, g_n = _group_ranges(load, len(starts))
        ranges.append((g_lo[by_size], g_n[by_size]))
    width = int(g_size[0])
    cols: list[_Column] = []
    cap_rule = np.full(n, -1, dtype=np.int32)
    winner = np.full(n, -1, dtype=_I64)
    for k in range(width):
        m = int(np.count_nonzero(g_size > k))
        col = _column(g_start[:m] + k, gid, times, camp, code, flat, loads, ranges, rules)
        cols.append(col)
        broken = np.zeros((len(rules), m), dtype=bool)
        for ri, rule in enumerate(rules):
            scope = col.scope[ri]
            if scope is not None and not len(scope):
                continue
            rows = slice(None) if scope is None else scope
            broken[ri][rows] = _breaks(cols, k, ri, rule, loads[ri], scope, None)
        bad = broken.any(axis=0)
        col.kept_w = [np.where(bad, 0, w) for w in col.weight]
        if not bad.any():
            continue
        # Why: still broken without other campaigns' kept contacts -> cap, else lost arbitration.
        sel = np.flatnonzero(bad)
        mb = col.camp[sel]
        first_cap = np.full(len(sel), -1, dtype=np.int32)
        for ri, rule in enumerate(rules):
            inside = np.flatnonzero(broken[ri][sel] & (first_cap < 0))
            if not len(inside):
                continue
            still = _breaks(cols, k, ri, rule, loads[ri], sel[inside], mb[inside])
            first_cap[inside[still]] = ri
        cap_rule[col.pos[sel]] = first_cap
        lost = np.flatnonzero(first_cap < 0)
        if not len(lost):
            continue
        rows, ml = sel[lost], mb[lost]
        found = np.full(len(rows), -1, dtype=_I64)
        for prev in cols[:k]:  # best-ranked first
            other = prev.camp[rows]
            shares = np.zeros(len(rows), dtype=bool)
            for ri, rule in enumerate(rules):
                close = np.abs(prev.time[ri][rows] - col.time[ri][rows]) < _span(rule)
                shares |= broken[ri][rows] & (prev.kept_w[ri][rows] > 0) & close
            take = (found < 0) & (other != ml) & shares
            found[take] = other[take]
        winner[col.pos[rows]] = found
    # back to the order of ``idx``
    out_cap = np.empty(n, dtype=np.int32)
    out_win = np.empty(n, dtype=_I64)
    out_cap[order] = cap_rule
    out_win[order] = winner
    return out_cap, out_win


def _breaks(
    cols: list[_Column],
    k: int,
    ri: int,
    rule: Rule,
    load: _Load,
    rows: np.ndarray | None,
    only_campaign: np.ndarray | None,
) -> np.ndarray:
    """Whether the rank-``k`` candidates ``rows`` (default all) would break rule ``ri``, with
    the kept contacts of the earlier ranks (only those of ``only_campaign`` when given).
    """
    col = cols[k]
    at = slice(None) if rows is None else rows
    kept = _kept(cols[:k], ri, len(col.pos), rows, only_campaign)
    peak = _peak(
        load,
        _span(rule),
        col.time[ri][at],
        col.lo[ri][at],
        col.mid[ri][at],
        col.static[ri][at],
        kept,
    )
    return peak + col.weight[ri][at] > rule.max_contacts * SCALE


def _kept(
    cols: list[_Column],
    ri: int,
    m: int,
    rows: np.ndarray | None,
    only_campaign: np.ndarray | None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Rule ``ri``'s kept contacts of the earlier columns, for the ``rows`` of the first ``m``
    groups: (weight, instant, static load of the window starting at that instant) per column.

    With ``only_campaign``, the contacts of other campaigns weigh nothing.
    """
    out = []
    for col in cols:
        w = col.kept_w[ri][:m]
        if rows is not None:
            w = w[rows]
        if only_campaign is not None:
            camp = col.camp[:m] if rows is None else col.camp[rows]
            w = np.where(camp == only_campaign, w, 0)
        if not w.any():
            continue
        d, s = col.time[ri][:m], col.static[ri][:m]
        if rows is not None:
            d, s = d[rows], s[rows]
        out.append((w, d, s))
    return out


def _peak(
    load: _Load,
    span: int,
    t: np.ndarray,
    lo: np.ndarray,
    mid: np.ndarray,
    static_t: np.ndarray,
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> np.ndarray:
    """The highest load of a window of ``span`` seconds containing instant ``t``, without the
    candidate.

    The windows tried start at ``t`` or at a contact's instant (static or kept) in
    ``(t - span, t)``; one of them has the highest load (moving a window's start forward to
    its first contact never lowers its load). ``lo .. mid`` index the static contacts in that
    range and ``static_t`` is the static load of the window starting at ``t``; a kept
    contact's window starts at a candidate's instant, whose static load its column holds.
    """

    def within(start: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        total = np.zeros(len(start), dtype=_I64)
        for w, d, _ in kept:
            if rows is not None:
                w, d = w[rows], d[rows]
            total += np.where((d >= start) & (d < start + span), w, 0)
        return total

    peak = static_t + within(t) if kept else static_t.copy()
    gap = mid - lo
    i = 0
    rows = np.flatnonzero(gap > i)
    while len(rows):
        e = lo[rows] + i
        here = load.fwd[e]
        if kept:
            here = here + within(load.time[e], rows)
        peak[rows] = np.maximum(peak[rows], here)
        i += 1
        rows = rows[gap[rows] > i]
    for w, d, s in kept:
        rows = np.flatnonzero((w > 0) & (d < t) & (d > t - span))
        if len(rows):
            peak[rows] = np.maximum(peak[rows], s[rows] + within(d[rows], rows))
    return peak
