"""The contact policy engine: which planned contacts may go out, and why the others may not.

Pure and vectorised: numpy arrays in, numpy arrays out, no database (``policy_data`` loads the
inputs set-based). Campaigns call :func:`evaluate` to plan a wave and :func:`plan_counts` for
the dry-run summary.

Time. Instants are int64 seconds since the epoch (UTC). ``utc_offset`` (seconds) turns them into
local time for quiet hours and local *days* (``(t + utc_offset) // 86400``); caps count whole
local days. One offset serves the whole evaluation (a wave's period does not straddle a DST
change in the zones Yiti serves; ``policy_data.utc_offset`` gives it for the period).

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
   holds it (purpose and channel in scope, weight > 0), every window of ``window_days``
   consecutive local days containing its day has a load, with it, of at most ``max_contacts``.
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
     ``window_days`` days from it (so it shares a window with it).

The common path has no Python loop per customer: candidates are sorted once by customer and
rank (a stable sort by customer and a pairwise rank within customers, or ``np.lexsort`` when a
customer has many candidates), and a loop runs over ranks (0, 1, 2 … up to the most candidates
any customer has), each step deciding the candidates of that rank of every customer at once.
Within a step the windows to try are the few that can hold the maximum load: the window starting
on the candidate's day and the windows starting on a contact day before it (moving a window's
start forward to its first contact never lowers its load).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

_DAY_BITS = 20  # customer key = customer_id << 20 | local day - base day
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

    ``day`` is the local day number (see the module docstring); ``count`` contacts of that
    customer, channel and purpose on that day (history arrives aggregated).
    """

    customer_id: np.ndarray
    day: np.ndarray
    channel: np.ndarray
    purpose: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> Contacts:
        z = np.zeros(0, dtype=_I64)
        return cls(z, z, z.astype(np.int8), z.astype(np.int8), z)

    @classmethod
    def at(
        cls,
        *,
        customer_id: object,
        at: object,
        channel: object,
        purpose: object,
        utc_offset: int = 0,
    ) -> Contacts:
        """One contact per element at instants ``at`` (epoch seconds), e.g. planned sends."""
        when = _arr(at, _I64)
        return cls(
            customer_id=_arr(customer_id, _I64),
            day=(when + utc_offset) // DAY,
            channel=_arr(channel, np.int8),
            purpose=_arr(purpose, np.int8),
            count=np.ones(len(when), dtype=_I64),
        )

    def __len__(self) -> int:
        return len(self.customer_id)


@dataclass(frozen=True)
class Rule:
    """A contact cap (see ``models.ContactPolicyRule``); empty scopes mean all."""

    name: str
    max_contacts: int
    window_days: int
    purposes: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    weights: dict[str, float] = field(default_factory=dict)

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
        day = local // DAY
        sod = local - day * DAY
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        listed = np.zeros(7, dtype=bool)
        listed[list(self.days)] = True
        on_day = listed[weekday]
        if self.start == self.end:
            quiet = on_day
        elif self.start < self.end:
            quiet = on_day & (sod >= self.start) & (sod < self.end)
        else:
            quiet = (on_day & (sod >= self.start)) | (listed[(weekday - 1) % 7] & (sod < self.end))
        if self.channels:
            allowed = np.array([c in self.channels for c in CHANNELS])
            quiet = quiet & allowed[channel]
        return quiet


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
) -> Decision:
    """Decide keep or exclude (with one reason) for every candidate; see the module docstring."""
    n = len(candidates)
    cust = candidates.customer_id
    channel = candidates.channel.astype(np.intp)
    purpose = candidates.purpose.astype(np.intp)
    local = candidates.planned_at + utc_offset
    day = local // DAY

    reasons: list[str] = ["", OPTED_OUT, QUIET_HOURS]
    reasons += [f"suppressed:{r}" for r in SUPPRESSION_REASONS]
    cap_base = len(reasons)
    reasons += [f"cap:{rule.name}" for rule in rules]
    reason = np.zeros(n, dtype=np.int32)

    # 1. consent
    opted_out = ~_consented(cust, channel, purpose, consent)
    reason[opted_out] = 1
    open_ = ~opted_out
    # 2. suppression (marketing only)
    supp = _suppression_reason(cust, suppressed)
    hit = open_ & (purpose == MARKETING) & (supp >= 0)
    reason[hit] = 3 + supp[hit]
    open_ &= ~hit
    # 3. quiet hours
    if quiet:
        q = np.zeros(n, dtype=bool)
        for period in quiet:
            q |= period.mask(local, channel)
        hit = open_ & q
        reason[hit] = 2
        open_ &= ~hit

    # 4. arbitration and caps
    winner = np.full(n, -1, dtype=_I64)  # campaign that took the room, for lost_arbitration
    idx = np.flatnonzero(open_)
    if len(idx) and rules:
        cap_rule, winner_sel = _arbitrate(candidates, idx, day, history, planned, rules)
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


