"""A plan's final exclusions, kept compactly (``PlanExclusion``): written, counted, read back.

Planning writes one delivery row for every contact that is planned or may be planned again
(it lost arbitration or hit a cap: planning another wave may revive it), and packs every
other excluded customer — no address on file, no consent, suppressed, not eligible, quiet
hours, beyond capacity — into sorted 16-bit offsets, one row per wave, reason and block of
65,536 customer ids. A million-customer broadcast that excludes 900,000 customers writes
about a hundred such rows instead of 900,000 delivery rows.

Reading back is vectorised: a wave's excluded customers are its rows' offsets added to their
blocks (:func:`customers_of`); whether one customer was excluded from recent waves is one
indexed query on his block and a binary search per row (:func:`of_customer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Q, Sum

from yiti.campaigns.models import Delivery, PlanExclusion, Wave

BITS = PlanExclusion.BLOCK_BITS
MASK = (1 << BITS) - 1
_OFFSETS = np.dtype("<u2")
# how far back a customer's page looks for the waves that excluded him
RECENT_WAVES = 100


def reason_q(reason: str) -> Q:
    """A reason or its head (``suppressed`` matches every ``suppressed:<why>``)."""
    return Q(reason=reason) | Q(reason__startswith=f"{reason}:")


def pack(
    wave_id: int, customers: np.ndarray, codes: np.ndarray, labels: Sequence[str]
) -> list[PlanExclusion]:
    """The rows for ``customers`` (int64, ascending) excluded for ``labels[codes]``."""
    rows: list[PlanExclusion] = []
    for code, label in enumerate(labels):
        ids = customers[codes == code]
        if not len(ids):
            continue
        blocks = ids >> BITS
        starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
        ends = np.r_[starts[1:], len(ids)]
        offsets = (ids & MASK).astype(_OFFSETS)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            rows.append(
                PlanExclusion(
                    wave_id=wave_id,
                    reason=label,
                    block=int(blocks[s]),
                    count=e - s,
                    members=offsets[s:e].tobytes(),
                )
            )
    return rows


def write(wave_id: int, customers: np.ndarray, codes: np.ndarray, labels: Sequence[str]) -> int:
    """Store the exclusions (inside the caller's transaction); the number of rows written."""
    rows = pack(wave_id, customers, codes, labels)
    PlanExclusion.objects.bulk_create(rows, batch_size=200)
    return len(rows)


def unpack(row: PlanExclusion) -> np.ndarray:
    """The customer ids of one row, ascending."""
    offsets = np.frombuffer(bytes(row.members), dtype=_OFFSETS).astype(np.int64)
    return offsets + (int(row.block) << BITS)


def counts(waves: Iterable[int]) -> dict[tuple[int, str], int]:
    """(wave id, reason) → customers excluded, for these waves. One query."""
    return {
        (r["wave_id"], r["reason"]): int(r["n"])
        for r in PlanExclusion.objects.filter(wave_id__in=list(waves))
        .order_by()
        .values("wave_id", "reason")
        .annotate(n=Sum("count"))
    }


def customers_of(wave: Wave, *, reason: str = "") -> list[tuple[str, np.ndarray]]:
    """The wave's excluded customers per reason (reasons in order, ids ascending); ``reason``
    keeps one reason or its head. One query."""
    qs = PlanExclusion.objects.filter(wave=wave)
    if reason:
        qs = qs.filter(reason_q(reason))
    parts: dict[str, list[np.ndarray]] = {}
    for row in qs.order_by("reason", "block"):
        parts.setdefault(row.reason, []).append(unpack(row))
    return [(label, np.concatenate(chunks)) for label, chunks in parts.items()]


@dataclass(frozen=True)
class Excluded:
    """One customer's exclusion from one wave."""

    wave: Wave
    reason: str


def of_customer(customer_id: int, *, limit: int) -> list[Excluded]:
    """The customer's exclusions from the latest waves, newest wave first, at most ``limit``.

    Looks at the ``RECENT_WAVES`` latest waves with exclusions in his block only (the (block,
    wave) index answers both queries), so that the cost does not grow with the history."""
    block, offset = customer_id >> BITS, customer_id & MASK
    recent = list(
        PlanExclusion.objects.filter(block=block)
        .order_by("-wave_id")
        .values_list("wave_id", flat=True)
        .distinct()[:RECENT_WAVES]
    )
    found: list[Excluded] = []
    rows = (
        PlanExclusion.objects.filter(block=block, wave_id__in=recent)
        .select_related("wave", "wave__campaign")
        .order_by("-wave_id", "reason")
    )
    for row in rows:
        offsets = np.frombuffer(bytes(row.members), dtype=_OFFSETS)
        at = int(np.searchsorted(offsets, offset))
        if at < len(offsets) and int(offsets[at]) == offset:
            found.append(Excluded(wave=row.wave, reason=row.reason))
            if len(found) >= limit:
                break
    return found


def decisions(wave_id: int) -> dict[int, str]:
    """Customer id → the wave's decision for him ("" when planned, else the reason), from
    its delivery rows and its packed exclusions."""
    out = dict(
        Delivery.objects.filter(wave_id=wave_id).values_list("customer_id", "reason").order_by()
    )
    for row in PlanExclusion.objects.filter(wave_id=wave_id):
        out.update(dict.fromkeys(unpack(row).tolist(), row.reason))
    return out
