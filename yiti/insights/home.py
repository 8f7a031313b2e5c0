"""Each role's home page: "what needs me now", as counts that link to the filtered lists.

Every count is read through the same selector and filter as the list it links to (or the
same conditions on the same rows), so the number on the home page is the number of rows the
list shows. Each section costs a fixed number of aggregate queries whatever the size of the
book: grouped counts, never a query per customer, ticket or campaign. A user with several
roles sees the sections of each; a section is ``None`` when the user's roles do not call
for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from yiti.campaigns.choices import (
    CONTACTED_STATUSES,
    BenefitKind,
    CampaignStatus,
    ConflictStatus,
    ReservationStatus,
    WaveChannel,
    WaveStatus,
)
from yiti.campaigns.models import (
    Campaign,
    ChecklistItem,
    Conflict,
    Delivery,
    OfferReservation,
    Wave,
)
from yiti.campaigns.selectors import call_list
from yiti.care.choices import Bucket
from yiti.care.models import CareTask
from yiti.care.rules import WORK_ROLES as CARE_WORK_ROLES
from yiti.care.rules import can_use_queue, queue_own_only
from yiti.care.selectors import CareTaskFilters, care_queue, queue_counts
from yiti.care.watch import QUIET_KIND, QUIET_REPEAT_DAYS
from yiti.customers.choices import CustomerStatus, ValueTier
from yiti.customers.models import Customer, Order, Product
from yiti.customers.selectors import CustomerFilters, customer_list
from yiti.decisions.selectors import value_settings_current
from yiti.engagement.models import ContactPolicyRule
from yiti.org.access import Access, access_for
from yiti.org.choices import Role
from yiti.org.models import Membership, Notification, OrgUnit, User
from yiti.org.roles import CHECKLIST_SIGNERS, Perm
from yiti.service.choices import OPEN_STATUSES, SlaState, TicketKind, TicketStatus
from yiti.service.dispatch.choices import WorkOrderStatus
from yiti.service.dispatch.selectors import WorkOrderFilters, tasks_count, work_order_list
from yiti.service.models import BusinessCalendar, Ticket
from yiti.service.selectors import tickets_for_orders_sold_by

QUIET_DAYS = 30  # "my customers not contacted for 30 days"
LIST_LIMIT = 5  # rows shown under a count ("the ones about to breach")
TABLE_LIMIT = 12  # rows of a per-unit or per-campaign table
# the SLA states of an open ticket, in the order the home page shows them
SLA_ORDER = (SlaState.BREACHED, SlaState.WARNING, SlaState.OK, SlaState.PAUSED, SlaState.NONE)
CARE_BUCKETS = (Bucket.OVERDUE, Bucket.DUE_TODAY, Bucket.ESCALATED)
MANAGER_ROLES = frozenset({Role.REGION_MANAGER, Role.ADMIN})


def link(name: str, *args: Any, **query: Any) -> str:
    """The URL of a list with its filters (``None`` and empty values left out)."""
    url = reverse(name, args=args)
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


@dataclass(frozen=True)
class Tile:
    """One count on the home page and the list that shows exactly those rows."""

    key: str
    n: int
    url: str
    alert: bool = False  # worth the reader's attention now (overdue, breached, …)
    label: Any = ""  # a choice's label where the key is one (an SLA state, a bucket, …)


# --- the first-run checklist (administration's, read here: insights may not import it) ----------


def first_run_pending() -> bool:
    """Whether the company is not set up yet: the same existence checks as the first-run
    checklist of ``administration.selectors.checklist`` (a test keeps them equal)."""
    if OrgUnit.objects.filter(active=True).count() <= 1:
        return True
    people = Membership.objects.current().filter(user__is_active=True, user__is_superuser=False)
    if not people.exists():
        return True
    checks: list[QuerySet[Any]] = [
        Product.objects.all(),
        Customer.objects.exclude(status=CustomerStatus.MERGED),
        Order.objects.all(),
        ContactPolicyRule.objects.all(),
        BusinessCalendar.objects.all(),
    ]
    return not all(qs.exists() for qs in checks)


# --- service agent ---------------------------------------------------------------------------


@dataclass
class QueueRow:
    """The open tickets assigned to the user in one unit's queue, by SLA state."""

    unit_id: int
    unit: str
    total: Tile
    states: dict[str, Tile]

    @property
    def ordered(self) -> list[Tile]:
        """The states that have tickets, worst first."""
        return [self.states[s] for s in SLA_ORDER if s in self.states]


