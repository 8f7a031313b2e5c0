"""Journey: the region manager opens the quality ranking of his units — the branches of his
region ranked on the weighted indicators, who moved since last month and why, each unit's
indicators and contributions — then the regions, then the week's hot issues; on a phone too.

Selectors are names, ids and values, never visible text: the interface is Chinese by default.
"""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.quality.conftest import NOVEMBER, NOW, build_month, sh
from tests.quality.test_hot_issues import build_corpus
from yiti.quality.services import indicator_defaults_restore, ranking_compute
from yiti.service.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ranked(org, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    # a transactional test before this one flushed the catalogue the data migration seeds
    indicator_defaults_restore(actor=None)
    month = build_month(org)
    Ticket.objects.filter(pk=month.tickets["T5"].pk).update(
        sla_state="met", resolution_due_at=sh(2026, 10, 28)
    )
    ranking_compute(month=NOVEMBER.replace(month=10))
    ranking_compute(month=NOVEMBER)
    build_corpus(org)
    return month


def _sign_in(page, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_region_manager_sees_his_units_quality_ranking(page, org, ranked):
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{page.url} {m.text} {m.args}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    # when the East region manager follows the quality link of the navigation
    _sign_in(page, "rm_east")
    page.click("#nav-quality")
    page.wait_for_url("**/quality/ranking/")

    # then he sees the branches of his region, ranked among all branches, and not Beijing
    cards = page.locator("#ranking li.q-rank")
    assert cards.count() == 2
    units = [cards.nth(i).get_attribute("data-unit") for i in range(2)]
    assert units == ["宁波分公司", "杭州分公司"]
    ranks = [cards.nth(i).locator(".q-rank-no").inner_text().strip() for i in range(2)]
    assert ranks == ["2", "3"]
    assert "北京分公司" not in page.locator("#content").inner_text()
    # each score is a bar of the indicators' contributions, with the numbers behind it
    hz = page.locator("li.q-rank[data-unit='杭州分公司']")
    assert hz.locator("svg.q-bar rect").count() >= 5
    hz.locator("details summary").click()
    assert hz.locator("details tbody tr").count() == 9
    assert "75%" in hz.locator("details").inner_text()  # SLA attainment, 3 of 4
    # and who moved since October: Hangzhou fell from first to third
    assert "↓2" in page.locator("#movers").inner_text()
    assert "杭州分公司" in page.locator("#movers").inner_text()

    # when he looks at the regions instead (htmx swaps the list)
    page.select_option("#r-kind", "region")
    page.wait_for_function(
        "document.querySelectorAll('#ranking li.q-rank').length === 1"
        " && document.querySelector('#ranking li.q-rank').dataset.unit === '华东片区'"
    )
    assert page.locator("#ranking .q-rank-no").inner_text().strip() == "2"

    # on a phone the page fits without sideways scrolling
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/quality/ranking/?month=2026-11")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the week's hot issues: the router gift is rising, with the complaints behind it
    page.click("#q-tab-hot")
    page.wait_for_url("**/quality/hot/")
    router = page.locator("#rising li[data-term='路由器']")
    assert router.count() == 1
    assert router.locator(".q-examples a").count() == 3
    assert page.locator("#rising li[data-term='宽带']").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    router.locator(".q-examples a").first.click()
    page.wait_for_url("**/service/tickets/*/")
    page.goto("/quality/indicators/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
