"""``yiti seed``: a realistic, deterministic demo company whose derived data is consistent."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from yiti.care.choices import TaskKind
from yiti.care.models import CareTask
from yiti.care.reports.choices import ReportKind, SnapshotStatus
from yiti.care.reports.models import ReportSnapshot
from yiti.customers.choices import ContactKind
from yiti.customers.contacts import normalize_email, normalize_phone
from yiti.customers.models import (
    Assignment,
    ConsentEvent,
    ConsentState,
    ContactPoint,
    Customer,
    Order,
)
from yiti.customers.services import consent_rebuild, duplicate_groups_by_phone
from yiti.demo.company import DEMO_PASSWORD, LEAVING_USERNAME
from yiti.engagement.models import Interaction
from yiti.org.choices import Role, UnitKind
from yiti.org.models import Membership, OrgUnit, User
from yiti.service.choices import TicketKind
from yiti.service.dispatch.models import WorkOrder
from yiti.service.models import Ticket


def _seed(customers: int = 300, seed: int = 7, tickets: int = 0, **extra: object) -> str:
    """Seed through the command; the service desk (slow: every ticket goes through the
    services) only when ``tickets`` is given."""
    out = io.StringIO()
    extra.setdefault("no_campaigns", True)  # the campaigns have tests of their own
    call_command("seed", customers=customers, seed=seed, tickets=tickets, stdout=out, **extra)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return _seed()


def test_company_tree_has_three_regions_with_branches_departments_and_a_partner(seeded):
    company = OrgUnit.objects.get(kind=UnitKind.COMPANY)
    assert company.name == "总公司"
    regions = OrgUnit.objects.filter(parent=company, kind=UnitKind.REGION)
    assert sorted(regions.values_list("name", flat=True)) == sorted(
        ["华东片区", "华北片区", "华南片区"]
    )
    for region in regions:
        branches = OrgUnit.objects.filter(parent=region, kind=UnitKind.BRANCH)
        assert 2 <= branches.count() <= 3
        assert all(b.name.endswith("分公司") for b in branches)
    departments = set(
        OrgUnit.objects.filter(kind=UnitKind.DEPARTMENT).values_list("name", flat=True)
    )
    assert {"市场部", "客户服务中心", "回访中心", "售后服务部", "财务部"} <= departments
    assert OrgUnit.objects.filter(kind=UnitKind.PARTNER, name__contains="代理商").exists()


def test_every_role_has_a_demo_login_with_the_documented_password(seeded):
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    for username in (
        "admin",
        "rm_east",
        "am_hz1",
        "am_hz2",
        "svc_east",
        "care_east",
        "cm",
        "eng_east",
        "fin",
        "analyst",
        LEAVING_USERNAME,
    ):
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
    # and the command prints the login table with the password
    assert "am_hz1" in seeded and DEMO_PASSWORD in seeded


def test_phones_are_valid_and_normalised_like_the_service_does(seeded):
    phones = list(ContactPoint.objects.filter(kind=ContactKind.PHONE))
    assert len(phones) >= 300
    for point in phones:
        norm = normalize_phone(point.value)
        assert (norm.value, norm.normalized, norm.search_key) == (
            point.value,
            point.normalized,
            point.search_key,
        )
    for point in ContactPoint.objects.filter(kind=ContactKind.EMAIL):
        norm = normalize_email(point.value)
        assert (norm.value, norm.normalized, norm.search_key) == (
            point.value,
            point.normalized,
            point.search_key,
        )
    # the list columns mirror the primary contact points
    primaries = dict(
        ContactPoint.objects.filter(kind=ContactKind.PHONE, is_primary=True).values_list(
            "customer_id", "value"
        )
    )
    emails = dict(
        ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=True).values_list(
            "customer_id", "value"
        )
    )
    for cid, phone, email in Customer.objects.values_list("id", "primary_phone", "primary_email"):
        assert primaries[cid] == phone
        assert emails.get(cid, "") == email


def test_last_contact_is_the_newest_interaction(seeded):
    newest = dict(
        Interaction.objects.values("customer_id")
        .annotate(m=Max("occurred_at"))
        .values_list("customer_id", "m")
    )
    assert len(newest) > 250
    for cid, last in Customer.objects.values_list("id", "last_contact_at"):
        assert last == newest.get(cid), cid
    assert not Interaction.objects.filter(occurred_at__gt=timezone.now()).exists()
    assert set(Interaction.objects.values_list("channel", flat=True)) >= {
        "visit",
        "call",
        "sms",
        "portal",
        "im",
    }


def test_consent_state_is_what_the_ledger_says(seeded):
    def states() -> set[tuple]:
        return set(
            ConsentState.objects.values_list(
                "customer_id", "channel", "purpose", "granted", "since"
            )
        )

    seeded_states = states()
    consent_rebuild()
    assert states() == seeded_states
    marketing_sms = ConsentState.objects.filter(
        channel="sms", purpose="marketing", granted=True
    ).count()
    assert 0.4 < marketing_sms / 300 < 0.8
    # some customers withdrew consent they had given
    assert ConsentEvent.objects.filter(granted=False, source="reply").exists()


def test_orders_margin_seller_and_assignment_history(seeded):
    orders = list(Order.objects.select_related("product", "customer"))
    assert orders
    for order in orders:
        assert order.margin == (order.amount * order.product.margin_rate).quantize(Decimal("0.01"))
        assert order.sold_by_id == order.customer.owner_id
        assert order.unit_id == order.customer.unit_id
    owned = Customer.objects.filter(owner__isnull=False)
    assert 0.7 < owned.count() / 300 < 0.95
    history = dict(Assignment.objects.values_list("customer_id", "to_user_id"))
    assert history == dict(owned.values_list("id", "owner_id"))
    # every owner is an account manager of the customer's unit
    am_units = set(
        Membership.objects.filter(role=Role.ACCOUNT_MANAGER).values_list("user_id", "unit_id")
    )
    assert all((o, u) in am_units for o, u in owned.values_list("owner_id", "unit_id"))


def test_duplicates_to_merge_and_a_departing_account_manager_gone_quiet(seeded):
    assert duplicate_groups_by_phone()
    leaving = User.objects.get(username=LEAVING_USERNAME)
    book = Customer.objects.filter(owner=leaving)
    assert book.count() >= 10
    assert set(book.values_list("unit__code", flat=True)) == {"hz"}
    six_weeks_ago = timezone.now() - timedelta(weeks=6)
    assert not book.filter(last_contact_at__gte=six_weeks_ago).exists()


def test_refuses_to_seed_over_customers_unless_forced(seeded):
    with pytest.raises(CommandError, match="already has customers"):
        _seed(customers=10)
    _seed(customers=50, force=True)
    assert Customer.objects.count() == 350
    assert OrgUnit.objects.filter(kind=UnitKind.COMPANY).count() == 1


def test_first_seed_opens_tickets_dispatches_engineers_calls_back_and_reports(db):
    out = _seed(customers=300, tickets=120)

    # tickets of every kind for the seeded customers, complaints among them
    tickets = Ticket.objects.all()
    assert 100 <= tickets.count() <= 140  # unhappy survey answers open a few more complaints
    assert set(tickets.values_list("kind", flat=True)) >= {
        TicketKind.CONSULTATION,
        TicketKind.REPAIR,
        TicketKind.COMPLAINT,
    }
    assert tickets.filter(kind=TicketKind.COMPLAINT).exclude(complaint_class="").exists()
    sampled = set(tickets.values_list("customer_id", flat=True))
    assert len(sampled) >= 20 and sampled <= set(Customer.objects.values_list("id", flat=True))
    assert len(set(tickets.values_list("status", flat=True))) >= 4
    # work orders standing at several steps of the chain
    orders = WorkOrder.objects.all()
    assert orders.count() >= 6
    assert len(set(orders.values_list("status", flat=True))) >= 4
    # care tasks in several states, and satisfaction calls only for orders fulfilled now, not
    # for the whole seeded order history
    tasks = CareTask.objects.all()
    assert tasks.exists()
    assert len(set(tasks.values_list("status", flat=True))) >= 3
    satisfaction = tasks.filter(kind=TaskKind.SATISFACTION).count()
    assert satisfaction <= 8 + tickets.filter(kind=TicketKind.ORDER_PROCESSING).count()
    # the last daily, weekly and monthly reports are ready, company-wide
    company = ReportSnapshot.objects.filter(unit__isnull=True, status=SnapshotStatus.READY)
    assert set(company.values_list("kind", flat=True)) == set(ReportKind.values)
    weekly = company.get(kind=ReportKind.WEEKLY)
    assert weekly.period_start.weekday() == 0
    assert weekly.period_end == weekly.period_start + timedelta(days=6)
    assert weekly.period_end < timezone.localdate()
    # and the command says how many of each it made
    assert "tickets" in out and "work orders" in out and "care tasks" in out
    assert f"{tickets.count():,} tickets" in out


def test_a_forced_top_up_adds_customers_but_no_second_desk(db):
    _seed(customers=100, tickets=30)
    before = Ticket.objects.count()
    out = _seed(customers=20, tickets=30, force=True)
    assert Customer.objects.count() == 120
    assert Ticket.objects.count() == before
    assert "Service and care" not in out


class _Rollback(Exception):
    pass


def _seeded_data(seed: int) -> dict[str, list[tuple]]:
    """What a seed of 120 customers with 40 tickets made, then rolled back (ids left out)."""
    try:
        with transaction.atomic():
            _seed(customers=120, seed=seed, tickets=40)
            raise _Rollback(
                {
                    "customers": list(
                        Customer.objects.order_by("id").values_list(
                            "name", "primary_phone", "unit__code"
                        )
                    ),
                    "tickets": list(
                        Ticket.objects.order_by("id").values_list(
                            "customer__name", "kind", "subject", "status", "assignee__username"
                        )
                    ),
                    "work_orders": list(
                        WorkOrder.objects.order_by("id").values_list("customer__name", "status")
                    ),
                    "care_tasks": sorted(
                        CareTask.objects.values_list("customer__name", "kind", "status")
                    ),
                }
            )
    except _Rollback as done:
        return done.args[0]
    raise AssertionError("unreachable")


def test_same_seed_gives_the_same_customers_tickets_work_orders_and_care_tasks(db):
    first = _seeded_data(11)
    assert first["tickets"] and first["work_orders"] and first["care_tasks"]
    assert Customer.objects.count() == 0  # rolled back
    again = _seeded_data(11)
    assert again == first
    other = _seeded_data(12)
    assert other["customers"] != first["customers"]
    assert other["tickets"] != first["tickets"]
