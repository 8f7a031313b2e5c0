"""Segments and offers in the pages: the rule editor's rows (added, removed, a field changed),
the live count (one COUNT, the right number, or the validation message), saving a segment and
an offer with its eligibility, gift stock shown as total, reserved and available."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiti.campaigns import services
from yiti.campaigns.models import Offer, Segment

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def rows(*conditions, match="all", **extra):
    """The editor's inputs for these conditions: (field, op, values, more inputs)."""
    data: dict[str, object] = {
        "rule-match": match,
        "rule-row": [str(i) for i in range(len(conditions))],
    }
    for i, (field, op, value, *more) in enumerate(conditions):
        data[f"rule-{i}-field"] = field
        data[f"rule-{i}-was"] = field
        data[f"rule-{i}-op"] = op
        key = {"number": "number", "flag": "flag"}.get(more[0] if more else "", "value")
        data[f"rule-{i}-{key}"] = value
        for name, v in (more[1] if len(more) > 1 else {}).items():
            data[f"rule-{i}-{name}"] = v
    data.update(extra)
    return data


def count_of(response) -> int | None:
    found = re.search(r'data-count="(\d+)"', html(response))
    return int(found.group(1)) if found else None


# --- the live count --------------------------------------------------------------------------


def test_the_count_endpoint_counts_the_rule_as_posted(world, as_user):
    client = as_user("cm")
    org = world.org

    everyone = client.post("/campaigns/rules/count/", rows(), **HTMX)
    assert count_of(everyone) == 8
    ningbo = client.post("/campaigns/rules/count/", rows(("unit", "in", [str(org.nb.pk)])), **HTMX)
    assert count_of(ningbo) == 2
    not_ningbo = client.post(
        "/campaigns/rules/count/", rows(("unit", "not_in", [str(org.nb.pk)])), **HTMX
    )
    assert count_of(not_ningbo) == 6
    either = client.post(
        "/campaigns/rules/count/",
        rows(("unit", "in", [str(org.nb.pk)]), ("consent", "any", ["email"]), match="any"),
        **HTMX,
    )
    assert count_of(either) == 7  # two in Ningbo, five consenting (none of them in Ningbo)
    both = client.post(
        "/campaigns/rules/count/",
        rows(("unit", "in", [str(org.nb.pk)]), ("consent", "any", ["email"])),
        **HTMX,
    )
    assert count_of(both) == 0
    assert "<strong>0</strong> customers" in html(both)


def test_a_bad_rule_gets_the_validation_message_instead_of_a_count(world, as_user):
    client = as_user("cm")

    no_value = client.post("/campaigns/rules/count/", rows(("consent", "any", [])), **HTMX)
    assert count_of(no_value) is None
    assert "Choose at least one value for “Marketing consent on”." in html(no_value)
    bad_days = client.post(
        "/campaigns/rules/count/",
        rows(("order_count", "gte", "2", "number", {"days": "0"})),
        **HTMX,
    )
    assert "needs a number of days between 1 and 3650" in html(bad_days)
    not_a_number = client.post(
        "/campaigns/rules/count/", rows(("clv", "gte", "lots", "number")), **HTMX
    )
    assert "needs a number" in html(not_a_number)


def test_the_count_is_one_query_whatever_the_rule(world, as_user):
    client = as_user("cm")
    client.post("/campaigns/rules/count/", rows(), **HTMX)  # warm the session
    rule = rows(
        ("unit", "in", [str(world.org.hz.pk)]),
        ("consent", "any", ["email", "sms"]),
        ("has_phone", "is", "1", "flag"),
        ("order_count", "lte", "3", "number", {"days": "365"}),
    )
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/campaigns/rules/count/", rule, **HTMX)
    assert count_of(response) == 5
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1


def test_the_count_is_for_campaign_viewers_only(world, as_user):
    assert as_user("eng_east").post("/campaigns/rules/count/", rows(), **HTMX).status_code == 403


# --- the editor's rows -----------------------------------------------------------------------