@dataclass
class ServiceHome:
    mine: list[QueueRow]
    breaching: list[Ticket]  # warning: about to breach, soonest first
    breaching_total: int
    new_in_queue: list[tuple[str, Tile]]  # (unit name, tickets not yet taken)

    @property
    def empty(self) -> bool:
        return not self.mine and not any(t.n for _u, t in self.new_in_queue)


def _my_open_tickets(access: Access) -> QuerySet[Ticket]:
    """Open tickets assigned to the user in the queues he may open (``service.selectors.queue``
    answers for exactly these units)."""
    qs = Ticket.objects.filter(assignee_id=access.user_id, status__in=OPEN_STATUSES)
    return qs if access.is_admin else qs.filter(unit_id__in=access.unit_ids)


def service_home(access: Access, memberships: list[Membership]) -> ServiceHome:
    rows: dict[int, QueueRow] = {}
    grouped = (
        _my_open_tickets(access)
        .values("unit_id", "unit__name", "sla_state")
        .annotate(n=Count("id"))
        .order_by("unit__path", "sla_state")
    )
    for g in grouped:
        unit_id = g["unit_id"]
        row = rows.get(unit_id)
        if row is None:
            row = rows[unit_id] = QueueRow(
                unit_id,
                g["unit__name"],
                Tile("total", 0, link("service:queue", unit_id, mine=1)),
                {},
            )
        state = g["sla_state"]
        row.states[state] = Tile(
            state,
            g["n"],
            link("service:queue", unit_id, mine=1, sla_state=state),
            alert=state in (SlaState.BREACHED, SlaState.WARNING),
            label=SlaState(state).label if state in SlaState.values else state,
        )
        row.total = Tile("total", row.total.n + g["n"], row.total.url)
    warning = _my_open_tickets(access).filter(sla_state=SlaState.WARNING)
    breaching = list(
        warning.select_related("customer", "unit").order_by(
            F("resolution_due_at").asc(nulls_last=True), "id"
        )[:LIST_LIMIT]
    )
    breaching_total = sum(
        r.states[SlaState.WARNING].n for r in rows.values() if SlaState.WARNING in r.states
    )
    agent_units = {m.unit_id: m.unit.name for m in memberships if m.role == Role.SERVICE_AGENT}
    waiting = dict(
        Ticket.objects.filter(unit_id__in=list(agent_units), status=TicketStatus.NEW)
        .values_list("unit_id")
        .annotate(n=Count("id"))
        .values_list("unit_id", "n")
    )
    new_in_queue = [
        (name, Tile("new", waiting.get(unit_id, 0), link("service:queue", unit_id, status="new")))
        for unit_id, name in agent_units.items()
    ]
    return ServiceHome(list(rows.values()), breaching, breaching_total, new_in_queue)


# --- care agent ------------------------------------------------------------------------------


@dataclass
class CareHome:
    team: list[Tile]  # every visible care call, by bucket (a care agent's queue)
    mine: list[Tile]  # the calls assigned to the user
    next_calls: list[CareTask]  # overdue first, then due today
    own_only: bool  # an account manager: only the calls assigned to him

    @property
    def empty(self) -> bool:
        return not any(t.n for t in [*self.team, *self.mine])


def _care_tiles(counts: dict[str, int], **query: Any) -> list[Tile]:
    return [
        Tile(
            b.value,
            counts.get(b.value, 0),
            link("care:queue", bucket=b.value, **query),
            alert=b in (Bucket.OVERDUE, Bucket.ESCALATED),
            label=b.label,
        )
        for b in CARE_BUCKETS
    ]


def care_home(user: Any, access: Access, now: datetime) -> CareHome:
    own_only = queue_own_only(access)
    mine = queue_counts(user, CareTaskFilters(assignee="me"), now=now)
    team = {} if own_only else queue_counts(user, CareTaskFilters(), now=now)
    due = care_queue(
        user, CareTaskFilters(bucket=Bucket.OPEN, assignee="me" if own_only else ""), now=now
    ).filter(due_at__lt=_end_of_day(now))
    return CareHome(
        team=[] if own_only else _care_tiles(team),
        mine=_care_tiles(mine, assignee="me"),
        next_calls=list(due[:LIST_LIMIT]),
        own_only=own_only,
    )


