"""Routing rule pages: managers list, create and edit the rules; agents may not."""

from __future__ import annotations

from yiti.core.models import AuditEvent
from yiti.service.models import RoutingRule
from yiti.service.services import routing_rule_save


def _rule_data(org, **overrides):
    data = {
        "position": "10",
        "kind": "complaint",
        "complaint_class": "offer_design",
        "territory": str(org.hz.pk),
        "target_unit": str(org.east.pk),
        "active": "on",
    }
    data.update(overrides)
    return data


def test_region_manager_creates_a_rule_through_the_page(client, org):
    client.force_login(org.users["rm_east"])
    assert client.get("/service/routing/new/").status_code == 200

    response = client.post("/service/routing/new/", _rule_data(org))

    assert response.status_code == 302 and response["Location"] == "/service/routing/"
    rule = RoutingRule.objects.get()
    assert (rule.position, rule.kind, rule.complaint_class) == (10, "complaint", "offer_design")
    assert (rule.territory, rule.target_unit, rule.active) == (org.hz, org.east, True)
    event = AuditEvent.objects.get(action="routing_rule.create")
    assert event.actor == org.users["rm_east"] and event.object_id == str(rule.pk)


def test_the_list_shows_the_rules_in_the_order_they_are_tried(client, org):
    later = routing_rule_save(actor=None, target_unit=org.north, position=50)
    first = routing_rule_save(actor=None, target_unit=org.east, position=5, kind="repair")
    client.force_login(org.users["rm_east"])

    html = client.get("/service/routing/").content.decode()

    assert html.index(f"/service/routing/{first.pk}/edit/") < html.index(
        f"/service/routing/{later.pk}/edit/"
    )
    assert "/service/routing/" in client.get("/service/sla/").content.decode()


def test_editing_a_rule_can_switch_it_off_and_is_audited(client, org):
    rule = routing_rule_save(actor=None, target_unit=org.east, position=10, kind="repair")
    client.force_login(org.users["rm_east"])
    assert client.get(f"/service/routing/{rule.pk}/edit/").status_code == 200

    data = _rule_data(org, position="20", kind="repair", complaint_class="", territory="")
    del data["active"]
    response = client.post(f"/service/routing/{rule.pk}/edit/", data)

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.position, rule.territory, rule.active) == (20, None, False)
    event = AuditEvent.objects.get(action="routing_rule.update")
    assert event.actor == org.users["rm_east"] and event.changes["active"] is False


def test_a_service_error_is_shown_on_the_form_and_nothing_is_saved(client, org):
    client.force_login(org.users["rm_east"])

    # a complaint class only makes sense for complaints: the service refuses it
    response = client.post("/service/routing/new/", _rule_data(org, kind="repair"))

    assert response.status_code == 422
    assert "Only complaints have a class." in response.content.decode()
    assert not RoutingRule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="routing_rule.").exists()


def test_service_agents_may_not_see_or_change_routing(client, org):
    rule = routing_rule_save(actor=None, target_unit=org.east)
    client.force_login(org.users["svc_east"])

    assert client.get("/service/routing/").status_code == 403
    assert client.get("/service/routing/new/").status_code == 403
    response = client.post(f"/service/routing/{rule.pk}/edit/", _rule_data(org))

    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.kind == "" and rule.position == 100


def test_editing_an_sla_policy_through_its_page_audits_the_change(org):
    from django.test import Client

    from yiti.core.models import AuditEvent
    from yiti.service.services import sla_policy_save

    policy = sla_policy_save(
        actor=org.users["admin"],
        kind="repair",
        priority="normal",
        first_response_minutes=60,
        resolution_minutes=480,
    )
    client = Client()
    client.force_login(org.users["admin"])
    response = client.post(
        f"/service/sla/{policy.pk}/",
        {
            "kind": "repair",
            "priority": "normal",
            "first_response_minutes": 30,
            "resolution_minutes": 480,
            "warning_ratio": "0.80",
            "active": "on",
        },
    )
    assert response.status_code in (200, 302)
    event = AuditEvent.objects.filter(action="sla_policy.update", object_id=str(policy.pk)).get()
    assert event.changes["first_response_minutes"] == [60, 30]