def test_the_editor_adds_and_removes_rows_and_resets_a_changed_field(world, as_user):
    client = as_user("cm")

    added = client.post(
        "/campaigns/rules/rows/",
        rows(("city", "in", "杭州、宁波"), **{"rule-action": "add"}),
        **HTMX,
    )
    page = html(added)
    assert added["HX-Trigger"] == "rules-changed"
    assert len(re.findall(r'<li class="rule-row[^"]*" data-row=', page)) == 2
    assert 'value="杭州、宁波"' in page  # the first row keeps what was typed

    removed = client.post(
        "/campaigns/rules/rows/",
        rows(("city", "in", "杭州"), ("kind", "in", ["person"]), **{"rule-action": "remove-0"}),
        **HTMX,
    )
    assert re.findall(r'data-field="(\w*)"', html(removed)) == ["kind"]

    changed = rows(("city", "in", "杭州"))
    changed["rule-0-field"] = "clv"  # was city: the row starts again as a number
    page = html(client.post("/campaigns/rules/rows/", changed, **HTMX))
    assert 'name="rule-0-number"' in page and 'name="rule-0-value"' not in page
    assert re.search(r'<option value="gte" selected>', page)


def test_the_editor_groups_fields_and_shows_inputs_by_kind(world, as_user):
    page = html(
        as_user("cm").post(
            "/campaigns/rules/rows/",
            rows(
                ("value_tier", "in", ["mvc"]),
                ("city", "in", "杭州"),
                ("spend", "gte", "500", "number", {"days": "90"}),
                ("has_email", "is", "0", "flag"),
            ),
            **HTMX,
        )
    )
    assert '<optgroup label="Value">' in page and '<optgroup label="Holdings and orders">' in page
    assert re.search(r'<select name="rule-0-value" multiple', page)
    assert '<option value="mvc" selected>' in page
    assert 'name="rule-1-value" value="杭州"' in page
    assert 'name="rule-2-number" value="500"' in page and 'name="rule-2-days" value="90"' in page
    assert re.search(r'name="rule-3-flag".*?<option value="0" selected>', page, re.S)


# --- segments --------------------------------------------------------------------------------


def test_a_segment_is_saved_from_the_rows_and_counted(world, as_user):
    org = world.org
    data = rows(
        ("unit", "in", [str(org.hz.pk)]),
        ("consent", "any", ["email"]),
        name="杭州邮件客户",
        description="杭州且同意邮件营销",
        unit=org.marketing.pk,
    )

    response = as_user("cm").post("/campaigns/segments/new/", data)

    assert response.status_code == 302
    segment = Segment.objects.get(name="杭州邮件客户")
    assert segment.rules == {
        "match": "all",
        "conditions": [
            {"field": "unit", "op": "in", "value": [str(org.hz.pk)]},
            {"field": "consent", "op": "any", "value": ["email"]},
        ],
    }
    assert segment.last_count == 5
    listing = html(as_user("analyst").get("/campaigns/segments/"))
    assert "杭州邮件客户" in listing and "Marketing consent on any of E-mail" in listing


def test_the_segment_form_shows_the_rule_error_on_its_row(world, as_user):
    data = rows(
        ("city", "in", "杭州"), ("consent", "any", []), name="坏规则", unit=world.org.marketing.pk
    )

    response = as_user("cm").post("/campaigns/segments/new/", data)

    assert response.status_code == 422
    page = html(response)
    row = page[page.index('data-row="1"') :]
    assert row.index("Choose at least one value") < row.index("</li>")
    assert '<li class="rule-row" data-row="0" data-field="city">' in page  # no error there
    assert '<li class="rule-row has-error" data-row="1" data-field="consent">' in page
    assert not Segment.objects.filter(name="坏规则").exists()


def test_the_segment_form_shows_a_name_error_next_to_the_name(world, as_user):
    data = rows(name=world.everyone.name, unit=world.org.marketing.pk)
    response = as_user("cm").post("/campaigns/segments/new/", data)
    assert response.status_code == 422
    assert "A segment with this name exists." in html(response)


def test_without_javascript_the_add_button_redraws_the_form_unsaved(world, as_user):
    data = rows(
        ("city", "in", "杭州"), name="", unit=world.org.marketing.pk, **{"rule-action": "add"}
    )

    response = as_user("cm").post("/campaigns/segments/new/", data)

    assert response.status_code == 200
    page = html(response)
    assert len(re.findall(r'<li class="rule-row', page)) == 2
    assert "This field is required." not in page  # the form is not judged yet
    assert not Segment.objects.exclude(pk=world.everyone.pk).exists()