def _consented(
    cust: np.ndarray, channel: np.ndarray, purpose: np.ndarray, consent: Consent
) -> np.ndarray:
    n_ch, n_pu = len(CHANNELS), len(PURPOSES)
    default = _DEFAULT_TABLE[channel, purpose]
    if not len(consent.customer_id):
        return default
    keys = (consent.customer_id * n_ch + consent.channel) * n_pu + consent.purpose
    order = np.argsort(keys, kind="stable")
    keys, granted = keys[order], consent.granted[order].astype(bool)
    want = (cust * n_ch + channel) * n_pu + purpose
    pos = np.searchsorted(keys, want)
    posc = np.minimum(pos, len(keys) - 1)
    found = keys[posc] == want
    return np.where(found, granted[posc], default)


_DEFAULT_TABLE = np.array(
    [[p in DEFAULT_ALLOWED or c in PULL_CHANNELS for p in PURPOSES] for c in CHANNELS], dtype=bool
)


def _suppression_reason(cust: np.ndarray, suppressed: Suppressed) -> np.ndarray:
    """Per candidate customer: the first active suppression reason code, or -1."""
    if not len(suppressed.customer_id):
        return np.full(len(cust), -1, dtype=np.int32)
    order = np.lexsort((suppressed.reason, suppressed.customer_id))
    s_cust, s_reason = suppressed.customer_id[order], suppressed.reason[order]
    first = np.ones(len(s_cust), dtype=bool)
    first[1:] = s_cust[1:] != s_cust[:-1]
    s_cust, s_reason = s_cust[first], s_reason[first].astype(np.int32)
    pos = np.minimum(np.searchsorted(s_cust, cust), len(s_cust) - 1)
    return np.where(s_cust[pos] == cust, s_reason[pos], -1)


@dataclass
class _Load:
    """One rule's static contacts (history + planned) summed per customer-day key, sorted."""

    key: np.ndarray  # customer << bits | day - base, sorted unique
    day: np.ndarray
    csum: np.ndarray  # prefix sums, len + 1
    fwd: np.ndarray  # load of the window starting on each key's day

    def window(self, key_from: np.ndarray, days: int) -> np.ndarray:
        """Static load of the windows [key_from, key_from + days - 1] (same customer)."""
        lo = np.searchsorted(self.key, key_from, side="left")
        hi = np.searchsorted(self.key, key_from + (days - 1), side="right")
        return self.csum[hi] - self.csum[lo]


def _static_load(contacts: list[Contacts], table: np.ndarray, days: int, base: int) -> _Load:
    keys, weights = [], []
    for c in contacts:
        w = table[c.channel.astype(np.intp), c.purpose.astype(np.intp)] * c.count
        sel = (w > 0) & (c.day >= base) & (c.day - base < (1 << _DAY_BITS))
        keys.append((c.customer_id[sel] << _DAY_BITS) | (c.day[sel] - base))
        weights.append(w[sel])
    key = np.concatenate(keys) if keys else np.zeros(0, dtype=_I64)
    weight = np.concatenate(weights) if weights else np.zeros(0, dtype=_I64)
    order = np.argsort(key, kind="stable")
    key, weight = key[order], weight[order]
    if len(key):
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        key, weight = key[starts], np.add.reduceat(weight, starts)
    csum = np.zeros(len(key) + 1, dtype=_I64)
    np.cumsum(weight, out=csum[1:])
    load = _Load(key=key, day=(key & ((1 << _DAY_BITS) - 1)) + base, csum=csum, fwd=csum[:0])
    load.fwd = load.window(key, days)
    return load


