"""``yiti value``: the customer value model from the command line.

* ``yiti value fit --transactions FILE.csv --end DATE`` fits BG/NBD + Gamma-Gamma on an
  analyst's transaction file (``customer_id,date,amount``) and prints the parameters; it never
  touches the database.
* ``yiti value refit [--end DATE] [--horizon MONTHS]`` refits the model on the orders in the
  database and rescores every customer, as the weekly scheduled task does. A fit the data
  cannot support is recorded as failed, keeps the previous scores and exits with an error.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from yiti.core.errors import ValidationFailed
from yiti.decisions.api import FitOut
from yiti.decisions.choices import FitStatus, FitTrigger
from yiti.decisions.services import value_refit
from yiti.decisions.transactions import read_transactions_csv
from yiti.decisions.value_model import (
    DAYS_PER_UNIT,
    ModelFitError,
    TimeUnit,
    ValueFit,
    fit_value_model,
    rfm_from_transactions,
)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            _("--end %(value)r is not a date YYYY-MM-DD") % {"value": value}
        ) from exc


class Command(BaseCommand):
    help = (
        "Customer value model. 'yiti value fit --transactions FILE.csv --end DATE [--json]'; "
        "'yiti value refit [--end DATE] [--json]'."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        fit = actions.add_parser(
            "fit",
            help=_("Fit BG/NBD and Gamma-Gamma on a CSV file; writes nothing to the database."),
        )
        fit.add_argument(
            "--transactions",
            required=True,
            metavar="FILE.csv",
            help=_("CSV with a header and the columns customer_id,date,amount."),
        )
        fit.add_argument(
            "--end",
            required=True,
            metavar="DATE",
            help=_("End of the observation window (YYYY-MM-DD); later rows are ignored."),
        )
        fit.add_argument(
            "--time-unit",
            choices=sorted(DAYS_PER_UNIT),
            default="day",
            help=_("Unit of recency and T, and so of the BG/NBD alpha (default: day)."),
        )
        fit.add_argument(
            "--json", action="store_true", help=_("Print one JSON object instead of a summary.")
        )

        refit = actions.add_parser(
            "refit",
            help=_("Refit the model on the orders in the database and rescore every customer."),
        )
        refit.add_argument(
            "--end",
            metavar="DATE",
            help=_("Orders up to the end of this day (YYYY-MM-DD; default: now)."),
        )
        refit.add_argument(
            "--horizon",
            type=int,
            metavar="MONTHS",
            help=_("Lifetime value horizon in months (default: the value settings')."),
        )
        refit.add_argument(
            "--json", action="store_true", help=_("Print one JSON object instead of a summary.")
        )

    def handle(self, *args: object, **opts: Any) -> None:
        if opts["action"] == "refit":
            self._refit(opts)
            return
        end = _iso_date(str(opts["end"]))
        time_unit: TimeUnit = "week" if opts["time_unit"] == "week" else "day"
        try:
            data = read_transactions_csv(str(opts["transactions"]))
            rfm = rfm_from_transactions(
                data.customer_ids, data.dates, data.amounts, end=end, time_unit=time_unit
            )
            if not len(rfm):
                raise CommandError(
                    _("No transaction on or before %(end)s.") % {"end": end.isoformat()}
                )
            fitted = fit_value_model(rfm)
        except ValidationFailed as exc:
            raise CommandError(exc.message) from exc
        except ModelFitError as exc:
            raise CommandError(
                _("The model cannot be fitted: %(reason)s") % {"reason": exc}
            ) from exc
        result = _result(fitted, end=end, time_unit=time_unit)
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(_summary(result))

    def _refit(self, opts: dict[str, Any]) -> None:
        end = _iso_date(str(opts["end"])) if opts.get("end") else None
        horizon = opts.get("horizon")
        if horizon is not None and not 1 <= horizon <= 120:
            raise CommandError(_("--horizon must be from 1 to 120 months."))
        fit = value_refit(end=end, horizon_months=horizon, trigger=FitTrigger.COMMAND)
        if fit.status != FitStatus.SUCCEEDED:
            raise CommandError(
                _("Refit #%(id)s failed, the previous scores stay: %(reason)s")
                % {"id": fit.pk, "reason": fit.error}
            )
        result = FitOut.of(fit).model_dump(mode="json")
        if opts["json"]:
            self.stdout.write(json.dumps(result))
            return
        bg, gg = result["bgnbd"], result["gamma_gamma"]
        lines = [
            _("Refit #%(id)s: %(customers)s customers, %(orders)s orders, %(start)s to %(end)s.")
            % {
                "id": fit.pk,
                "customers": f"{fit.customers:,}",
                "orders": f"{fit.transactions:,}",
                "start": result["window_start"] or "…",
                "end": result["window_end"],
            },
            _("BG/NBD:      r = %(r).4f  alpha = %(alpha).4f  a = %(a).4f  b = %(b).4f") % bg,
            _("Gamma-Gamma: p = %(p).4f  q = %(q).4f  v = %(v).4f") % gg,
            _("Tiers: %(tiers)s; %(changes)s changes; %(calls)s retention calls; %(s).1f s.")
            % {
                "tiers": ", ".join(f"{k} {v:,}" for k, v in result["tier_counts"].items()),
                "changes": f"{fit.tier_changes:,}",
                "calls": fit.care_tasks,
                "s": fit.seconds,
            },
        ]
        self.stdout.write("\n".join(lines))


def _result(fitted: ValueFit, *, end: date, time_unit: str) -> dict[str, Any]:
    return {
        "bgnbd": fitted.bgnbd.as_dict(),
        "gamma_gamma": fitted.gamma_gamma.as_dict(),
        "customers": len(fitted.rfm),
        "transactions": fitted.rfm.transactions,
        "repeat_buyers": fitted.repeat_buyers,
        "gamma_gamma_customers": fitted.gamma_gamma.n,
        "gamma_gamma_zero_spend_left_out": fitted.zero_spend_left_out,
        "end": end.isoformat(),
        "time_unit": time_unit,
    }


def _summary(result: dict[str, Any]) -> str:
    bg, gg = result["bgnbd"], result["gamma_gamma"]
    lines = [
        _("Value model fitted on %(customers)s customers, %(transactions)s transactions")
        % {
            "customers": f"{result['customers']:,}",
            "transactions": f"{result['transactions']:,}",
        },
        _("up to %(end)s (time unit: %(unit)s).")
        % {"end": result["end"], "unit": _unit_label(result["time_unit"])},
        _("BG/NBD:      r = %(r).4f  alpha = %(alpha).4f  a = %(a).4f  b = %(b).4f") % bg,
        _("             log-likelihood = %(ll).2f") % {"ll": bg["log_likelihood"]},
        _("Gamma-Gamma: p = %(p).4f  q = %(q).4f  v = %(v).4f") % gg,
        _("             fitted on %(n)s of %(repeat)s repeat buyers")
        % {
            "n": f"{result['gamma_gamma_customers']:,}",
            "repeat": f"{result['repeat_buyers']:,}",
        },
    ]
    left_out = result["gamma_gamma_zero_spend_left_out"]
    if left_out:
        lines.append(
            ngettext(
                "%(n)s repeat buyer with zero spend was left out of Gamma-Gamma.",
                "%(n)s repeat buyers with zero spend were left out of Gamma-Gamma.",
                left_out,
            )
            % {"n": f"{left_out:,}"}
        )
    return "\n".join(lines)


def _unit_label(unit: str) -> str:
    """The model's time unit in words (the fit stores "day" or "week")."""
    return pgettext("time unit", "week") if unit == "week" else pgettext("time unit", "day")
