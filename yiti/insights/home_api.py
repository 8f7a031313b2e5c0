"""The home page's counts over the API (``GET /api/v1/insights/home``): the same sections,
numbers and list links as ``/`` for the token's user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from yiti.insights.home import Home, Tile, home_for

router = Router(tags=["insights"])


class CountOut(Schema):
    key: str
    n: int
    url: str  # the web list that shows exactly these rows
    alert: bool


class SectionOut(Schema):
    key: str
    counts: list[CountOut]


class HomeOut(Schema):
    roles: list[str]
    sections: list[SectionOut]


def _counts(tiles: list[Tile], prefix: str = "") -> list[CountOut]:
    return [CountOut(key=prefix + t.key, n=t.n, url=t.url, alert=t.alert) for t in tiles]


def home_sections(home: Home) -> list[SectionOut]:
    out: list[SectionOut] = []
    if home.service:
        tiles: list[CountOut] = []
        for row in home.service.mine:
            tiles += _counts([row.total, *row.ordered], prefix=f"unit{row.unit_id}.")
        tiles += _counts([t for _name, t in home.service.new_in_queue])
        out.append(SectionOut(key="service", counts=tiles))
    if home.care:
        out.append(
            SectionOut(
                key="care",
                counts=_counts(home.care.team) + _counts(home.care.mine, prefix="mine."),
            )
        )
    if home.account:
        a = home.account
        out.append(
            SectionOut(
                key="account",
                counts=_counts([a.quiet, a.at_risk, a.calls, a.orders])
                + _counts(a.care, prefix="care."),
            )
        )
    if home.campaigns:
        out.append(SectionOut(key="campaigns", counts=_counts(home.campaigns.by_status)))
    if home.finance:
        out.append(
            SectionOut(key="finance", counts=_counts([home.finance.budgets, home.finance.claims]))
        )
    if home.manager:
        m = home.manager
        out.append(SectionOut(key="manager", counts=_counts([*m.care, m.running])))
    if home.analyst:
        out.append(SectionOut(key="analyst", counts=_counts(home.analyst.campaigns)))
    if home.field_tasks:
        out.append(SectionOut(key="field", counts=_counts([home.field_tasks])))
    return out


@router.get("/home", response=HomeOut, summary="What needs me now: the home page's counts")
def home(request: HttpRequest) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    page = home_for(user)
    return {"roles": sorted(page.roles), "sections": home_sections(page)}
