"""Field dispatch: the approval chain of a work order (seed 003), its rejections, role and
state checks, audit and timeline, the pages and the API.

Cast from the ``org`` fixture: svc_east dispatches, rm_east is the department head and the
responsible leader of the East region, eng_east travels, fin (a finance member of the
marketing department) approves budgets and reimburses for every unit.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import path
from django.utils import timezone
from ninja import NinjaAPI

from tests.factories import CustomerFactory
from yiti.api import errors as api_errors
from yiti.api.auth import API_AUTH
from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.engagement.models import Interaction
from yiti.org.services import membership_grant, token_create, user_create
from yiti.service.dispatch import selectors, services
from yiti.service.dispatch.api import router
from yiti.service.dispatch.choices import Decision, LineStage, Origin, Step, WorkOrderStatus
from yiti.service.dispatch.demo import seed_dispatch
from yiti.service.dispatch.models import CostLine, WorkOrder, WorkOrderStep
from yiti.service.dispatch.services import LineInput
from yiti.service.models import Ticket

S = WorkOrderStatus

# A private API instance mounting only the dispatch router, so these tests do not depend on
# where the lead mounts it under /api/v1.
_api = NinjaAPI(title="dispatch-tests", urls_namespace="dispatch_tests_api", auth=API_AUTH)
api_errors.install(_api)
_api.add_router("", router)
urlpatterns = [path("api/v1/", _api.urls)]


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def world(org):
    customer = CustomerFactory(unit=org.hz, name="张伟", city="杭州")
    ticket = Ticket.objects.create(
        customer=customer,
        kind="repair",
        subject="空调不制冷",
        unit=org.east,
        opened_at=timezone.now() - timedelta(days=1),
    )
    return org, customer, ticket


def U(org, name):
    return org.users[name]


BUDGET = [
    LineInput("transport", "400.00", "高铁"),
    LineInput("lodging", "300.00"),
    LineInput("allowance", "200.00"),
    LineInput("other", "100.00"),
]  # 1,000.00


def plan_kwargs(**over: Any) -> dict[str, Any]:
    today = timezone.localdate()
    kwargs = {
        "contact_name": "李站长",
        "contact_channel": "call",
        "contact_at": timezone.now() - timedelta(hours=2),
        "contact_agreed": "周三上门检测空调",
        "destination": "杭州西湖服务站",
        "depart_on": today,
        "return_on": today + timedelta(days=1),
        "purpose": "现场维修",
        "budget": BUDGET,
    }
    return {**kwargs, **over}


def report_kwargs(**over: Any) -> dict[str, Any]:
    kwargs = {
        "findings": "冷媒泄漏",
        "work_done": "紧固接头并补充冷媒",
        "parts": "O 型圈 x2",
        "customer_signed_off": True,
        "signed_off_by": "张伟",
    }
    return {**kwargs, **over}


def claim_lines(total: str) -> list[LineInput]:
    return [LineInput("transport", total)]


# (status the step moves from, step, callable(org, wo) taking it with the right actor)
CHAIN = [
    (S.NEW, lambda o, wo: services.work_order_assign(
        actor=U(o, "rm_east"), work_order=wo, traveller=U(o, "eng_east"))),
    (S.PLANNING, lambda o, wo: services.work_order_plan(
        actor=U(o, "eng_east"), work_order=wo, **plan_kwargs())),
    (S.LEADER_APPROVAL, lambda o, wo: services.work_order_approve(
        actor=U(o, "rm_east"), work_order=wo)),
    (S.BUDGET_APPROVAL, lambda o, wo: services.work_order_budget_approve(
        actor=U(o, "fin"), work_order=wo)),
    (S.ON_TRIP, lambda o, wo: services.work_order_report(
        actor=U(o, "eng_east"), work_order=wo, **report_kwargs())),
    (S.ARCHIVING, lambda o, wo: services.work_order_archive(
        actor=U(o, "rm_east"), work_order=wo)),
    (S.CLAIMING, lambda o, wo: services.work_order_claim(
        actor=U(o, "eng_east"), work_order=wo, lines=claim_lines("950.00"), receipts_count=3)),
    (S.REIMBURSEMENT, lambda o, wo: services.work_order_reimburse(
        actor=U(o, "fin"), work_order=wo)),
]  # fmt: skip
ORDER = [s.value for s in WorkOrderStatus]


def new_order(org, ticket) -> WorkOrder:
    return services.work_order_create(actor=U(org, "svc_east"), ticket=ticket)


def advance(org, wo: WorkOrder, to: str) -> WorkOrder:
    """Walk ``wo`` forward with the right actors until it stands at ``to``."""
    for status, take in CHAIN:
        if ORDER.index(wo.status) >= ORDER.index(to):
            break
        assert wo.status == status
        wo = take(org, wo)
    assert wo.status == to
    return wo


def order_at(world, status: str) -> WorkOrder:
    org, _customer, ticket = world
    return advance(org, new_order(org, ticket), status)


# --- the happy path ------------------------------------------------------------------------


def test_the_whole_chain_with_the_right_roles(world):
    org, customer, ticket = world
    # given a repair ticket, when a service agent dispatches a trip from it
    wo = services.work_order_create(actor=U(org, "svc_east"), ticket=ticket)
    assert (wo.status, wo.customer, wo.unit, wo.origin) == (S.NEW, customer, org.hz, Origin.TICKET)
    assert wo.subject == ticket.subject

    # and every step is taken by its role
    wo = advance(org, wo, S.CLOSED)

    # then the order is closed, reimbursed what was claimed, and the chain is recorded in order
    wo.refresh_from_db()
    assert wo.traveller == U(org, "eng_east")
    assert wo.budget_total == Decimal("1000.00")
    assert wo.expense_total == wo.reimbursed_amount == Decimal("950.00")
    assert wo.archived_at is not None and wo.claimed_at is not None
    steps = list(WorkOrderStep.objects.filter(work_order=wo).order_by("at", "id"))
    assert [(s.step, s.actor.username) for s in steps] == [
        (Step.CREATE, "svc_east"),
        (Step.ASSIGN, "rm_east"),
        (Step.PLAN, "eng_east"),
        (Step.APPROVE, "rm_east"),
        (Step.BUDGET_APPROVE, "fin"),
        (Step.REPORT, "eng_east"),
        (Step.ARCHIVE, "rm_east"),
        (Step.CLAIM, "eng_east"),
        (Step.REIMBURSE, "fin"),
    ]
    assert [s.to_status for s in steps] == ORDER
    assert steps[2].data["budget_total"] == "1000.00"
    assert {(line.stage, line.kind) for line in CostLine.objects.filter(work_order=wo)} == {
        *((LineStage.BUDGET, k) for k in ("transport", "lodging", "allowance", "other")),
        (LineStage.EXPENSE, "transport"),
    }

    # and every step left an audit row tied to the customer
    actions = list(
        AuditEvent.objects.filter(object_type="dispatch.workorder", object_id=str(wo.pk))
        .order_by("id")
        .values_list("action", "customer_id", "actor__username")
    )
    assert actions == [
        ("dispatch.create", customer.pk, "svc_east"),
        ("dispatch.assign", customer.pk, "rm_east"),
        ("dispatch.plan", customer.pk, "eng_east"),
        ("dispatch.approve", customer.pk, "rm_east"),
        ("dispatch.budget_approve", customer.pk, "fin"),
        ("dispatch.report", customer.pk, "eng_east"),
        ("dispatch.archive", customer.pk, "rm_east"),
        ("dispatch.claim", customer.pk, "eng_east"),
        ("dispatch.reimburse", customer.pk, "fin"),
    ]

    # and the contact and the visit are on the customer's timeline, linked to the ticket
    timeline = list(Interaction.objects.filter(customer=customer).order_by("occurred_at"))
    assert [(i.channel, i.purpose, i.ticket_id, i.actor.username) for i in timeline] == [
        ("call", "service", ticket.pk, "eng_east"),
        ("visit", "service", ticket.pk, "eng_east"),
    ]
    assert timeline[0].body == "周三上门检测空调"
    assert timeline[1].external_ref == wo.reference
    customer.refresh_from_db()
    assert customer.last_contact_at == timeline[1].occurred_at


def test_a_dealer_request_is_dispatched_from_the_customer_without_a_ticket(world):
    org, customer, _ticket = world
    wo = services.work_order_create(
        actor=U(org, "rm_east"),
        customer=customer,
        origin=Origin.DEALER_REQUEST,
        subject="经销商请求技术培训",
    )
    assert (wo.ticket, wo.origin, wo.unit) == (None, Origin.DEALER_REQUEST, org.hz)
    wo = advance(org, wo, S.ARCHIVING)
    assert Interaction.objects.filter(customer=customer, ticket_id__isnull=True).count() == 2


def test_creating_needs_a_dispatching_role_over_the_customers_unit(world):
    org, customer, ticket = world
    with pytest.raises(PermissionDenied) as exc:
        services.work_order_create(actor=U(org, "am_hz"), customer=customer, subject="x")
    assert exc.value.code == "wrong_role"
    with pytest.raises(NotFound):
        services.work_order_create(actor=U(org, "rm_north"), ticket=ticket)
    with pytest.raises(ValidationFailed) as exc:
        services.work_order_create(actor=U(org, "svc_east"), customer=customer, subject=" ")
    assert exc.value.field == "subject"
    assert not WorkOrder.objects.exists()


# --- rejections ----------------------------------------------------------------------------

REJECTIONS = [
    # (from, who sends it back, to)
    (S.PLANNING, "eng_east", S.NEW),  # the traveller declines
    (S.LEADER_APPROVAL, "rm_east", S.PLANNING),
    (S.BUDGET_APPROVAL, "fin", S.PLANNING),
    (S.ARCHIVING, "rm_east", S.ON_TRIP),
    (S.REIMBURSEMENT, "fin", S.CLAIMING),
]


@pytest.mark.parametrize(("start", "who", "back"), REJECTIONS)
def test_a_rejection_returns_the_order_one_step_with_its_reason(world, start, who, back):
    org, customer, _ticket = world
    wo = order_at(world, start)

    wo = services.work_order_reject(actor=U(org, who), work_order=wo, reason="  请补充材料  ")

    wo.refresh_from_db()
    assert wo.status == back
    last = WorkOrderStep.objects.filter(work_order=wo).order_by("-id").first()
    assert (last.decision, last.reason, last.actor.username) == (Decision.REJECT, "请补充材料", who)
    assert (last.from_status, last.to_status) == (start, back)
    audit = AuditEvent.objects.filter(action="dispatch.reject", object_id=str(wo.pk)).get()
    assert audit.customer_id == customer.pk
    assert audit.changes["status"] == [start, back]
    if back == S.NEW:
        assert wo.traveller is None and last.data["traveller_id"] == U(org, "eng_east").pk


def test_after_finance_rejects_the_budget_the_revised_plan_goes_to_the_leader_again(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.BUDGET_APPROVAL)
    wo = services.work_order_reject(actor=U(org, "fin"), work_order=wo, reason="住宿超标")
    assert wo.status == S.PLANNING

    cheaper = [LineInput("transport", "400.00"), LineInput("lodging", "200.00")]
    wo = services.work_order_plan(
        actor=U(org, "eng_east"), work_order=wo, **plan_kwargs(budget=cheaper)
    )

    assert wo.status == S.LEADER_APPROVAL
    assert wo.budget_total == Decimal("600.00")
    assert CostLine.objects.filter(work_order=wo, stage=LineStage.BUDGET).count() == 2
    plans = WorkOrderStep.objects.filter(work_order=wo, step=Step.PLAN).order_by("id")
    assert [p.data["budget_total"] for p in plans] == ["1000.00", "600.00"]


def test_a_rejection_needs_a_reason(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.LEADER_APPROVAL)
    with pytest.raises(ValidationFailed) as exc:
        services.work_order_reject(actor=U(org, "rm_east"), work_order=wo, reason="   ")
    assert (exc.value.code, exc.value.field) == ("reason_required", "reason")
    wo.refresh_from_db()
    assert wo.status == S.LEADER_APPROVAL


@pytest.mark.parametrize(
    ("status", "who"),
    [(S.NEW, "rm_east"), (S.ON_TRIP, "eng_east"), (S.CLAIMING, "eng_east"), (S.CLOSED, "fin")],
)
def test_nothing_is_sent_back_where_the_next_step_is_own_work(world, status, who):
    org, _customer, _ticket = world
    wo = order_at(world, status)
    with pytest.raises(ValidationFailed) as exc:
        services.work_order_reject(actor=U(org, who), work_order=wo, reason="no")
    assert exc.value.code == "invalid_step"


@pytest.mark.parametrize(
    ("start", "who"),
    [(S.PLANNING, "rm_east"), (S.LEADER_APPROVAL, "fin"), (S.BUDGET_APPROVAL, "rm_east"),
     (S.ARCHIVING, "eng_east"), (S.REIMBURSEMENT, "rm_east")],
)  # fmt: skip
def test_only_the_step_owner_sends_it_back(world, start, who):
    org, _customer, _ticket = world
    wo = order_at(world, start)
    with pytest.raises(PermissionDenied):
        services.work_order_reject(actor=U(org, who), work_order=wo, reason="no")
    wo.refresh_from_db()
    assert wo.status == start


# --- wrong role, wrong state ---------------------------------------------------------------

WRONG_ROLES = {
    S.NEW: ["eng_east", "fin", "svc_east", "am_hz", "care_east"],
    S.PLANNING: ["rm_east", "fin", "svc_east", "admin"],
    S.LEADER_APPROVAL: ["fin", "eng_east", "svc_east", "care_east"],
    S.BUDGET_APPROVAL: ["rm_east", "eng_east", "admin", "care_east"],
    S.ON_TRIP: ["rm_east", "fin", "svc_east"],
    S.ARCHIVING: ["fin", "eng_east", "svc_east"],
    S.CLAIMING: ["rm_east", "fin", "admin"],
    S.REIMBURSEMENT: ["rm_east", "eng_east", "admin"],
}


def _take_as(org, status: str, wo: WorkOrder, actor) -> WorkOrder:
    """Take the step ``status`` waits for, with the right arguments but ``actor``."""
    calls = {
        S.NEW: lambda: services.work_order_assign(
            actor=actor, work_order=wo, traveller=U(org, "eng_east")),
        S.PLANNING: lambda: services.work_order_plan(actor=actor, work_order=wo, **plan_kwargs()),
        S.LEADER_APPROVAL: lambda: services.work_order_approve(actor=actor, work_order=wo),
        S.BUDGET_APPROVAL: lambda: services.work_order_budget_approve(actor=actor, work_order=wo),
        S.ON_TRIP: lambda: services.work_order_report(
            actor=actor, work_order=wo, **report_kwargs()),
        S.ARCHIVING: lambda: services.work_order_archive(actor=actor, work_order=wo),
        S.CLAIMING: lambda: services.work_order_claim(
            actor=actor, work_order=wo, lines=claim_lines("10.00"), receipts_count=1),
        S.REIMBURSEMENT: lambda: services.work_order_reimburse(actor=actor, work_order=wo),
    }  # fmt: skip
    return calls[status]()


@pytest.mark.parametrize("status", list(WRONG_ROLES))
def test_a_wrong_role_is_refused_at_each_step(world, status):
    org, _customer, _ticket = world
    wo = order_at(world, status)
    for name in WRONG_ROLES[status]:
        with pytest.raises(PermissionDenied) as exc:
            _take_as(org, status, wo, U(org, name))
        assert exc.value.code == "wrong_role", name
    # a manager of another region does not even see it
    if status not in (S.BUDGET_APPROVAL, S.REIMBURSEMENT):
        with pytest.raises(NotFound):
            _take_as(org, status, wo, U(org, "rm_north"))
    wo.refresh_from_db()
    assert wo.status == status
    assert not AuditEvent.objects.filter(action="dispatch.reject").exists()


@pytest.mark.parametrize("status", list(WRONG_ROLES))
def test_the_right_role_at_the_wrong_state_is_refused(world, status):
    org, _customer, _ticket = world
    wo = order_at(world, status)
    owners = {S.NEW: "rm_east", S.PLANNING: "eng_east", S.LEADER_APPROVAL: "rm_east",
              S.BUDGET_APPROVAL: "fin", S.ON_TRIP: "eng_east", S.ARCHIVING: "rm_east",
              S.CLAIMING: "eng_east", S.REIMBURSEMENT: "fin"}  # fmt: skip
    steps_before = WorkOrderStep.objects.filter(work_order=wo).count()
    for other in WRONG_ROLES:
        if other == status:
            continue
        with pytest.raises(ValidationFailed) as exc:
            _take_as(org, other, wo, U(org, owners[other]))
        assert exc.value.code == "invalid_step", other
    wo.refresh_from_db()
    assert wo.status == status
    assert WorkOrderStep.objects.filter(work_order=wo).count() == steps_before


def test_a_closed_order_takes_no_step(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.CLOSED)
    with pytest.raises(ValidationFailed) as exc:
        services.work_order_reimburse(actor=U(org, "fin"), work_order=wo)
    assert exc.value.code == "invalid_step"


def test_a_stale_copy_cannot_take_a_step_twice(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.LEADER_APPROVAL)
    stale = WorkOrder.objects.get(pk=wo.pk)
    services.work_order_approve(actor=U(org, "rm_east"), work_order=wo)
    with pytest.raises(ValidationFailed) as exc:
        services.work_order_approve(actor=U(org, "rm_east"), work_order=stale)
    assert exc.value.code == "invalid_step"
    assert WorkOrderStep.objects.filter(work_order=wo, step=Step.APPROVE).count() == 1


def test_nobody_approves_their_own_trip(world):
    org, customer, _ticket = world
    # given a region manager who is also a field engineer of the region
    boss = user_create(username="boss", password="pw-Secret-123")
    membership_grant(user=boss, unit=org.east, role="region_manager")
    membership_grant(user=boss, unit=org.east, role="field_engineer")
    wo = services.work_order_create(actor=boss, customer=customer, subject="自己出差")
    wo = services.work_order_assign(actor=boss, work_order=wo, traveller=boss)
    wo = services.work_order_plan(actor=boss, work_order=wo, **plan_kwargs())
    with pytest.raises(PermissionDenied) as exc:
        services.work_order_approve(actor=boss, work_order=wo)
    assert exc.value.code == "own_trip"
    wo = services.work_order_approve(actor=U(org, "rm_east"), work_order=wo)
    assert wo.status == S.BUDGET_APPROVAL


def test_the_traveller_is_a_field_engineer_of_the_orders_unit(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.NEW)
    north_engineer = user_create(username="eng_north", password="pw-Secret-123")
    membership_grant(user=north_engineer, unit=org.north, role="field_engineer")
    for candidate in (U(org, "am_hz"), north_engineer):
        with pytest.raises(ValidationFailed) as exc:
            services.work_order_assign(actor=U(org, "rm_east"), work_order=wo, traveller=candidate)
        assert exc.value.code == "not_a_field_engineer"
    assert list(selectors.travellers_for(wo)) == [U(org, "eng_east")]


def test_a_plan_is_validated(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.PLANNING)
    eng = U(org, "eng_east")
    today = timezone.localdate()
    bad = [
        ({"contact_name": ""}, "contact_name"),
        ({"contact_at": timezone.now() + timedelta(days=1)}, "contact_at"),
        ({"return_on": today - timedelta(days=1)}, "return_on"),
        ({"budget": []}, "budget"),
        ({"budget": [LineInput("taxi", "10")]}, "budget.0.kind"),
        ({"budget": [LineInput("transport", "-1")]}, "budget.0.amount"),
        ({"budget": [LineInput("transport", "1.005")]}, "budget.0.amount"),
    ]
    for over, field in bad:
        with pytest.raises(ValidationFailed) as exc:
            services.work_order_plan(actor=eng, work_order=wo, **plan_kwargs(**over))
        assert exc.value.field == field, over
    assert not Interaction.objects.exists()


# --- money ---------------------------------------------------------------------------------


def test_a_claim_more_than_ten_percent_over_budget_needs_a_reason(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.CLAIMING)  # budget 1,000.00
    eng = U(org, "eng_east")

    with pytest.raises(ValidationFailed) as exc:
        services.work_order_claim(
            actor=eng, work_order=wo, lines=claim_lines("1100.01"), receipts_count=4
        )
    assert (exc.value.code, exc.value.field) == (
        "over_budget_reason_required",
        "over_budget_reason",
    )
    wo.refresh_from_db()
    assert wo.status == S.CLAIMING
    assert not CostLine.objects.filter(work_order=wo, stage=LineStage.EXPENSE).exists()

    wo = services.work_order_claim(
        actor=eng,
        work_order=wo,
        lines=claim_lines("1100.01"),
        receipts_count=4,
        over_budget_reason="返程航班取消，多住一晚",
    )
    assert wo.status == S.REIMBURSEMENT
    assert wo.over_budget_reason == "返程航班取消，多住一晚"


def test_a_claim_within_ten_percent_needs_no_reason(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.CLAIMING)
    wo = services.work_order_claim(
        actor=U(org, "eng_east"), work_order=wo, lines=claim_lines("1100.00"), receipts_count=2
    )
    assert (wo.status, wo.expense_total) == (S.REIMBURSEMENT, Decimal("1100.00"))


def test_finance_may_reimburse_less_than_claimed_with_a_note_never_more(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.REIMBURSEMENT)  # claimed 950.00
    fin = U(org, "fin")
    with pytest.raises(ValidationFailed) as exc:
        services.work_order_reimburse(actor=fin, work_order=wo, amount="960.00")
    assert exc.value.field == "amount"
    with pytest.raises(ValidationFailed) as exc:
        services.work_order_reimburse(actor=fin, work_order=wo, amount="900.00")
    assert exc.value.code == "reason_required"
    wo = services.work_order_reimburse(
        actor=fin, work_order=wo, amount="900.00", note="餐费发票不合规"
    )
    assert (wo.status, wo.reimbursed_amount) == (S.CLOSED, Decimal("900.00"))


def test_a_reclaim_after_rejection_replaces_the_expense_lines(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.REIMBURSEMENT)
    wo = services.work_order_reject(actor=U(org, "fin"), work_order=wo, reason="缺少发票")
    wo = services.work_order_claim(
        actor=U(org, "eng_east"), work_order=wo, lines=claim_lines("800.00"), receipts_count=5
    )
    lines = CostLine.objects.filter(work_order=wo, stage=LineStage.EXPENSE)
    assert [line.amount for line in lines] == [Decimal("800.00")]
    assert wo.expense_total == Decimal("800.00")


# --- who sees what -------------------------------------------------------------------------


def test_my_tasks_are_what_waits_for_me(world):
    org, _customer, _ticket = world
    at = {s: order_at(world, s) for s in (S.NEW, S.PLANNING, S.BUDGET_APPROVAL, S.REIMBURSEMENT)}

    def tasks(name):
        filters = selectors.WorkOrderFilters(view="tasks")
        return {wo.status for wo in selectors.work_order_list(U(org, name), filters)}

    assert tasks("rm_east") == {S.NEW}
    assert tasks("eng_east") == {S.PLANNING}
    assert tasks("fin") == {S.BUDGET_APPROVAL, S.REIMBURSEMENT}
    assert tasks("svc_east") == set()
    assert tasks("rm_north") == set()
    # finance sees every unit's orders; a region manager of another region sees none
    everything = selectors.WorkOrderFilters(view="all")
    assert selectors.work_order_list(U(org, "fin"), everything).count() == 4
    assert selectors.work_order_list(U(org, "svc_east"), everything).count() == 4
    assert selectors.work_order_list(U(org, "rm_north"), everything).count() == 0
    with pytest.raises(NotFound):
        selectors.work_order_get_for(U(org, "rm_north"), at[S.NEW].pk)
    # the list filters by number, customer name and status
    mine = selectors.WorkOrderFilters(view="all", q=at[S.PLANNING].reference)
    assert list(selectors.work_order_list(U(org, "rm_east"), mine)) == [at[S.PLANNING]]
    by_name = selectors.WorkOrderFilters(view="all", q="张")
    assert selectors.work_order_list(U(org, "rm_east"), by_name).count() == 4
    closed = selectors.WorkOrderFilters(view="open", status=S.CLOSED)
    assert not selectors.work_order_list(U(org, "rm_east"), closed).exists()


# --- web -----------------------------------------------------------------------------------


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_page_shows_my_tasks_without_a_query_per_order(
    world, django_assert_max_num_queries
):
    org, _customer, _ticket = world
    for _ in range(3):
        order_at(world, S.NEW)
    client = _client(U(org, "rm_east"))
    with django_assert_max_num_queries(12) as few:
        response = client.get("/dispatch/")
    assert response.status_code == 200
    for _ in range(7):
        order_at(world, S.NEW)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/dispatch/")
    body = response.content.decode()
    assert body.count("WO-") >= 10
    assert "空调不制冷" in body
    # and htmx asks for the results only
    partial = client.get("/dispatch/?view=all&status=new", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_a_work_order_is_dispatched_from_a_ticket_page_link(world):
    org, _customer, ticket = world
    client = _client(U(org, "svc_east"))
    page = client.get(f"/dispatch/new/?ticket={ticket.pk}")
    assert page.status_code == 200
    assert ticket.subject in page.content.decode()

    response = client.post(
        f"/dispatch/new/?ticket={ticket.pk}", {"subject": "上门维修空调", "description": "急"}
    )

    wo = WorkOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dispatch/{wo.pk}/"
    assert (wo.ticket, wo.subject, wo.created_by) == (ticket, "上门维修空调", U(org, "svc_east"))
    # someone outside the ticket's scope gets a 404
    assert _client(U(org, "rm_north")).get(f"/dispatch/new/?ticket={ticket.pk}").status_code == 404


def test_the_work_order_page_shows_the_chain_and_the_next_step_form(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.NEW)
    manager = _client(U(org, "rm_east"))
    page = manager.get(f"/dispatch/{wo.pk}/").content.decode()
    assert 'aria-current="step"' in page
    assert f'action="/dispatch/{wo.pk}/assign/"' in page
    # the traveller sees the page but not the form (it is not their step)
    engineer_page = _client(U(org, "eng_east")).get(f"/dispatch/{wo.pk}/").content.decode()
    assert f'action="/dispatch/{wo.pk}/assign/"' not in engineer_page

    response = manager.post(
        f"/dispatch/{wo.pk}/assign/", {"traveller": U(org, "eng_east").pk, "note": "尽快"}
    )
    assert response.status_code == 302
    wo.refresh_from_db()
    assert (wo.status, wo.traveller) == (S.PLANNING, U(org, "eng_east"))


def test_the_plan_form_posts_the_budget_lines(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.PLANNING)
    client = _client(U(org, "eng_east"))
    contact_at = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    today = timezone.localdate()
    data = {
        "contact_name": "李站长", "contact_channel": "visit", "contact_at": contact_at,
        "contact_agreed": "明天上门", "destination": "杭州", "purpose": "维修",
        "depart_on": today.isoformat(), "return_on": today.isoformat(),
        "budget_transport": "120.50", "budget_lodging": "", "budget_allowance": "80",
        "budget_allowance_note": "补助",
    }  # fmt: skip
    response = client.post(f"/dispatch/{wo.pk}/plan/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    wo.refresh_from_db()
    assert (wo.status, wo.budget_total, wo.contact_channel) == (
        S.LEADER_APPROVAL,
        Decimal("200.50"),
        "visit",
    )
    assert Interaction.objects.filter(channel="visit", customer=wo.customer).count() == 1


def test_a_rejection_without_a_reason_is_shown_next_to_the_field(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.LEADER_APPROVAL)
    client = _client(U(org, "rm_east"))
    response = client.post(f"/dispatch/{wo.pk}/reject/", {"reason": ""})
    assert response.status_code == 422
    assert "errorlist" in response.content.decode()
    response = client.post(f"/dispatch/{wo.pk}/reject/", {"reason": "预算不合理"})
    assert response.status_code == 302
    wo.refresh_from_db()
    assert wo.status == S.PLANNING
    page = client.get(f"/dispatch/{wo.pk}/").content.decode()
    assert "预算不合理" in page
    assert 'class="current returned"' in page  # the stepper marks the plan step as sent back


def test_a_stale_step_form_redirects_with_a_message(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.BUDGET_APPROVAL)
    response = _client(U(org, "rm_east")).post(f"/dispatch/{wo.pk}/approve/", {"note": ""})
    assert response.status_code == 302
    wo.refresh_from_db()
    assert wo.status == S.BUDGET_APPROVAL


def test_a_wrong_role_posting_a_step_gets_403(world):
    org, _customer, _ticket = world
    wo = order_at(world, S.LEADER_APPROVAL)
    response = _client(U(org, "fin")).post(f"/dispatch/{wo.pk}/approve/", {"note": ""})
    assert response.status_code == 403
    wo.refresh_from_db()
    assert wo.status == S.LEADER_APPROVAL


# --- API -----------------------------------------------------------------------------------


class _Api:
    def __init__(self, user):
        _token, raw = token_create(user=user, name="tests")
        self.headers = {"Authorization": f"Bearer {raw}"}
        self.client = Client()

    def get(self, url, **params):
        return self.client.get("/api/v1" + url, params, headers=self.headers)

    def post(self, url, body=None):
        return self.client.post(
            "/api/v1" + url,
            json.dumps(body or {}),
            content_type="application/json",
            headers=self.headers,
        )


@pytest.mark.urls(__name__)
def test_the_api_walks_the_chain_and_answers_errors_as_json(world):
    org, customer, ticket = world
    svc, rm, eng, fin = (_Api(U(org, n)) for n in ("svc_east", "rm_east", "eng_east", "fin"))
    today = timezone.localdate().isoformat()

    created = svc.post("/work-orders", {"ticket_id": ticket.pk})
    assert created.status_code == 201, created.content
    wo_id = created.json()["id"]
    base = f"/work-orders/{wo_id}"

    wrong = eng.post(f"{base}/assign", {"traveller_id": U(org, "eng_east").pk})
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_role"
    early = rm.post(f"{base}/approve")
    assert early.status_code == 422 and early.json()["code"] == "invalid_step"

    assert rm.post(f"{base}/assign", {"traveller_id": U(org, "eng_east").pk}).status_code == 200
    plan = {
        "contact_name": "李站长", "contact_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "contact_agreed": "约定上门", "destination": "杭州", "depart_on": today,
        "return_on": today, "purpose": "维修",
        "budget": [{"kind": "transport", "amount": "500.00"}, {"kind": "lodging", "amount": 300}],
    }  # fmt: skip
    assert eng.post(f"{base}/plan", plan).status_code == 200
    sent_back = fin.post(f"{base}/reject", {"reason": ""})
    assert sent_back.status_code == 403  # the order waits for the leader, not finance
    back = rm.post(f"{base}/reject", {"reason": "请压缩住宿"})
    assert back.json()["status"] == S.PLANNING
    plan["budget"] = [{"kind": "transport", "amount": "500.00"}]
    assert eng.post(f"{base}/plan", plan).json()["budget_total"] == "500.00"
    assert rm.post(f"{base}/approve", {"note": "同意"}).status_code == 200
    assert fin.post(f"{base}/budget-approve").json()["status"] == S.ON_TRIP
    report = {"findings": "漏氟", "work_done": "补氟", "customer_signed_off": True,
              "signed_off_by": "张伟"}  # fmt: skip
    assert eng.post(f"{base}/report", report).json()["status"] == S.ARCHIVING
    assert rm.post(f"{base}/archive").json()["status"] == S.CLAIMING
    over = eng.post(f"{base}/claim", {"lines": [{"kind": "transport", "amount": "600"}],
                                      "receipts_count": 2})  # fmt: skip
    assert over.status_code == 422
    assert over.json() == {
        "code": "over_budget_reason_required",
        "message": over.json()["message"],
        "field": "over_budget_reason",
    }
    claim = {"lines": [{"kind": "transport", "amount": "540"}], "receipts_count": 2}
    assert eng.post(f"{base}/claim", claim).json()["status"] == S.REIMBURSEMENT
    done = fin.post(f"{base}/reimburse").json()
    assert (done["status"], done["reimbursed_amount"]) == (S.CLOSED, "540.00")
    assert [s["step"] for s in done["steps"]] == [
        "create", "assign", "plan", "approve", "plan", "approve", "budget_approve", "report",
        "archive", "claim", "reimburse",
    ]  # fmt: skip

    listed = rm.get("/work-orders", view="all")
    assert [w["id"] for w in listed.json()["items"]] == [wo_id]
    assert rm.get("/work-orders", view="tasks").json()["items"] == []
    assert _Api(U(org, "rm_north")).get(base).status_code == 404
    assert fin.get(base).json()["customer"] == {"id": customer.pk, "name": customer.name}


# --- demo ----------------------------------------------------------------------------------


def test_the_demo_seeds_a_dozen_orders_at_every_step(world):
    org, _customer, _ticket = world
    tickets = [
        Ticket.objects.create(
            customer=CustomerFactory(unit=unit),
            kind=kind,
            subject=f"故障 {i}",
            unit=org.east,
            opened_at=timezone.now() - timedelta(days=2),
        )
        for i, (unit, kind) in enumerate(
            [(org.hz, "repair"), (org.nb, "repair"), (org.bj, "repair")] * 6
            + [(org.hz, "consultation")]
        )
    ]

    made = seed_dispatch(rng=random.Random(7), tickets=tickets, users=org.users)

    assert len(made) == 12
    statuses = {wo.status for wo in WorkOrder.objects.all()}
    assert statuses == set(WorkOrderStatus.values)
    assert WorkOrder.objects.filter(unit=org.bj).count() == 0  # no engineer in the north
    assert WorkOrderStep.objects.filter(decision=Decision.REJECT).count() == 3
    assert WorkOrder.objects.filter(status=S.REIMBURSEMENT).exclude(over_budget_reason="").exists()
    assert Interaction.objects.filter(purpose="service", channel="visit").exists()