def _end_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


# --- account manager -------------------------------------------------------------------------


@dataclass
class AccountHome:
    quiet: Tile  # my customers not contacted for QUIET_DAYS days
    quiet_longest: list[Customer]
    at_risk: Tile  # my most valuable customers whose churn risk passed the threshold
    churn_threshold: float
    calls: Tile  # calls and visits of running campaigns on my list
    call_count: int
    visit_count: int
    orders: Tile  # my orders whose processing ticket is still open
    care: list[Tile]  # care calls assigned to me (retention calls)
    quiet_days: int = QUIET_DAYS

    @property
    def empty(self) -> bool:
        return not any(t.n for t in [self.quiet, self.at_risk, self.calls, self.orders, *self.care])


def quiet_filters(user_id: int | None, now: datetime, days: int = QUIET_DAYS) -> CustomerFilters:
    return CustomerFilters(
        owner_id=user_id, no_contact_days=days, no_contact_since=now - timedelta(days=days)
    )


def at_risk_filters(user_id: int | None, threshold: float) -> CustomerFilters:
    return CustomerFilters(owner_id=user_id, tier=ValueTier.MVC, churn_min=threshold)


def account_home(user: Any, access: Access, now: datetime) -> AccountHome:
    me = access.user_id
    quiet = customer_list(user, quiet_filters(me, now))
    threshold = float(value_settings_current().churn_threshold)
    at_risk = customer_list(user, at_risk_filters(me, threshold))
    by_channel = dict(
        call_list(user, mine_only=True)
        .order_by()
        .values_list("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    calls, visits = by_channel.get(WaveChannel.CALL, 0), by_channel.get(WaveChannel.VISIT, 0)
    care = (
        _care_tiles(queue_counts(user, CareTaskFilters(assignee="me"), now=now), assignee="me")
        if queue_own_only(access) and can_use_queue(access)
        else []
    )
    return AccountHome(
        quiet=Tile("quiet", quiet.count(), link("customers:list", owner=me, quiet=QUIET_DAYS)),
        quiet_longest=list(
            quiet.order_by(F("last_contact_at").asc(nulls_first=True), "id")[:LIST_LIMIT]
        ),
        at_risk=Tile(
            "at_risk",
            at_risk.count(),
            link("customers:list", owner=me, tier=ValueTier.MVC, churn_min=threshold),
            alert=True,
        ),
        churn_threshold=threshold,
        calls=Tile("calls", calls + visits, link("campaigns:calls")),
        call_count=calls,
        visit_count=visits,
        orders=Tile(
            "orders",
            tickets_for_orders_sold_by(user, open_only=True).count(),
            link("service:my_orders", status="open"),
        ),
        care=care,
    )


# --- campaign manager ------------------------------------------------------------------------


@dataclass
class Blocked:
    """One of my campaigns that cannot launch yet, and what stands in the way."""

    campaign: Campaign
    unsigned: int
    conflicts: int
    waves: int

    @property
    def reasons(self) -> int:
        return (
            self.unsigned
            + self.conflicts
            + (self.waves == 0)
            + (self.campaign.status == CampaignStatus.DRAFT)
        )


@dataclass
class Pressure:
    """A running or paused campaign's complaints per 1,000 contacts against its threshold."""

    campaign: Campaign
    complaints: int
    contacts: int

    @property
    def per_mille(self) -> float | None:
        return self.complaints * 1000 / self.contacts if self.contacts else None

    @property
    def counted(self) -> bool:
        """Whether the automatic pause counts complaints yet (enough contacts made)."""
        return self.contacts >= max(1, self.campaign.complaint_min_contacts)

    @property
    def share_of_threshold(self) -> float | None:
        threshold = float(self.campaign.complaint_threshold)
        if self.per_mille is None or threshold <= 0:
            return None
        return self.per_mille / threshold

    @property
    def above(self) -> bool:
        return self.per_mille is not None and self.per_mille > float(
            self.campaign.complaint_threshold
        )

    @property
    def near(self) -> bool:
        share = self.share_of_threshold
        return share is not None and share >= 0.8


@dataclass
class CampaignHome:
    by_status: list[Tile]
    blocked: list[Blocked]
    waves_today: list[Wave]
    pressure: list[Pressure]

    @property
    def empty(self) -> bool:
        return not any(t.n for t in self.by_status) and not self.waves_today


def _count(qs: QuerySet[Any]) -> Subquery:
    """``COUNT(*)`` of a correlated queryset, as a scalar subquery (no GROUP BY: one row)."""
    return Subquery(
        qs.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1],
        output_field=IntegerField(),
    )


def _sum(qs: QuerySet[Any], column: str) -> Subquery:
    """``SUM(column)`` of a correlated queryset, as a scalar subquery (NULL without rows)."""
    return Subquery(
        qs.order_by().annotate(total=Func(F(column), function="SUM")).values("total")[:1],
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


def campaign_home(access: Access, now: datetime) -> CampaignHome:
    mine = Campaign.objects.filter(owner_id=access.user_id)
    counts = dict(mine.order_by().values_list("status").annotate(n=Count("id")))
    by_status = [
        Tile(
            s.value,
            counts.get(s.value, 0),
            link("campaigns:list", status=s.value, mine=1),
            alert=s == CampaignStatus.PAUSED,
            label=s.label,
        )
        for s in CampaignStatus
    ]
    pending = (
        mine.filter(
            status__in=[CampaignStatus.DRAFT, CampaignStatus.IN_REVIEW, CampaignStatus.READY]
        )
        .annotate(
            unsigned_n=Coalesce(
                _count(
                    ChecklistItem.objects.filter(campaign_id=OuterRef("pk"), signed_at__isnull=True)
                ),
                0,
            ),
            conflicts_n=Coalesce(
                _count(
                    Conflict.objects.filter(
                        Q(campaign_id=OuterRef("pk")) | Q(other_id=OuterRef("pk")),
                        status=ConflictStatus.OPEN,
                    )
                ),
                0,
            ),
            waves_n=Coalesce(_count(Wave.objects.filter(campaign_id=OuterRef("pk"))), 0),
        )
        .order_by("starts_on", "id")[:TABLE_LIMIT]
    )
    blocked = [
        Blocked(c, c.unsigned_n, c.conflicts_n, c.waves_n)
        for c in pending
        if c.unsigned_n or c.conflicts_n or not c.waves_n or c.status == CampaignStatus.DRAFT
    ]
    start = _end_of_day(now) - timedelta(days=1)
    waves_today = list(
        Wave.objects.filter(
            campaign__owner_id=access.user_id,
            scheduled_at__gte=start,
            scheduled_at__lt=start + timedelta(days=1),
        )
        .exclude(status=WaveStatus.CANCELLED)
        .select_related("campaign")
        .order_by("scheduled_at", "id")[:TABLE_LIMIT]
    )
    live = (
        mine.filter(status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED])
        .annotate(
            contacts_n=Coalesce(
                _count(
                    Delivery.objects.filter(
                        campaign_id=OuterRef("pk"), status__in=CONTACTED_STATUSES
                    )
                ),
                0,
            ),
            complaints_n=Coalesce(
                _count(
                    Ticket.objects.filter(
                        campaign_id=OuterRef("pk"),
                        kind=TicketKind.COMPLAINT,
                        opened_at__gte=OuterRef("launched_at"),
                    )
                ),
                0,
            ),
        )
        .order_by("-launched_at", "-id")[:TABLE_LIMIT]
    )
    pressure = [Pressure(c, c.complaints_n, c.contacts_n) for c in live]
    pressure.sort(key=lambda p: -(p.share_of_threshold or 0))
    return CampaignHome(by_status, blocked, waves_today, pressure)


# --- launch-checklist lines waiting for my signature (service, branches, finance, marketing) --


@dataclass
class SignRow:
    campaign_id: int
    campaign: str
    n: int


def signatures_waiting(access: Access, memberships: list[Membership]) -> list[SignRow]:
    """Unsigned checklist lines of campaigns in review that the user may sign: a role that
    signs the line's kind, held in the line's unit or a unit above it (``campaigns.rules``)."""
    if access.is_admin or not access.has(Perm.CAMPAIGN_SIGN):
        return []
    q = Q()
    for m in memberships:
        kinds = [k for k, roles in CHECKLIST_SIGNERS.items() if m.role in roles]
        if kinds:
            q |= Q(kind__in=kinds, unit__path__startswith=m.unit.path)
    if not q:
        return []
    rows = (
        ChecklistItem.objects.filter(
            q, signed_at__isnull=True, campaign__status=CampaignStatus.IN_REVIEW
        )
        .values("campaign_id", "campaign__name")
        .annotate(n=Count("id"))
        .order_by("campaign_id")[:TABLE_LIMIT]
    )
    return [SignRow(r["campaign_id"], r["campaign__name"], r["n"]) for r in rows]


# --- finance ---------------------------------------------------------------------------------


@dataclass
class CampaignCost:
    campaign: Campaign
    gifts: int
    gift_cost: Decimal
    contacts: int


@dataclass
class FinanceHome:
    budgets: Tile
    budget_total: Decimal
    claims: Tile
    claim_total: Decimal
    costs: list[CampaignCost]

    @property
    def empty(self) -> bool:
        return not self.budgets.n and not self.claims.n and not self.costs


def finance_home(user: Any) -> FinanceHome:
    def waiting(status: str) -> WorkOrderFilters:
        return WorkOrderFilters(view="open", status=status)

    budget_f, claim_f = (
        waiting(WorkOrderStatus.BUDGET_APPROVAL),
        waiting(WorkOrderStatus.REIMBURSEMENT),
    )
    budget = work_order_list(user, budget_f).aggregate(n=Count("id"), total=Sum("budget_total"))
    claim = work_order_list(user, claim_f).aggregate(n=Count("id"), total=Sum("expense_total"))
    held = OfferReservation.objects.filter(
        delivery__campaign_id=OuterRef("pk"),
        offer__benefit=BenefitKind.GIFT,
        status__in=[ReservationStatus.RESERVED, ReservationStatus.FULFILLED],
    )
    live = (
        Campaign.objects.filter(status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED])
        .annotate(
            gifts_n=Coalesce(_count(held), 0),
            gift_cost=Coalesce(_sum(held, "offer__benefit_value"), Value(Decimal("0"))),
            contacts_n=Coalesce(
                _count(
                    Delivery.objects.filter(
                        campaign_id=OuterRef("pk"), status__in=CONTACTED_STATUSES
                    )
                ),
                0,
            ),
        )
        .order_by("-launched_at", "-id")[:TABLE_LIMIT]
    )
    return FinanceHome(
        budgets=Tile(
            "budgets",
            budget["n"],
            link("dispatch:list", view="open", status=WorkOrderStatus.BUDGET_APPROVAL),
        ),
        budget_total=budget["total"] or Decimal("0"),
        claims=Tile(
            "claims",
            claim["n"],
            link("dispatch:list", view="open", status=WorkOrderStatus.REIMBURSEMENT),
        ),
        claim_total=claim["total"] or Decimal("0"),
        costs=[CampaignCost(c, c.gifts_n, Decimal(c.gift_cost), c.contacts_n) for c in live],
    )