def test_editing_a_segment_shows_its_rows_and_count(world, as_user):
    org = world.org
    segment = services.segment_create(
        actor=org.users["cm"],
        name="宁波",
        rules={"conditions": [{"field": "unit", "op": "in", "value": [str(org.nb.pk)]}]},
        unit=org.marketing,
    )
    page = html(as_user("cm").get(f"/campaigns/segments/{segment.pk}/edit/"))
    assert f'<option value="{org.nb.pk}" selected>' in page
    assert 'data-count="2"' in page  # counted without JavaScript too

    as_user("cm").post(
        f"/campaigns/segments/{segment.pk}/edit/",
        rows(("unit", "in", [str(org.hz.pk)]), name="杭州", unit=org.marketing.pk),
    )
    segment.refresh_from_db()
    assert segment.name == "杭州" and segment.last_count == 6


def test_an_empty_segment_list_explains_itself(org, as_user):
    assert "No segments yet." in html(as_user("cm").get("/campaigns/segments/"))


# --- offers ----------------------------------------------------------------------------------


def offer_post(world, **changes):
    data = {
        "code": "bb-tv",
        "name": "宽带送电视盒",
        "product": world.broadband.pk,
        "benefit": "gift",
        "benefit_value": "99",
        "gift_name": "电视盒",
        "stock_total": 50,
        "terms": "办理宽带包年送电视盒。",
        "faq": "问：何时送达？答：7日内。",
        "incompatible_with": [world.discount_offer.pk],
    }
    data.update(changes)
    return data


def test_an_offer_is_created_with_its_eligibility_and_incompatibilities(world, as_user):
    data = {**offer_post(world), **rows(("unit", "in", [str(world.org.hz.pk)]))}

    response = as_user("cm").post("/campaigns/offers/new/", data)

    assert response.status_code == 302
    offer = Offer.objects.get(code="bb-tv")
    assert offer.eligibility["conditions"] == [
        {"field": "unit", "op": "in", "value": [str(world.org.hz.pk)]}
    ]
    assert list(offer.incompatible_with.all()) == [world.discount_offer]
    assert offer.active and offer.stock_total == 50
    listing = html(as_user("analyst").get("/campaigns/offers/"))
    row = listing[listing.index(f'data-offer="{offer.pk}"') :]
    assert 'data-stock="total">50<' in row and 'data-stock="available">50<' in row
    assert "套餐八折" in row[: row.index("</tr>")]  # incompatible with


def test_an_offer_form_error_is_next_to_its_field(world, as_user):
    response = as_user("cm").post("/campaigns/offers/new/", offer_post(world, gift_name=""))
    assert response.status_code == 422
    page = html(response)
    row = re.search(r'<div class="form-row has-error[^"]*">\s*<label for="id_gift_name">', page)
    assert row is not None and "Name the gift." in page[row.start() : row.start() + 2000]


def test_the_offer_page_shows_the_stock_reserved_and_available(world, as_user):
    offer = world.gift_offer
    services.offer_reserve(actor=None, offer=offer, customer=world.customers[0])

    page = html(as_user("cm").get(f"/campaigns/offers/{offer.pk}/edit/"))

    assert 'data-stock="total">100<' in page
    assert 'data-stock="reserved">1<' in page
    assert 'data-stock="available">99<' in page
    lowered = as_user("cm").post(
        f"/campaigns/offers/{offer.pk}/edit/",
        {**offer_post(world, code=offer.code, name=offer.name, stock_total=0, active="on")},
    )
    assert lowered.status_code == 422
    assert "gifts are already reserved" in html(lowered)


def test_an_offer_is_deactivated(world, as_user):
    offer = world.discount_offer
    as_user("cm").post(
        f"/campaigns/offers/{offer.pk}/edit/",
        offer_post(
            world,
            code=offer.code,
            name=offer.name,
            product=world.plan.pk,
            benefit="discount",
            benefit_value="20",
            gift_name="",
            stock_total=0,
            incompatible_with=[],
        ),
    )
    offer.refresh_from_db()
    assert not offer.active
    assert 'badge">inactive<' in html(as_user("cm").get("/campaigns/offers/"))
