"""``yiti campaigns list|show|plan|dispatch``: campaigns from the command line.

``plan CAMPAIGN --wave N --dry-run --json`` prints one JSON object (the plan's audience, the
counts per outcome and per exclusion reason) and writes nothing; without ``--dry-run`` it
writes the plan, as ``POST /api/v1/campaigns/waves/{id}/plan`` does. ``dispatch`` runs the
scheduled job once (start the waves that are due, recover stopped batches), for
installations without the worker's scheduler and for tests.

The command runs as the system (audited without a user) unless ``--user`` names the user to
act as, with that user's permissions. Exit status: 0 done, 1 the campaign, wave or user does
not exist, 2 the campaign's rules refused (e.g. a draft cannot be planned).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns import selectors, services
from yiti.campaigns.models import Campaign
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.tasks import dispatch_campaigns
from yiti.core.errors import NotFound, YitiError
from yiti.org.models import User

NOT_FOUND = 1
REFUSED = 2


def _when(at: Any) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}" if at else "-"


class Command(BaseCommand):
    help = (
        "Campaigns: list, show CAMPAIGN, plan CAMPAIGN --wave N [--dry-run] [--json], dispatch. "
        "Exit status 1 when the campaign, wave or user does not exist, 2 when the campaign's "
        "rules refuse."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help=_("Every campaign with its status and period."))
        show = actions.add_parser(
            "show", help=_("A campaign's status, readiness and waves with their funnel.")
        )
        show.add_argument("campaign", metavar="CAMPAIGN", help=_("The campaign's code or id."))
        plan = actions.add_parser(
            "plan",
            help=_("Plan a wave: who gets which contact, and why the others do not."),
        )
        plan.add_argument("campaign", metavar="CAMPAIGN", help=_("The campaign's code or id."))
        plan.add_argument(
            "--wave", type=int, required=True, metavar="N", help=_("The wave's number (1, 2, …).")
        )
        plan.add_argument(
            "--dry-run", action="store_true", help=_("Count everything, write no delivery.")
        )
        dispatch = actions.add_parser(
            "dispatch",
            help=_("Run the dispatch job once: start due waves, recover stopped batches."),
        )
        for sub in (listing, show, plan, dispatch):
            sub.add_argument(
                "--json", action="store_true", help=_("Print one JSON object instead of text.")
            )
        for sub in (listing, show, plan):
            sub.add_argument(
                "--user",
                metavar="USERNAME",
                help=_("Act as this user (their permissions; audited under their name)."),
            )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            actor = _actor(options.get("user"))
            getattr(self, f"_{options['action']}")(actor, options)
        except NotFound as exc:
            raise CommandError(exc.message, returncode=NOT_FOUND) from exc
        except YitiError as exc:
            raise CommandError(exc.message, returncode=REFUSED) from exc

    def _emit(self, options: dict[str, Any], data: Any, text: str) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False) if options["json"] else text)

    # --- actions -------------------------------------------------------------------------

    def _list(self, actor: User | None, options: dict[str, Any]) -> None:
        rows = [_campaign_row(c) for c in selectors.campaigns_list(actor)]
        lines = [
            f"{r['code']}\t{r['status']}\t{r['starts_on']} – {r['ends_on']}\t{r['name']}"
            for r in rows
        ]
        self._emit(options, rows, "\n".join(lines) or _("No campaign yet."))

    def _show(self, actor: User | None, options: dict[str, Any]) -> None:
        campaign = selectors.campaign_find(actor, options["campaign"])
        data = _campaign_show(campaign)
        self._emit(options, data, _show_text(data))

    def _plan(self, actor: User | None, options: dict[str, Any]) -> None:
        campaign = selectors.campaign_find(actor, options["campaign"])
        wave = selectors.wave_by_number(campaign, options["wave"])
        result = wave_plan(actor=actor, wave=wave, dry_run=options["dry_run"]).as_dict()
        self._emit(options, result, _plan_text(result))

    def _dispatch(self, actor: User | None, options: dict[str, Any]) -> None:
        result = dispatch_campaigns.call()
        text = _(
            "%(planned)d waves planned, %(started)d started, %(closed)d closed, "
            "%(recovered)d batches recovered, %(converted)d conversions, %(paused)d paused."
        ) % {k: result.get(k, 0) for k in _DISPATCH_KEYS}
        self._emit(options, result, text)


_DISPATCH_KEYS = ("planned", "started", "closed", "recovered", "converted", "paused")


def _actor(username: str | None) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(_("No active user %(u)s.") % {"u": username})
    return user


def _campaign_row(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.pk,
        "code": c.code,
        "name": c.name,
        "status": c.status,
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "priority": c.priority,
    }


def _campaign_show(campaign: Campaign) -> dict[str, Any]:
    readiness = services.campaign_readiness(campaign)
    funnels = selectors.campaign_funnel(campaign)
    names = selectors.arbitration_names(funnels)
    waves = []
    for f in funnels:
        w = f.wave
        waves.append(
            {
                "number": w.number,
                "name": w.name,
                "kind": w.kind,
                "status": w.status,
                "channels": list(w.channels or []),
                "scheduled_at": w.scheduled_at.isoformat(),
                "funnel": {key: count for key, _label, count in f.steps},
                "excluded": {r: n for r, n in f.reasons},
                "excluded_labels": {r: selectors.reason_label(r, names) for r, _n in f.reasons},
            }
        )
    return {
        **_campaign_row(campaign),
        "readiness": {"ok": readiness.ok, "missing": readiness.missing},
        "waves": waves,
        "complaints": {value: n for value, _label, n in selectors.campaign_complaints(campaign)},
    }


def _show_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['code']} · {data['name']}",
        _("Status: %(s)s; %(start)s – %(end)s; priority %(p)d")
        % {
            "s": data["status"],
            "start": data["starts_on"],
            "end": data["ends_on"],
            "p": data["priority"],
        },
    ]
    readiness = data["readiness"]
    if readiness["ok"]:
        lines.append(_("Ready to launch."))
    else:
        lines.append(_("Not ready:"))
        lines += [f"  - {m}" for m in readiness["missing"]]
    for w in data["waves"]:
        funnel = w["funnel"]
        lines.append(
            _("Wave %(n)d · %(name)s (%(kind)s, %(status)s)")
            % {"n": w["number"], "name": w["name"], "kind": w["kind"], "status": w["status"]}
        )
        lines.append("  " + "  ".join(f"{k} {v}" for k, v in funnel.items()))
        for reason, n in w["excluded"].items():
            lines.append(f"    {n:>8}  {w['excluded_labels'][reason]} ({reason})")
    complaints = ", ".join(f"{k} {v}" for k, v in data["complaints"].items())
    lines.append(_("Complaints: %(c)s") % {"c": complaints})
    return "\n".join(lines)


def _plan_text(r: dict[str, Any]) -> str:
    head = (
        _("Dry run of wave %(w)d of %(c)s: nothing written.")
        if r["dry_run"]
        else _("Wave %(w)d of %(c)s planned.")
    ) % {"w": r["wave"], "c": r["campaign"]}
    lines = [
        head,
        _("Audience %(a)d: %(p)d planned, %(e)d excluded.")
        % {"a": r["audience"], "p": r["outcomes"]["planned"], "e": r["outcomes"]["excluded"]},
    ]
    labels = selectors.reason_labels(r["excluded"])
    lines += [f"  {n:>8}  {labels[reason]} ({reason})" for reason, n in r["excluded"].items()]
    for title, counts in (
        (_("Channels"), r["channels"]),
        (_("Displaced contacts of"), r["displaced"]),
        (_("Calls per agent"), r["assigned"]),
    ):
        if counts:
            lines.append(f"{title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if r["capacity"] is not None:
        lines.append(_("Capacity: %(n)d calls.") % {"n": r["capacity"]})
    lines.append(_("%(s).2f s") % {"s": r["seconds"]})
    return "\n".join(lines)