# --- region manager and administrator: a summary of the units, the cockpit for the rest -----


@dataclass
class UnitSla:
    unit: str
    breached: Tile
    warning: Tile


@dataclass
class ManagerHome:
    units: list[UnitSla]  # queues with tickets breached or about to breach, worst first
    care: list[Tile]  # every care call in the region, by bucket
    running: Tile  # campaigns running now

    @property
    def empty(self) -> bool:
        return not self.units and not any(t.n for t in self.care)


def manager_home(user: Any, access: Access, now: datetime) -> ManagerHome:
    qs = Ticket.objects.filter(
        status__in=OPEN_STATUSES, sla_state__in=[SlaState.BREACHED, SlaState.WARNING]
    )
    if not access.is_admin:
        qs = qs.filter(unit_id__in=access.unit_ids)
    rows = (
        qs.values("unit_id", "unit__name")
        .annotate(
            breached=Count("id", filter=Q(sla_state=SlaState.BREACHED)),
            warning=Count("id", filter=Q(sla_state=SlaState.WARNING)),
        )
        .order_by("-breached", "-warning", "unit__name")[:TABLE_LIMIT]
    )
    units = [
        UnitSla(
            r["unit__name"],
            Tile(
                "breached",
                r["breached"],
                link("service:queue", r["unit_id"], sla_state=SlaState.BREACHED),
                alert=bool(r["breached"]),
            ),
            Tile(
                "warning",
                r["warning"],
                link("service:queue", r["unit_id"], sla_state=SlaState.WARNING),
            ),
        )
        for r in rows
    ]
    care = _care_tiles(queue_counts(user, CareTaskFilters(), now=now))
    running = Campaign.objects.filter(status=CampaignStatus.RUNNING).count()
    return ManagerHome(
        units,
        care,
        Tile("running", running, link("campaigns:list", status=CampaignStatus.RUNNING)),
    )


