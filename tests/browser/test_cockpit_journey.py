"""Journey (issue 15): the analyst opens the management cockpit, changes the period and the
unit, and drills from a bar of the complaints chart to the tickets behind it; the page has no
console errors and no sideways scroll at 390 px.

Selectors are names, ids and values, never visible text (the interface is Chinese).
"""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.insights.test_rollups import build_cockpit_book
from yiti.insights.rollups import rollups_rebuild

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


BAR_CENTRE = """([key, series, index]) => {
  const el = document.querySelector(`#chart-${key} [data-cockpit-chart]`);
  el.scrollIntoView({block: "center"});
  const chart = window.echarts.getInstanceByDom(el);
  const layout = chart.getModel().getSeriesByIndex(series).getData().getItemLayout(index);
  const box = el.getBoundingClientRect();
  return {x: box.left + layout.x + layout.width / 2, y: box.top + layout.y + layout.height / 2};
}"""


def test_the_analyst_changes_unit_and_period_and_drills_to_the_tickets(page, org):
    # given a March 2026 book and its rollups
    build_cockpit_book(org)
    rollups_rebuild()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # when the analyst opens the cockpit from the navigation
    sign_in(page, "analyst")
    page.click("#nav-cockpit")
    page.wait_for_url("**/insights/")
    page.wait_for_selector("#cockpit-filters")

    # and chooses the first two weeks of March
    page.fill("#cockpit-start", "2026-03-02")
    page.wait_for_selector("#cockpit-caption:has-text('2026-03-02')")
    page.fill("#cockpit-end", "2026-03-15")
    page.wait_for_selector("#cockpit-caption:has-text('2026-03-15')")
    page.wait_for_selector("#chart-complaints [data-drawn='1']")

    # and region East
    page.select_option("#cockpit-unit", str(org.east.pk))
    page.wait_for_selector(
        f"#cockpit-unit option[value='{org.east.pk}'][selected]", state="attached"
    )
    page.wait_for_selector("#chart-complaints [data-drawn='1']")
    assert f"unit={org.east.pk}" in page.url and "start=2026-03-02" in page.url
    assert page.locator("[data-cockpit-chart][data-drawn='1']").count() == 7

    # then a click on the staff-conduct bar of 3 March opens exactly that complaint
    point = page.evaluate(BAR_CENTRE, ["complaints", 1, 1])
    with page.expect_navigation(url="**/insights/records/tickets/**"):
        page.mouse.click(point["x"], point["y"])
    assert "complaint_class=staff_conduct" in page.url and "start=2026-03-03" in page.url
    rows = page.locator("#records-table tbody tr")
    assert rows.count() == 1
    assert "complaint t2" in rows.first.inner_text()
    assert errors == []


def test_the_cockpit_fits_a_phone(browser, live_server, org):
    build_cockpit_book(org)
    rollups_rebuild()
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, "analyst")
        page.goto(f"/insights/?unit={org.east.pk}&start=2026-03-02&end=2026-03-15")
        page.wait_for_selector("#chart-sla [data-drawn='1']")
        page.click("#chart-sla summary")
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1]
        assert errors == []
    finally:
        context.close()
