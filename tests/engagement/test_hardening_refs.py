"""An interaction's ticket, campaign and wave references must exist and be in the actor's
scope (issue 18 item 15): an account manager cannot hang a contact on another branch's
ticket, nor on an id that never was."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.conftest import api_as as api_as  # the fixture
from yiti.customers.services import customer_create
from yiti.engagement.models import Interaction
from yiti.service.services import ticket_create

BODY = {"channel": "call", "direction": "out", "purpose": "service"}


@pytest.fixture
def world(org):
    hz = customer_create(actor=None, name="杭州客户", unit=org.hz, owner=org.users["am_hz"])
    hz2 = customer_create(actor=None, name="杭州客户二", unit=org.hz, owner=org.users["am_hz"])
    bj = customer_create(actor=None, name="北京客户", unit=org.bj, owner=org.users["am_bj"])
    tickets = {
        name: ticket_create(actor=None, customer=c, kind="consultation", subject=f"t {name}")
        for name, c in (("hz", hz), ("hz2", hz2), ("bj", bj))
    }
    return {"hz": hz, "hz2": hz2, "bj": bj, "tickets": tickets}


def _post(api: Api, customer, **refs):
    return api.post(f"/customers/{customer.pk}/interactions", {**BODY, **refs})


def test_a_ticket_of_the_customer_in_scope_is_accepted(api_as, world):
    response = _post(api_as("am_hz"), world["hz"], ticket_id=world["tickets"]["hz"].pk)
    assert response.status_code == 201, response.content
    assert response.json()["ticket_id"] == world["tickets"]["hz"].pk


def test_another_branchs_ticket_is_refused_and_nothing_is_stored(api_as, world):
    before = Interaction.objects.count()
    response = _post(api_as("am_hz"), world["hz"], ticket_id=world["tickets"]["bj"].pk)
    assert response.status_code == 422
    assert response.json()["field"] == "ticket_id"
    assert Interaction.objects.count() == before


def test_a_ticket_that_does_not_exist_is_refused(api_as, world):
    response = _post(api_as("am_hz"), world["hz"], ticket_id=987_654_321)
    assert response.status_code == 422
    assert response.json()["field"] == "ticket_id"


def test_another_customers_ticket_is_refused(api_as, world):
    response = _post(api_as("am_hz"), world["hz"], ticket_id=world["tickets"]["hz2"].pk)
    assert response.status_code == 422
    assert response.json()["field"] == "ticket_id"


@pytest.mark.parametrize("field", ["campaign_id", "wave_id"])
def test_a_campaign_or_wave_that_does_not_exist_is_refused(api_as, world, field):
    response = _post(api_as("am_hz"), world["hz"], **{field: 987_654_321})
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_a_reference_past_64_bits_is_a_422_not_a_server_error(api_as, world):
    response = _post(api_as("am_hz"), world["hz"], ticket_id=2**63)
    assert response.status_code == 422
    assert response.json()["field"] == "ticket_id"