# --- analyst ---------------------------------------------------------------------------------


@dataclass
class AnalystHome:
    campaigns: list[Tile]  # every campaign, by status


def analyst_home() -> AnalystHome:
    counts = dict(Campaign.objects.order_by().values_list("status").annotate(n=Count("id")))
    return AnalystHome(
        [
            Tile(
                s.value,
                counts.get(s.value, 0),
                link("campaigns:list", status=s.value),
                label=s.label,
            )
            for s in (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED)
        ]
    )


# --- alerts: account managers whose customers have gone quiet (care.watch) -------------------


def quiet_alerts(access: Access, now: datetime) -> list[Notification]:
    """The quiet-customer alerts the user received lately (region managers, care centres)."""
    return list(
        Notification.objects.filter(
            user_id=access.user_id or 0,
            kind__startswith=f"{QUIET_KIND}:",
            created_at__gte=now - timedelta(days=QUIET_REPEAT_DAYS),
        ).order_by("-created_at", "-id")[:LIST_LIMIT]
    )


# --- the page --------------------------------------------------------------------------------


@dataclass
class Home:
    roles: frozenset[str]
    now: datetime
    service: ServiceHome | None = None
    care: CareHome | None = None
    account: AccountHome | None = None
    campaigns: CampaignHome | None = None
    signatures: list[SignRow] = field(default_factory=list)
    finance: FinanceHome | None = None
    manager: ManagerHome | None = None
    analyst: AnalystHome | None = None
    field_tasks: Tile | None = None
    alerts: list[Notification] = field(default_factory=list)

    @property
    def cockpit(self) -> bool:
        """Region managers, analysts and administrators have the management cockpit."""
        return bool(self.roles & {Role.REGION_MANAGER, Role.ANALYST, Role.ADMIN})

    @property
    def sections(self) -> int:
        return sum(
            part is not None
            for part in (
                self.service,
                self.care,
                self.account,
                self.campaigns,
                self.finance,
                self.manager,
                self.analyst,
                self.field_tasks,
            )
        )


def home_for(user: User | Any, *, now: datetime | None = None) -> Home:
    """Every section the user's roles call for."""
    now = now or timezone.now()
    access = access_for(user)
    roles = access.roles
    memberships = list(
        Membership.objects.current().filter(user_id=access.user_id or 0).select_related("unit")
    )
    home = Home(roles=roles, now=now)
    if Role.SERVICE_AGENT in roles:
        home.service = service_home(access, memberships)
    if roles & CARE_WORK_ROLES - MANAGER_ROLES:
        home.care = care_home(user, access, now)
    if Role.ACCOUNT_MANAGER in roles:
        home.account = account_home(user, access, now)
    if Role.CAMPAIGN_MANAGER in roles:
        home.campaigns = campaign_home(access, now)
    home.signatures = signatures_waiting(access, memberships)
    if Role.FINANCE in roles:
        home.finance = finance_home(user)
    if roles & MANAGER_ROLES:
        home.manager = manager_home(user, access, now)
    if Role.ANALYST in roles:
        home.analyst = analyst_home()
    if Role.FIELD_ENGINEER in roles:
        home.field_tasks = Tile("field", tasks_count(user), link("dispatch:list"))
    home.alerts = quiet_alerts(access, now)
    return home
