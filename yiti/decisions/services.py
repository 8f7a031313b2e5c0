"""Writes for the value model: the refit, "Refit now", the value settings and unit costs.

:func:`value_refit` reads the book set-based into numpy (``inputs``), fits BG/NBD and
Gamma-Gamma and scores every customer (``scores``, ``tiers``), then, in one transaction,
replaces every ``customers.CustomerValue`` row (``yiti.core.bulk``: ``COPY`` on PostgreSQL),
records the tier changes, asks care for the retention calls of the most valuable customers
at risk (``care.services.retention_calls_create``) and audits the refit as one event. The
number of queries does not depend on the number of customers. A fit that the data cannot
support (no repeat buyer, no convergence) is recorded as failed with its reason and leaves
the previous scores in place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.care.services import retention_calls_create
from yiti.core.audit import audit_record, diff, snapshot
from yiti.core.bulk import insert_rows
from yiti.core.errors import Conflict, ValidationFailed
from yiti.customers.choices import ValueTier
from yiti.customers.models import CustomerValue
from yiti.decisions import inputs, rules, selectors
from yiti.decisions import weights as weights_rules
from yiti.decisions.choices import CostItem, FitStatus, FitTrigger
from yiti.decisions.models import ServiceCost, TierChange, ValueModelFit, ValueSettings
from yiti.decisions.scores import Scores, ScoreSettings, positions, score_book
from yiti.decisions.tiers import TIER_VALUES, TierRules
from yiti.decisions.value_model import ModelFitError
from yiti.decisions.weights import ContextWeights
from yiti.org.models import User

logger = logging.getLogger("yiti.decisions")

STALE_REQUEST = timedelta(hours=2)  # a queued or running fit older than this is abandoned
WRITE_BATCH = 20_000

SETTINGS_FIELDS = [
    "horizon_months",
    "discount_rate",
    "window_months",
    "holdout_months",
    "mvc_share",
    "mgc_share",
    "peer_percentile",
    "min_peers",
    "trend_months",
    "trend_rise",
    "churn_threshold",
    "cost_lookback_months",
    "undo_minutes",
    "no_offer_tiers",
]


def months_before(at: datetime, months: int) -> datetime:
    """The same local day and time ``months`` calendar months earlier (clamped to the
    month's last day: 31 March minus one month is 28 or 29 February)."""
    local = timezone.localtime(at)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in range(local.day, 27, -1):
        try:
            return local.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return local.replace(year=year, month=month, day=min(local.day, 28))


def _window_end(end: date | datetime | None) -> datetime:
    """The instant the data window ends: now, a given instant, or the end of a local day."""
    if end is None:
        return timezone.now()
    if isinstance(end, datetime):
        return end if timezone.is_aware(end) else timezone.make_aware(end)
    midnight = timezone.make_aware(datetime.combine(end + timedelta(days=1), datetime.min.time()))
    return midnight - timedelta(microseconds=1)


def _score_settings(values: ValueSettings, horizon_months: int | None) -> ScoreSettings:
    return ScoreSettings(
        horizon_months=horizon_months or values.horizon_months,
        discount_rate=values.discount_rate,
        holdout_months=values.holdout_months,
        trend_months=values.trend_months,
        cost_lookback_months=values.cost_lookback_months,
        rules=TierRules(
            mvc_share=values.mvc_share,
            mgc_share=values.mgc_share,
            churn_threshold=values.churn_threshold,
            peer_percentile=values.peer_percentile,
            min_peers=values.min_peers,
            trend_rise=values.trend_rise,
        ),
    )


class _Timer:
    """Wall-clock and CPU seconds of each phase of a refit (CPU: this process only, so on
    SQLite it includes the database's work and on PostgreSQL it does not)."""

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def __call__(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        phase = self.phases.setdefault(name, {"wall": 0.0, "cpu": 0.0})
        phase["wall"] = round(phase["wall"] + wall - self._wall, 3)
        phase["cpu"] = round(phase["cpu"] + cpu - self._cpu, 3)
        self._wall, self._cpu = wall, cpu


def _mark(fit: ValueModelFit, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(fit, name, value)
    fit.save(update_fields=[*fields, "updated_at"])


def value_refit(
    *,
    actor: User | None = None,
    end: date | datetime | None = None,
    horizon_months: int | None = None,
    trigger: str = FitTrigger.MANUAL,
    fit: ValueModelFit | None = None,
) -> ValueModelFit:
    """Refit the value model on the orders up to ``end`` (default now) and rescore every
    customer. Returns the fit, succeeded or failed; a failed fit changes no score.

    ``fit`` is a queued fit to run (from :func:`value_refit_request`); otherwise one is
    created. ``horizon_months`` overrides the settings' horizon for this fit.
    """
    started = time.perf_counter()
    timer = _Timer()
    values = selectors.value_settings_current()
    costs = selectors.unit_costs_current()
    settings = _score_settings(values, horizon_months)
    window_end = _window_end(end)
    window_start = months_before(window_end, values.window_months) if values.window_months else None
    record = {
        "settings": snapshot(values, SETTINGS_FIELDS),
        "unit_costs": {item: str(cost) for item, cost in costs.items()},
    }
    if fit is None:
        fit = ValueModelFit.objects.create(
            status=FitStatus.RUNNING, trigger=trigger, requested_by=actor
        )
    fit_fields = {
        "status": FitStatus.RUNNING,
        "started_at": timezone.now(),
        "window_end": timezone.localdate(window_end),
        "window_start": timezone.localdate(window_start) if window_start else None,
        "horizon_months": settings.horizon_months,
        "discount_rate": settings.discount_rate,
        "holdout_months": settings.holdout_months,
        "inputs": record,
        "error": "",
    }
    _mark(fit, **fit_fields)
    try:
        book = inputs.read_book()
        timer("read_customers")
        orders = inputs.read_orders(start=window_start, end=window_end)
        timer("read_orders")
        cost_start = months_before(window_end, values.cost_lookback_months)
        use = inputs.read_service_use(book, start=cost_start, end=window_end, unit_costs=costs)
        record["service_use"] = {"counts": use.counts, "cost": use.totals}
        timer("read_cost_to_serve")
        end_day = inputs.local_day(window_end)
        scores = score_book(book, orders, use.cost, end_day=end_day, settings=settings, timer=timer)
        _require_finite(book.customer_id, scores)
    except ModelFitError as exc:
        return _failed(fit, actor=actor, reason=str(exc), started=started, timer=timer)
    now = timezone.now()
    try:
        with transaction.atomic():
            ValueSettings.objects.select_for_update().filter(pk=1).first()  # one writer at a time
            changes, counts = _write_scores(book.customer_id, scores, fit_id=fit.pk, now=now)
            timer("write_scores")
            care = retention_calls_create(
                churn_threshold=settings.rules.churn_threshold, now=now, source=f"fit #{fit.pk}"
            )
            timer("care_tasks")
            _succeeded(
                fit,
                scores=scores,
                customers=len(book),
                transactions=len(orders),
                counts=counts,
                changes=changes,
                care_tasks=care.created,
                now=now,
                started=started,
                timer=timer,
                record=record,
            )
            audit_record(
                actor=actor,
                action="decisions.value_refit",
                obj=fit,
                changes={
                    "window": [fit.window_start, fit.window_end],
                    "bgnbd": scores.bgnbd.as_dict(),
                    "gamma_gamma": scores.gamma_gamma.as_dict(),
                    "customers": len(book),
                    "tiers": counts,
                    "tier_changes": changes,
                    "retention_calls": care.created,
                },
                summary=_("Value refit: %(n)s customers") % {"n": len(book)},
            )
    except Exception as exc:
        _failed(
            fit, actor=actor, reason=f"{type(exc).__name__}: {exc}", started=started, timer=timer
        )
        raise
    logger.info("value refit #%s: %d customers in %.1f s", fit.pk, len(book), fit.seconds)
    return fit


FLOAT_SCORES = (
    "clv",
    "expected_purchases",
    "p_alive",
    "churn_risk",
    "cost_to_serve",
    "net_value",
    "growth_gap",
)


def _require_finite(book_ids: np.ndarray, scores: Scores) -> None:
    """Refuse scores that are not finite numbers before anything is written.

    A NaN or infinite value would not be an error anywhere downstream: it compares false
    with every threshold, so the customer would silently drop from most valuable to
    standard (SQLite would even refuse it as NULL, PostgreSQL store it). CustomerValue has
    no database check for this (it belongs to the customers app), so this is the guard:
    the whole fit is refused (recorded as failed, logged, the previous scores stay) rather
    than clipped, since no clipped value would be the customer's true score.
    """
    bad = np.zeros(len(book_ids), dtype=bool)
    for name in FLOAT_SCORES:
        bad |= ~np.isfinite(getattr(scores, name))
    if bad.any():
        logger.warning(
            "value refit: scores not finite for customer ids %s",
            ", ".join(str(i) for i in book_ids[bad][:20].tolist()),
        )
        raise ModelFitError(
            f"{int(bad.sum())} customers got scores that are not finite (NaN or infinite): "
            "nothing was written, the previous scores stay"
        )


SCORE_FIELDS = (
    "customer",
    "tier",
    "clv",
    "expected_purchases",
    "p_alive",
    "churn_risk",
    "cost_to_serve",
    "net_value",
    "growth_gap",
    "rising",
    "purchases",
    "last_purchase_on",
    "fit_id",
    "computed_at",
)
REBUILD_INDEXES_AT = 200_000  # SQLite: from this many rows, drop the indexes and rebuild them
WRITE_CHUNK = 200_000  # score rows built at a time
WRITE_CACHE_KIB = 512 * 1024  # SQLite page cache while the scores are rewritten


def _write_scores(
    book_ids: np.ndarray, scores: Scores, *, fit_id: int, now: datetime
) -> tuple[int, dict[str, int]]:
    """Replace every CustomerValue row and record the tier changes. Returns the number of
    changes and the customers per tier.

    The rows are built column-wise from the arrays, already as database parameters, and go
    in through ``yiti.core.bulk.insert_rows`` (``COPY`` on PostgreSQL). On SQLite a large
    replace drops the two secondary indexes and rebuilds them once from their stored SQL,
    which is faster than keeping them up to date row by row (as the demo seed does).
    """
    n = len(book_ids)
    previous = _previous_tiers(book_ids)
    new = scores.tier.astype(np.int64)
    changed = np.flatnonzero(previous != new)
    tier_names = np.array(TIER_VALUES, dtype=object)
    from_names = np.where(previous[changed] >= 0, tier_names[np.maximum(previous[changed], 0)], "")
    sqlite = connection.vendor == "sqlite"
    at = connection.ops.adapt_datetimefield_value(now) if sqlite else now
    last = np.full(n, None, dtype=object)
    bought = scores.last_day >= 0
    last[bought] = np.datetime_as_string(scores.last_day[bought].astype("datetime64[D]"))
    columns = (
        book_ids,
        tier_names[new],
        scores.clv,
        scores.expected_purchases,
        scores.p_alive,
        scores.churn_risk,
        scores.cost_to_serve,
        scores.net_value,
        scores.growth_gap,
        scores.rising,
        scores.purchases,
        last,
    )
    indexes = _secondary_indexes(CustomerValue) if sqlite and n >= REBUILD_INDEXES_AT else []
    with connection.cursor() as cursor:
        if sqlite:  # room for the whole table in the page cache while it is rewritten
            cursor.execute("PRAGMA cache_size")
            cache_size = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = {-WRITE_CACHE_KIB}")
        cursor.execute(f"DELETE FROM {inputs.table(CustomerValue)}")  # noqa: S608
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    for begin in range(0, n, WRITE_CHUNK):  # rows made a chunk at a time: bounded memory
        part = slice(begin, min(n, begin + WRITE_CHUNK))
        size = part.stop - part.start
        rows = list(
            zip(
                *(column[part].tolist() for column in columns),
                repeat(fit_id, size),
                repeat(at, size),
                strict=False,  # the repeats are as long as the columns
            )
        )
        insert_rows(CustomerValue, SCORE_FIELDS, rows, batch_size=WRITE_BATCH, ready=True)
    with connection.cursor() as cursor:
        for _name, sql in indexes:
            cursor.execute(sql)
        if sqlite:
            cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
    insert_rows(
        TierChange,
        ("customer", "fit", "from_tier", "to_tier", "clv", "at"),
        list(
            zip(
                book_ids[changed].tolist(),
                repeat(fit_id, len(changed)),
                from_names.tolist(),
                tier_names[new[changed]].tolist(),
                scores.clv[changed].tolist(),
                repeat(at, len(changed)),
                strict=False,
            )
        ),
        batch_size=WRITE_BATCH,
        ready=True,
    )
    counts = np.bincount(new, minlength=len(TIER_VALUES))
    return len(changed), {TIER_VALUES[i]: int(counts[i]) for i in range(len(TIER_VALUES))}


def _secondary_indexes(model: Any) -> list[tuple[str, str]]:
    """SQLite: the name and stored SQL of each index of the model's table (not the key)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL",
            [model._meta.db_table],
        )
        return list(cursor.fetchall())


def _previous_tiers(book_ids: np.ndarray) -> np.ndarray:
    """The tier code each customer of the book had before this fit (-1: none), one query
    (customer id × 8 + tier code in one integer a row)."""
    cases = " ".join(f"WHEN %s THEN {code}" for code in range(len(TIER_VALUES)))
    sql = (
        f"SELECT {inputs.column(CustomerValue, 'customer')} * 8 + "  # noqa: S608
        f"CASE {inputs.column(CustomerValue, 'tier')} {cases} ELSE 7 END "
        f"FROM {inputs.table(CustomerValue)}"
    )
    packed = inputs.fetch_array(sql, list(TIER_VALUES), 1, dtype=np.int64)[:, 0]
    ids, codes = packed >> 3, packed & 7
    previous = np.full(len(book_ids), -1, dtype=np.int64)
    at, found = positions(book_ids, ids)
    found &= codes < len(TIER_VALUES)
    previous[at[found]] = codes[found]
    return previous


def _succeeded(
    fit: ValueModelFit,
    *,
    scores: Scores,
    customers: int,
    transactions: int,
    counts: dict[str, int],
    changes: int,
    care_tasks: int,
    now: datetime,
    started: float,
    timer: _Timer,
    record: dict[str, Any],
) -> None:
    bg, gg = scores.bgnbd, scores.gamma_gamma
    holdout = scores.holdout
    _mark(
        fit,
        status=FitStatus.SUCCEEDED,
        fitted_at=now,
        bgnbd_r=bg.r,
        bgnbd_alpha=bg.alpha,
        bgnbd_a=bg.a,
        bgnbd_b=bg.b,
        bgnbd_log_likelihood=bg.log_likelihood,
        gg_p=gg.p,
        gg_q=gg.q,
        gg_v=gg.v,
        gg_log_likelihood=gg.log_likelihood,
        customers=customers,
        buyers=len(scores.rfm),
        transactions=transactions,
        repeat_buyers=gg.n,
        holdout_predicted=holdout.predicted if holdout else None,
        holdout_actual=holdout.actual if holdout else None,
        tier_counts=counts,
        tier_changes=changes,
        care_tasks=care_tasks,
        total_clv=float(scores.clv.sum()),
        mean_p_alive=float(scores.p_alive[scores.purchases > 0].mean())
        if np.any(scores.purchases > 0)
        else None,
        seconds=round(time.perf_counter() - started, 3),
        phases=timer.phases,
        inputs=record,
    )


def _failed(
    fit: ValueModelFit, *, actor: User | None, reason: str, started: float, timer: _Timer
) -> ValueModelFit:
    _mark(
        fit,
        status=FitStatus.FAILED,
        error=reason[:2000],
        seconds=round(time.perf_counter() - started, 3),
        phases=timer.phases,
    )
    audit_record(
        actor=actor,
        action="decisions.value_refit_failed",
        obj=fit,
        changes={"error": reason[:500]},
        summary=_("Value refit failed: %(reason)s") % {"reason": reason[:200]},
    )
    logger.warning("value refit #%s failed: %s", fit.pk, reason)
    return fit


# --- "Refit now" -----------------------------------------------------------------------------


def _enqueue(fit_id: int) -> None:
    from yiti.decisions.tasks import value_refit_task

    try:
        result = value_refit_task.enqueue(fit_id=fit_id)
    except Exception as exc:
        ValueModelFit.objects.filter(pk=fit_id).update(
            status=FitStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.exception("could not enqueue value refit #%s", fit_id)
        return
    ValueModelFit.objects.filter(pk=fit_id).update(task_id=str(result.id)[:64])


@transaction.atomic
def value_refit_request(*, actor: User, end: date | None = None) -> ValueModelFit:
    """ "Refit now": queue a refit for the background worker. Refused while another fit is
    queued or running (unless it has been stuck for two hours)."""
    rules.require_refit(actor)
    if end is not None and end > timezone.localdate():
        raise ValidationFailed(_("The end date cannot be in the future."), field="end")
    busy = selectors.fit_busy()
    if busy is not None and busy.updated_at > timezone.now() - STALE_REQUEST:
        raise Conflict(
            _("A refit is queued or running already; wait for it to finish."), code="refit_busy"
        )
    fit = ValueModelFit.objects.create(
        status=FitStatus.QUEUED,
        trigger=FitTrigger.MANUAL,
        requested_by=actor,
        window_end=end,
    )
    audit_record(
        actor=actor,
        action="decisions.value_refit_request",
        obj=fit,
        changes={"end": end},
        summary=_("Refit requested"),
    )
    fit_id = fit.pk
    transaction.on_commit(lambda: _enqueue(fit_id))
    return fit


# --- settings --------------------------------------------------------------------------------


@transaction.atomic
def value_settings_save(*, actor: User | None, **values: Any) -> ValueSettings:
    """Change the tier thresholds and model settings (validated by the model's validators).
    The next refit uses them; the current scores stay until then."""
    rules.require_settings(actor)
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown setting."), field=sorted(unknown)[0])
    if "no_offer_tiers" in values:
        tiers = [str(t) for t in values["no_offer_tiers"] or []]
        if any(t not in ValueTier.values for t in tiers):
            raise ValidationFailed(_("Unknown value tier."), field="no_offer_tiers")
        values["no_offer_tiers"] = sorted(set(tiers))
    current = ValueSettings.objects.select_for_update().filter(pk=1).first()
    before = snapshot(current, SETTINGS_FIELDS) if current else {}
    target = current or ValueSettings(pk=1)
    for name, value in values.items():
        setattr(target, name, value)
    try:
        target.full_clean()
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise ValidationFailed(messages[0], field=name) from exc
    target.save()
    audit_record(
        actor=actor,
        action="decisions.value_settings_update",
        obj=target,
        changes=diff(before, snapshot(target, SETTINGS_FIELDS)),
    )
    return target


@transaction.atomic
def context_weights_save(*, actor: User | None, weights: Mapping[str, Any]) -> ContextWeights:
    """Set context weights of the next best action (by key: ``offer:<reason>``,
    ``care:<reason>``, ``channel:<channel>``; each from 0 to 5). Decisions use them at once:
    saving the settings row changes the catalogue's version. Unchanged weights save and
    audit nothing."""
    rules.require_settings(actor)
    cleaned = weights_rules.clean(weights)
    current = ValueSettings.objects.select_for_update().filter(pk=1).first()
    target = current or ValueSettings(pk=1)
    before = ContextWeights.of(target.context_weights).flat()
    stored = {group: dict(values) for group, values in (target.context_weights or {}).items()}
    for group, values in cleaned.items():
        stored.setdefault(group, {}).update(values)
    after = ContextWeights.of(stored)
    changes = diff(before, after.flat())
    if not changes:
        return after  # nothing to save or audit
    target.context_weights = stored
    target.save()
    audit_record(
        actor=actor, action="decisions.context_weights_update", obj=target, changes=changes
    )
    return after


@transaction.atomic
def service_costs_save(*, actor: User | None, costs: Mapping[str, Any]) -> list[ServiceCost]:
    """Set the unit cost in yuan of the items given (non-negative, two decimals)."""
    rules.require_settings(actor)
    parsed: dict[str, Decimal] = {}
    for item, raw in costs.items():
        if item not in CostItem.values:
            raise ValidationFailed(_("Unknown cost item."), field=item)
        try:
            value = Decimal(str(raw)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationFailed(_("Enter an amount in yuan."), field=item) from exc
        if not value.is_finite() or value < 0 or value >= Decimal("100000000"):
            raise ValidationFailed(_("Enter an amount from 0 to 99,999,999.99 yuan."), field=item)
        parsed[item] = value
    before = {c.item: str(c.cost) for c in ServiceCost.objects.select_for_update()}
    for item, value in parsed.items():
        ServiceCost.objects.update_or_create(item=item, defaults={"cost": value})
    after = {c.item: str(c.cost) for c in ServiceCost.objects.all()}
    audit_record(
        actor=actor,
        action="decisions.service_costs_update",
        object_type="decisions.servicecost",
        changes=diff(before, after),
    )
    return selectors.service_costs()
