"""The /api/v1 contract: auth, the error shape, writes, reveal, idempotency, pagination, docs."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import Http404
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.conftest import PHONES, Api
from yiti.api import idempotency
from yiti.api.models import IdempotencyKey
from yiti.api.urls import api as ninja_api
from yiti.core.models import AuditEvent
from yiti.customers.models import ConsentEvent, ContactPoint, Customer
from yiti.customers.services import customer_create
from yiti.engagement.models import Interaction
from yiti.org.services import token_create, token_revoke

ERROR_KEYS = {"code", "message", "field"}


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == code and body["message"]
    if field is not None:
        assert body["field"] == field
    return body


def new_customer(**overrides):
    body = {
        "name": "杭州新客户",
        "unit": "hz",
        "city": "杭州",
        "contacts": [
            {"kind": "phone", "value": "13912345678"},
            {"kind": "email", "value": "new@example.com"},
        ],
    }
    return {**body, **overrides}


# --- auth -----------------------------------------------------------------------------------


def test_requests_without_credentials_get_401_json(anonymous, org):
    body = assert_error(anonymous.get("/customers"), 401, "unauthenticated", field=None)
    assert body["field"] is None
    assert anonymous.get("/customers")["WWW-Authenticate"].startswith("Bearer")
    assert_error(anonymous.post("/customers", new_customer()), 401, "unauthenticated")
    assert_error(Api(token="yiti_not-a-token").get("/me"), 401, "unauthenticated")


def test_a_revoked_token_stops_working(org):
    user = org.users["am_hz"]
    token, raw = token_create(user=user, name="laptop")
    api = Api(token=raw)
    assert api.get("/me").status_code == 200
    token_revoke(user=user, token_id=token.pk)
    assert_error(api.get("/me"), 401, "unauthenticated")


def test_an_inactive_users_token_stops_working(org):
    user = org.users["am_hz"]
    _token, raw = token_create(user=user, name="laptop")
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_error(Api(token=raw).get("/me"), 401, "unauthenticated")


def test_browser_session_works_and_writes_need_the_csrf_token(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.users["am_hz"])
    assert client.get("/api/v1/me").json()["username"] == "am_hz"
    # without the CSRF token a write is refused
    response = client.post("/api/v1/customers", new_customer(), content_type="application/json")
    assert_error(response, 403, "csrf_failed")
    assert not Customer.objects.exists()
    # with the token (from the cookie the docs page sets) it goes through
    client.get("/api/v1/docs")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/customers",
        new_customer(),
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201, response.content


def test_me_shows_roles_and_units(api_as, org):
    me = api_as("rm_east").get("/me").json()
    assert me["username"] == "rm_east" and me["roles"] == ["region_manager"]
    assert set(me["unit_ids"]) == {org.east.pk, org.hz.pk, org.nb.pk}
    assert me["home_unit_ids"] == [org.east.pk]
    assert "pii.reveal" in me["perms"]


# --- the error shape ------------------------------------------------------------------------


def test_bad_phone_is_422_with_code_and_field(api_as, org):
    response = api_as("am_hz").post(
        "/customers", new_customer(contacts=[{"kind": "phone", "value": "12345"}])
    )
    assert_error(response, 422, "invalid_phone", field="phone")
    assert not Customer.objects.exists()


def test_duplicate_external_id_is_422(api_as, org):
    api = api_as("am_hz")
    assert api.post("/customers", new_customer(external_id="CRM-1")).status_code == 201
    response = api.post("/customers", new_customer(external_id="CRM-1", contacts=[]))
    assert_error(response, 422, "duplicate_external_id", field="external_id")
    assert Customer.objects.count() == 1


def test_unknown_customer_is_404_json(api_as, org):
    assert_error(api_as("admin").get("/customers/999999"), 404, "not_found")
    assert_error(api_as("admin").get("/customers/999999/consent"), 404, "not_found")


def test_schema_validation_errors_name_the_field(api_as, org):
    api = api_as("am_hz")
    assert_error(api.post("/customers", {"unit": "hz"}), 422, "validation_error", field="name")
    response = api.post("/customers", new_customer(contacts=[{"kind": "fax", "value": "1"}]))
    assert_error(response, 422, "validation_error", field="contacts.0.kind")
    assert_error(
        api.get("/customers", {"page_size": 500}), 422, "validation_error", field="page_size"
    )
    assert_error(api.get("/customers/abc"), 422, "validation_error", field="customer_id")
    assert_error(
        api.post("/customers", new_customer(unit="nowhere")), 422, "unknown_unit", field="unit"
    )


def test_malformed_json_is_400_bad_request(api_as, org):
    response = api_as("am_hz").post("/customers", raw='{"name": "x",')
    assert_error(response, 400, "bad_request")


def test_wrong_method_and_unknown_path_are_json(api_as, org):
    api = api_as("am_hz")
    response = api.client.put(
        "/api/v1/customers",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert_error(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert_error(api.get("/no-such-thing"), 404, "not_found")


def test_permission_denied_is_403(api_as, placed):
    # am_hz2 sees am_hz's customer (same branch) but may not change it
    response = api_as("am_hz2").patch(f"/customers/{placed['hz_a'].pk}", {"city": "宁波"})
    assert_error(response, 403, "permission_denied")
    # marketing has no customer.create permission
    assert_error(api_as("cm").post("/customers", new_customer()), 403, "permission_denied")
    # an account manager cannot place a customer outside his unit
    assert_error(
        api_as("am_hz").post("/customers", new_customer(unit="bj")), 403, "unit_out_of_scope"
    )


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [(Http404("gone"), 404, "not_found"), (DjangoPermissionDenied("no"), 403, "permission_denied")],
)
def test_django_exceptions_map_to_the_error_shape(exc, status, code):
    response = ninja_api.on_exception(RequestFactory().get("/api/v1/x"), exc)
    assert response.status_code == status
    body = json.loads(response.content)
    assert set(body) == ERROR_KEYS and body["code"] == code


# --- customers ------------------------------------------------------------------------------


def test_create_customer_masks_the_answer_and_records_everything(api_as, org):
    response = api_as("am_hz").post(
        "/customers",
        new_customer(
            owner=org.users["am_hz"].pk,
            external_id="CRM-9",
            contacts=[{"kind": "phone", "value": "+86 139 1234 5678", "label": "mobile"}],
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["unit"]["code"] == "hz" and body["owner"]["username"] == "am_hz"
    assert body["primary_phone"] == "139****5678" and body["revealed"] is False
    assert [(p["kind"], p["value"], p["label"]) for p in body["contact_points"]] == [
        ("phone", "139****5678", "mobile")
    ]
    customer = Customer.objects.get(pk=body["id"])
    assert customer.external_id == "CRM-9" and customer.primary_phone == "13912345678"
    assert AuditEvent.objects.filter(action="customer.create", customer_id=customer.pk).exists()


def test_patch_changes_only_the_fields_sent(api_as, placed):
    customer = placed["hz_a"]
    response = api_as("am_hz").patch(f"/customers/{customer.pk}", {"city": "温州", "note": None})
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.city, customer.note, customer.name) == ("温州", "", "客户 hz_a")
    assert response.json()["city"] == "温州"


def test_list_filters_and_search(api_as, placed):
    api = api_as("admin")
    by_unit = api.get("/customers", {"unit": placed["nb"].unit_id}).json()["items"]
    assert [c["id"] for c in by_unit] == [placed["nb"].pk]
    unassigned = {c["id"] for c in api.get("/customers", {"unassigned": "true"}).json()["items"]}
    assert unassigned == {placed["hz_b"].pk, placed["east"].pk}
    by_phone = api.get("/customers", {"q": PHONES["bj"][:7]}).json()["items"]
    assert [c["id"] for c in by_phone] == [placed["bj"].pk]
    assert_error(api.get("/customers", {"status": "gone"}), 422, "validation_error", field="status")


def test_pagination_answers_has_next_without_counting(api_as, org):
    for i in range(5):
        customer_create(actor=None, name=f"客户{i}", unit=org.hz)
    api = api_as("am_hz")
    first = api.get("/customers", {"page_size": 2}).json()
    assert (len(first["items"]), first["page"], first["page_size"], first["has_next"]) == (
        2,
        1,
        2,
        True,
    )
    last = api.get("/customers", {"page_size": 2, "page": 3}).json()
    assert (len(last["items"]), last["has_next"]) == (1, False)
    seen = [
        c["id"]
        for p in (1, 2, 3)
        for c in api.get("/customers", {"page_size": 2, "page": p}).json()["items"]
    ]
    assert len(seen) == len(set(seen)) == 5


# --- revealing personal data ----------------------------------------------------------------


def test_reveal_shows_full_contacts_and_is_audited(api_as, placed, org):
    customer = placed["hz_a"]
    api = api_as("am_hz")
    detail = api.get(f"/customers/{customer.pk}", {"reveal": "true"}).json()
    assert detail["revealed"] is True and detail["primary_phone"] == PHONES["hz_a"]
    assert {p["value"] for p in detail["contact_points"]} == {
        PHONES["hz_a"],
        "hz_a@example.com",
        "wx_hz_a_id",
    }
    points = api.get(f"/customers/{customer.pk}/contact-points", {"reveal": "true"}).json()
    assert {p["value"] for p in points} >= {PHONES["hz_a"]} and not any(p["masked"] for p in points)
    reveals = AuditEvent.objects.filter(action="pii.reveal", customer_id=customer.pk)
    assert reveals.count() == 2 and {e.actor_id for e in reveals} == {org.users["am_hz"].pk}


def test_reveal_without_permission_is_403_and_not_audited(api_as, org):
    # an analyst in marketing sees a customer placed on the marketing unit, but may not reveal
    customer = customer_create(actor=None, name="市场部客户", unit=org.marketing, contacts=[])
    api = api_as("analyst")
    assert api.get(f"/customers/{customer.pk}").status_code == 200
    assert_error(api.get(f"/customers/{customer.pk}", {"reveal": "true"}), 403, "permission_denied")
    assert_error(
        api.get(f"/customers/{customer.pk}/contact-points", {"reveal": "true"}),
        403,
        "permission_denied",
    )
    assert not AuditEvent.objects.filter(action="pii.reveal").exists()


def test_reveal_of_a_customer_out_of_scope_is_404(api_as, placed):
    assert_error(
        api_as("am_nb").get(f"/customers/{placed['hz_a'].pk}", {"reveal": "true"}), 404, "not_found"
    )
    assert not AuditEvent.objects.filter(action="pii.reveal").exists()


# --- contact points, consent, interactions --------------------------------------------------


def test_contact_points_add_set_primary_remove(api_as, placed):
    customer = placed["hz_a"]
    api = api_as("am_hz")
    response = api.post(
        f"/customers/{customer.pk}/contact-points", {"kind": "phone", "value": "13655556666"}
    )
    assert response.status_code == 201, response.content
    added = response.json()
    assert added["value"] == "136****6666" and added["primary"] is False
    response = api.post(f"/customers/{customer.pk}/contact-points/{added['id']}/primary")
    assert response.status_code == 200 and response.json()["primary"] is True
    customer.refresh_from_db()
    assert customer.primary_phone == "13655556666"
    dup = api.post(
        f"/customers/{customer.pk}/contact-points", {"kind": "phone", "value": "136 5555 6666"}
    )
    assert_error(dup, 422, "duplicate_contact")
    assert api.delete(f"/customers/{customer.pk}/contact-points/{added['id']}").status_code == 204
    customer.refresh_from_db()
    assert customer.primary_phone == PHONES["hz_a"]
    assert_error(
        api.delete(f"/customers/{customer.pk}/contact-points/{added['id']}"), 404, "not_found"
    )
    # a contact point of another customer is not reachable through this one
    other = ContactPoint.objects.filter(customer=placed["hz_b"]).first()
    assert_error(
        api.delete(f"/customers/{customer.pk}/contact-points/{other.pk}"), 404, "not_found"
    )


def test_consent_is_recorded_and_shown(api_as, placed):
    customer = placed["nb"]
    api = api_as("am_nb")
    response = api.post(
        f"/customers/{customer.pk}/consent",
        {"channel": "sms", "purpose": "marketing", "granted": False, "note": "TD"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "api" and response.json()["actor"]["username"] == "am_nb"
    consent = api.get(f"/customers/{customer.pk}/consent").json()
    state = next(
        s for s in consent["matrix"] if (s["channel"], s["purpose"]) == ("sms", "marketing")
    )
    assert state["granted"] is False
    assert [e["granted"] for e in consent["events"]] == [False, True]
    assert_error(
        api_as("analyst").post(
            f"/customers/{customer.pk}/consent",
            {"channel": "sms", "purpose": "marketing", "granted": True},
        ),
        404,
        "not_found",
    )


def test_interactions_are_recorded_and_filtered(api_as, placed):
    customer = placed["hz_b"]
    api = api_as("svc_east")
    response = api.post(
        f"/customers/{customer.pk}/interactions",
        {"channel": "sms", "direction": "out", "purpose": "service", "subject": "已处理"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["actor"]["username"] == "svc_east"
    items = api.get(f"/customers/{customer.pk}/interactions").json()["items"]
    assert [i["channel"] for i in items] == ["sms", "call"]
    only_calls = api.get(f"/customers/{customer.pk}/interactions", {"channel": "call"}).json()[
        "items"
    ]
    assert [i["channel"] for i in only_calls] == ["call"]
    assert_error(
        api.get(f"/customers/{customer.pk}/interactions", {"channel": "pigeon"}),
        422,
        "validation_error",
        field="channel",
    )
    future = api.post(
        f"/customers/{customer.pk}/interactions",
        {
            "channel": "call",
            "direction": "out",
            "purpose": "care",
            "occurred_at": "2999-01-01T00:00:00",
        },
    )
    assert_error(future, 422, "validation_error", field="occurred_at")
    # finance has no interaction.create permission (and sees no customers)
    assert_error(
        api_as("fin").post(
            f"/customers/{customer.pk}/interactions",
            {"channel": "sms", "direction": "out", "purpose": "service"},
        ),
        404,
        "not_found",
    )


# --- idempotency ----------------------------------------------------------------------------


def test_idempotent_post_retried_returns_the_same_customer_once(api_as, org):
    api = api_as("am_hz")
    key = {"Idempotency-Key": "create-hz-1"}
    first = api.post("/customers", new_customer(), headers=key)
    retry = api.post("/customers", new_customer(), headers=key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    assert AuditEvent.objects.filter(action="customer.create").count() == 1


def test_idempotency_key_reused_for_a_different_body_is_409(api_as, org):
    api = api_as("am_hz")
    key = {"Idempotency-Key": "k-1"}
    assert api.post("/customers", new_customer(), headers=key).status_code == 201
    response = api.post("/customers", new_customer(name="另一个"), headers=key)
    assert_error(response, 409, "idempotency_key_reused", field="Idempotency-Key")
    assert Customer.objects.count() == 1


def test_idempotency_keys_belong_to_one_user_and_failures_are_not_stored(api_as, placed):
    customer = placed["hz_a"]
    body = {"channel": "call", "direction": "out", "purpose": "care"}
    path = f"/customers/{customer.pk}/interactions"
    key = {"Idempotency-Key": "same"}
    assert api_as("am_hz").post(path, body, headers=key).status_code == 201
    assert api_as("rm_east").post(path, body, headers=key).status_code == 201  # another user
    assert Interaction.objects.filter(customer=customer).count() == 3  # fixture's call + 2
    # a refused write stores nothing, so fixing the request and retrying works
    bad = api_as("am_hz").post(
        "/customers",
        new_customer(contacts=[{"kind": "phone", "value": "1"}]),
        headers={"Idempotency-Key": "retry-me"},
    )
    assert bad.status_code == 422
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()
    good = api_as("am_hz").post(
        "/customers", new_customer(), headers={"Idempotency-Key": "retry-me"}
    )
    assert good.status_code == 201


def test_posts_without_a_key_are_not_deduplicated(api_as, placed):
    customer = placed["nb"]
    api = api_as("am_nb")
    for _ in range(2):
        api.post(
            f"/customers/{customer.pk}/consent",
            {"channel": "email", "purpose": "care", "granted": True},
        )
    assert ConsentEvent.objects.filter(customer=customer, channel="email").count() == 2
    assert not IdempotencyKey.objects.exists()


# --- OpenAPI and docs -----------------------------------------------------------------------


def test_openapi_lists_the_paths_and_security(anonymous):
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/contact-points",
        "/api/v1/customers/{customer_id}/contact-points/{point_id}",
        "/api/v1/customers/{customer_id}/contact-points/{point_id}/primary",
        "/api/v1/customers/{customer_id}/consent",
        "/api/v1/customers/{customer_id}/interactions",
        "/api/v1/me",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/customers"]) == {"get", "post"}
    assert {"BearerToken", "SessionCookie"} <= set(schema["components"]["securitySchemes"])
    post_params = [
        p["name"] for p in schema["paths"]["/api/v1/customers"]["post"].get("parameters", [])
    ]
    assert "Idempotency-Key" in post_params
    assert "Error" in schema["components"]["schemas"]


def test_docs_page_uses_only_local_assets(anonymous):
    response = anonymous.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in sources
    assert '"validatorUrl": null' in html
    # every asset is served by Yiti itself (whitenoise), so the page works offline
    for source in sources:
        assert finders.find(source.removeprefix("/static/")), (
            f"{source} is not among the static files"
        )
        asset = anonymous.client.get(source)
        assert asset.status_code == 200, source
        assert b"".join(asset.streaming_content if asset.streaming else [asset.content])


def test_a_concurrent_duplicate_is_rolled_back_and_answered_like_the_first(
    api_as, org, monkeypatch
):
    # given a first request with the key committed while ours was already past the lookup
    api = api_as("am_hz")
    first = api.post("/customers", new_customer(), headers={"Idempotency-Key": "race"})
    real_stored = idempotency._stored
    calls = []

    def stored_after_our_lookup(user_id, key):
        calls.append(key)
        return None if len(calls) == 1 else real_stored(user_id, key)

    monkeypatch.setattr(idempotency, "_stored", stored_after_our_lookup)
    # when our write runs and its answer cannot be stored (the key is taken)
    retry = api.post("/customers", new_customer(), headers={"Idempotency-Key": "race"})
    # then our customer is rolled back and we get the first answer
    assert retry.status_code == 201 and retry.json()["id"] == first.json()["id"]
    assert Customer.objects.count() == 1


def test_idempotency_keys_expire_after_a_day(api_as, org):
    api = api_as("am_hz")
    key = {"Idempotency-Key": "old"}
    first = api.post("/customers", new_customer(), headers=key).json()
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = api.post("/customers", new_customer(), headers=key)
    assert again.status_code == 201 and again.json()["id"] != first["id"]
    assert IdempotencyKey.objects.get().created_at > timezone.now() - timedelta(minutes=1)


def test_unknown_body_fields_are_refused_not_ignored(api_as, placed, org):
    customer = placed["hz_a"]
    response = api_as("rm_east").patch(
        f"/customers/{customer.pk}", {"owner": org.users["am_hz2"].pk}
    )
    assert_error(response, 422, "validation_error", field="owner")


def test_list_query_count_does_not_grow_with_customers(api_as, org):
    api = api_as("rm_east")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/customers", {"page_size": 200}).status_code == 200
        return len(ctx.captured_queries)

    count()  # the first request also stamps the token's last use
    for i in range(3):
        customer_create(actor=None, name=f"少{i}", unit=org.hz, owner=org.users["am_hz"])
    few = count()
    for i in range(30):
        customer_create(actor=None, name=f"多{i}", unit=org.nb, owner=org.users["am_nb"])
    assert count() == few


@pytest.mark.parametrize("unit", ["¹", "٣", "99999999999999999999999", 2**64])
def test_a_unit_reference_that_is_no_id_is_422_not_a_server_error(api_as, org, unit):
    response = api_as("admin").post("/customers", new_customer(unit=unit))
    # a JSON number past the 64-bit ids breaks the schema's bound; text is looked up
    code = "validation_error" if isinstance(unit, int) else "unknown_unit"
    assert_error(response, 422, code, field="unit")
    assert not Customer.objects.exists()


def test_a_nul_character_is_refused_with_422_and_nothing_is_stored(api_as, org):
    api = api_as("am_hz")
    response = api.post("/customers", new_customer(name="张\u0000三"))
    assert_error(response, 422, "nul_character")
    assert_error(api.get("/customers", {"q": "a\u0000"}), 422, "nul_character")
    assert not Customer.objects.exists()


def test_a_path_with_control_characters_is_a_json_404(api_as, org):
    assert_error(api_as("admin").get("/campaigns/%08%0A%14"), 404, "not_found")
    assert_error(api_as("admin").get("/no/such/%0A"), 404, "not_found")


def test_an_id_past_64_bits_in_a_filter_is_422_not_a_server_error(api_as, org):
    response = api_as("admin").get("/customers", {"owner": "99999999999999999999999"})
    assert response.status_code == 422 and response["Content-Type"].startswith("application/json")