def _near(load: _Load, days: int, tkey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate (customer-day key ``tkey``): the index range ``lo .. mid`` of the static
    contacts in ``[t - days + 1, t - 1]``, and the static load of the window starting on ``t``.
    """
    lo = np.searchsorted(load.key, tkey - (days - 1), side="left")
    mid = np.searchsorted(load.key, tkey, side="left")
    hi = np.searchsorted(load.key, tkey + (days - 1), side="right")
    return lo, mid, load.csum[hi] - load.csum[mid]


def _rank_order(
    cust: np.ndarray, score: np.ndarray, campaign: np.ndarray, wave: np.ndarray
) -> np.ndarray:
    """Candidates by customer, then best first: higher score, lower campaign, lower wave, input.

    A stable sort by customer (fast: waves arrive as runs sorted by customer), then within each
    customer the rank of a candidate is the number of its candidates that beat it, compared
    pairwise across all customers at once. Customers with many candidates fall back on
    ``np.lexsort`` (stable, so equal keys keep their input order).
    """
    n = len(cust)
    by_customer = np.argsort(cust, kind="stable")
    c = cust[by_customer]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if n else np.zeros(0, dtype=np.intp)
    sizes = np.diff(np.r_[starts, n])
    width = int(sizes.max()) if n else 0
    if width > 8:
        return np.lexsort((wave, campaign, -score, cust))
    group = np.repeat(np.arange(len(starts)), sizes)
    s, cm, wv = score[by_customer], campaign[by_customer], wave[by_customer]
    rank = np.zeros(n, dtype=np.intp)
    for a in range(width):
        rows = np.flatnonzero(sizes > a)
        pa = starts[rows] + a
        sa, ca, wa = s[pa], cm[pa], wv[pa]
        beaten = np.zeros(len(rows), dtype=np.intp)
        for b in range(width):
            if b == a:
                continue
            has = sizes[rows] > b
            pb = np.where(has, starts[rows] + b, pa)
            sb, cb, wb = s[pb], cm[pb], wv[pb]
            tie = sb == sa
            better = (sb > sa) | (
                tie & ((cb < ca) | ((cb == ca) & ((wb < wa) | ((wb == wa) & (b < a)))))
            )
            beaten += has & better
        rank[pa] = beaten
    order = np.empty(n, dtype=np.intp)
    order[starts[group] + rank] = by_customer
    return order


def _arbitrate(
    c: Candidates,
    idx: np.ndarray,
    day_all: np.ndarray,
    history: Contacts,
    planned: Contacts | None,
    rules: Sequence[Rule],
) -> tuple[np.ndarray, np.ndarray]:
    """For the open candidates ``idx``: failed rule index (or -1) and winning campaign (or -1).

    A candidate is kept when both are -1. Works on the candidates sorted by customer and rank:
    group ``g`` (a customer) holds positions ``starts[g] .. starts[g] + sizes[g] - 1``.
    """
    score = c.priority[idx] * c.expected_value[idx]
    order = _rank_order(c.customer_id[idx], score, c.campaign_id[idx], c.wave_id[idx])
    srt = idx[order]
    cust, camp, day = c.customer_id[srt], c.campaign_id[srt], day_all[srt]
    ch, pu = c.channel[srt].astype(np.intp), c.purpose[srt].astype(np.intp)
    n = len(srt)
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    sizes = np.diff(np.r_[starts, n])
    n_groups, width = len(starts), int(sizes.max())

    max_days = max(r.window_days for r in rules)
    base = int(day.min()) - max_days
    tables = [r.weight_table() for r in rules]
    contacts = [history] + ([planned] if planned is not None else [])
    loads = [
        _static_load(contacts, t, r.window_days, base) for r, t in zip(rules, tables, strict=True)
    ]
    weight = [t[ch, pu] for t in tables]  # per sorted candidate, per rule
    tkey = (cust << _DAY_BITS) | (day - base)
    # Static contacts around each candidate, per rule: index range of those in [t - D + 1, t - 1]
    # and the static load of the window starting on t.
    near = [_near(load, rule.window_days, tkey) for load, rule in zip(loads, rules, strict=True)]

    kept_day = np.zeros((n_groups, width), dtype=_I64)
    kept_camp = np.full((n_groups, width), -1, dtype=_I64)
    kept_w = [np.zeros((n_groups, width), dtype=_I64) for _ in rules]

    cap_rule = np.full(n, -1, dtype=np.int32)
    winner = np.full(n, -1, dtype=_I64)
    for k in range(width):
        g = np.flatnonzero(sizes > k)  # customers with a rank-k candidate
        at = starts[g] + k
        t, cm = day[at], camp[at]
        broken = np.zeros((len(rules), len(at)), dtype=bool)
        for ri, rule in enumerate(rules):
            w = weight[ri][at]
            applies = w > 0
            if not applies.any():
                continue
            lo, mid, static_t = (a[at] for a in near[ri])
            cols = _Kept(kept_w[ri], kept_day, kept_camp, g, k, None)
            peak = _peak(loads[ri], cols, rule.window_days, base, t, tkey[at], lo, mid, static_t)
            broken[ri] = applies & (peak + w > rule.max_contacts * SCALE)
        bad = broken.any(axis=0)
        fits = ~bad
        gf = g[fits]
        kept_day[gf, k] = t[fits]
        kept_camp[gf, k] = cm[fits]
        for ri in range(len(rules)):
            kept_w[ri][gf, k] = weight[ri][at[fits]]
        if not bad.any():
            continue
        # Why: still broken without other campaigns' kept contacts -> cap, else lost arbitration.
        sel = np.flatnonzero(bad)
        gb, ab, tb, mb = g[sel], at[sel], t[sel], cm[sel]
        first_cap = np.full(len(sel), -1, dtype=np.int32)
        for ri, rule in enumerate(rules):
            w = weight[ri][ab]
            lo, mid, static_t = (a[ab] for a in near[ri])
            cols = _Kept(kept_w[ri], kept_day, kept_camp, gb, k, mb)
            peak = _peak(loads[ri], cols, rule.window_days, base, tb, tkey[ab], lo, mid, static_t)
            still = (w > 0) & (peak + w > rule.max_contacts * SCALE) & (first_cap < 0)
            first_cap[still] = ri
        cap_rule[ab] = first_cap
        lost = first_cap < 0
        found = np.full(len(sel), -1, dtype=_I64)
        for col in range(k):
            other = kept_camp[gb, col]
            shares = np.zeros(len(sel), dtype=bool)
            for ri, rule in enumerate(rules):
                close = np.abs(kept_day[gb, col] - tb) < rule.window_days
                shares |= broken[ri][sel] & (kept_w[ri][gb, col] > 0) & close
            take = lost & (found < 0) & (other >= 0) & (other != mb) & shares
            found[take] = other[take]
        winner[ab[lost]] = found[lost]
    # back to the order of ``idx``
    out_cap = np.empty(n, dtype=np.int32)
    out_win = np.empty(n, dtype=_I64)
    out_cap[order] = cap_rule
    out_win[order] = winner
    return out_cap, out_win


class _Kept:
    """The kept candidates (columns ``< k``) of groups ``g`` for one rule, as column arrays.

    With ``only_campaign``, the contacts of other campaigns weigh nothing.
    """

    def __init__(
        self,
        kept_w: np.ndarray,
        kept_day: np.ndarray,
        kept_camp: np.ndarray,
        g: np.ndarray,
        k: int,
        only_campaign: np.ndarray | None,
    ) -> None:
        self.weight: list[np.ndarray] = []
        self.day: list[np.ndarray] = []
        for col in range(k):
            w = kept_w[g, col]
            if only_campaign is not None:
                w = np.where(kept_camp[g, col] == only_campaign, w, 0)
            if w.any():
                self.weight.append(w)
                self.day.append(kept_day[g, col])

    def within(self, start: np.ndarray, days: int, rows: np.ndarray | None = None) -> np.ndarray:
        """Kept load of the windows ``[start, start + days - 1]`` (of ``rows`` when given)."""
        total = np.zeros(len(start), dtype=_I64)
        for w, d in zip(self.weight, self.day, strict=True):
            if rows is not None:
                w, d = w[rows], d[rows]
            total += np.where((d >= start) & (d <= start + (days - 1)), w, 0)
        return total


def _peak(
    load: _Load,
    kept: _Kept,
    days: int,
    base: int,
    t: np.ndarray,
    tkey: np.ndarray,
    lo: np.ndarray,
    mid: np.ndarray,
    static_t: np.ndarray,
) -> np.ndarray:
    """The highest load of a window of ``days`` days containing day ``t``, without the candidate.

    The windows tried start on ``t`` or on a contact day (static or kept) in
    ``[t - days + 1, t - 1]``; one of them has the highest load. ``lo .. mid`` index the static
    contacts in that range and ``static_t`` is the static load of the window starting on ``t``.
    """
    peak = static_t + kept.within(t, days)
    span = mid - lo
    i = 0
    rows = np.flatnonzero(span > i)
    while len(rows):
        e = lo[rows] + i
        here = load.fwd[e]
        if kept.weight:
            here = here + kept.within(load.day[e], days, rows)
        peak[rows] = np.maximum(peak[rows], here)
        i += 1
        rows = rows[span[rows] > i]
    for w, d in zip(kept.weight, kept.day, strict=True):
        rows = np.flatnonzero((w > 0) & (d < t) & (d > t - days))
        if not len(rows):
            continue
        s = d[rows]
        key = tkey[rows] - (t[rows] - s)
        here = load.window(key, days) + kept.within(s, days, rows)
        peak[rows] = np.maximum(peak[rows], here)
    return peak
