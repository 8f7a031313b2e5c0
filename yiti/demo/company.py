"""The demo company: org tree, one user per role (and more account managers), the catalogue.

Everything here is a handful of rows, so it is written through the org and customers
services (audited like any other change). ``company_build`` creates the company once;
``company_load`` reads it back, so seeding more customers into a demo reuses it.

Demo logins (every one with the password ``DEMO_PASSWORD``, ``yiti-demo-2026``):

    admin                       administrator, 总公司
    rm_east rm_north rm_south   region managers of 华东片区 / 华北片区 / 华南片区
    am_<branch>1, am_<branch>2  account managers of each branch (hz nb su bj tj gz sz dg)
    am_leaving                  王建军, Hangzhou account manager who is leaving (scenario 3):
                                his customers have had no contact for 6+ weeks
    partner_east                account manager of the partner unit 华东代理商
    svc_* care_* eng_*          service agent / care agent / field engineer per region, members
                                of 客户服务中心 / 回访中心 / 售后服务部 and of the region's branches
    cm analyst                  campaign manager and analyst, 市场部
    fin                         finance, 财务部

Big seeds add more account managers per branch (am_hz3 …, about one per 4,000 customers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from faker import Faker

from yiti.customers.choices import ProductCategory
from yiti.customers.models import Product
from yiti.customers.services import product_create
from yiti.org.choices import Role, UnitKind
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.services import membership_grant, unit_create, user_create

DEMO_PASSWORD = "yiti-demo-2026"  # noqa: S105 - documented demo login, printed on start
COMPANY_CODE = "hq"
LEAVING_USERNAME = "am_leaving"


@dataclass(frozen=True)
class BranchPlan:
    code: str
    name: str
    region: str
    city: str
    districts: tuple[str, ...]
    weight: float  # share of the customers
    kind: str = UnitKind.BRANCH


REGIONS = (("east", "华东片区"), ("north", "华北片区"), ("south", "华南片区"))

BRANCHES = (
    BranchPlan(
        "hz",
        "杭州分公司",
        "east",
        "杭州",
        ("西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区"),
        0.16,
    ),
    BranchPlan("nb", "宁波分公司", "east", "宁波", ("海曙区", "江北区", "鄞州区", "北仑区"), 0.09),
    BranchPlan(
        "su", "苏州分公司", "east", "苏州", ("姑苏区", "吴中区", "相城区", "工业园区"), 0.11
    ),
    BranchPlan(
        "bj",
        "北京分公司",
        "north",
        "北京",
        ("朝阳区", "海淀区", "东城区", "西城区", "丰台区"),
        0.18,
    ),
    BranchPlan(
        "tj", "天津分公司", "north", "天津", ("和平区", "河西区", "南开区", "滨海新区"), 0.08
    ),
    BranchPlan("gz", "广州分公司", "south", "广州", ("天河区", "越秀区", "海珠区", "番禺区"), 0.14),
    BranchPlan(
        "sz",
        "深圳分公司",
        "south",
        "深圳",
        ("福田区", "南山区", "罗湖区", "宝安区", "龙岗区"),
        0.15,
    ),
    BranchPlan(
        "dg", "东莞分公司", "south", "东莞", ("南城街道", "东城街道", "松山湖", "长安镇"), 0.07
    ),
    BranchPlan(
        "agent_east",
        "华东代理商",
        "east",
        "杭州",
        ("西湖区", "拱墅区"),
        0.02,
        kind=UnitKind.PARTNER,
    ),
)

# Departments named in the seeds; all hang under the company.
DEPARTMENTS = (
    ("mkt", "市场部"),
    ("csc", "客户服务中心"),
    ("care", "回访中心"),
    ("aftersales", "售后服务部"),
    ("finance", "财务部"),
)


@dataclass(frozen=True)
class ProductPlan:
    code: str
    name: str
    category: str
    price: str
    margin_rate: str
    weight: float  # share of orders


PRODUCTS = (
    ProductPlan(
        "plan-4g-58", "4G畅享套餐 58元", ProductCategory.MOBILE_PLAN, "58.00", "0.3500", 0.10
    ),
    ProductPlan(
        "plan-4g-88", "4G畅享套餐 88元", ProductCategory.MOBILE_PLAN, "88.00", "0.3800", 0.08
    ),
    ProductPlan(
        "plan-5g-129", "5G智享套餐 129元", ProductCategory.MOBILE_PLAN, "129.00", "0.4200", 0.12
    ),
    ProductPlan(
        "plan-5g-199", "5G智享套餐 199元", ProductCategory.MOBILE_PLAN, "199.00", "0.4500", 0.07
    ),
    ProductPlan(
        "plan-5g-299", "5G尊享套餐 299元", ProductCategory.MOBILE_PLAN, "299.00", "0.4800", 0.03
    ),
    ProductPlan("bb-100m", "宽带 100M 包年", ProductCategory.BROADBAND, "600.00", "0.4000", 0.08),
    ProductPlan("bb-300m", "宽带 300M 包年", ProductCategory.BROADBAND, "960.00", "0.4300", 0.09),
    ProductPlan(
        "bb-1000m", "宽带 1000M 包年", ProductCategory.BROADBAND, "1680.00", "0.4600", 0.05
    ),
    ProductPlan(
        "dev-phone-mid", "5G手机（中端）", ProductCategory.DEVICE, "2499.00", "0.0800", 0.04
    ),
    ProductPlan(
        "dev-phone-flag", "5G手机（旗舰）", ProductCategory.DEVICE, "5999.00", "0.0600", 0.02
    ),
    ProductPlan("dev-router", "千兆路由器", ProductCategory.DEVICE, "299.00", "0.2500", 0.05),
    ProductPlan("dev-ont", "光猫", ProductCategory.DEVICE, "199.00", "0.2000", 0.04),
    ProductPlan("vas-video", "视频会员 月包", ProductCategory.VALUE_ADDED, "25.00", "0.5000", 0.10),
    ProductPlan(
        "vas-cloud", "云盘 200G 月包", ProductCategory.VALUE_ADDED, "10.00", "0.6000", 0.06
    ),
    ProductPlan("vas-ringtone", "彩铃 月包", ProductCategory.VALUE_ADDED, "5.00", "0.7000", 0.07),
)


@dataclass(frozen=True)
class Login:
    username: str
    role: str
    unit: str
    display_name: str


@dataclass
class Company:
    """Ids the customer generator needs, loaded once."""

    company: OrgUnit
    units: dict[str, OrgUnit]
    branches: list[BranchPlan]
    account_managers: dict[str, list[int]]  # branch code -> user ids (without the leaver)
    leaving_id: int
    staff: dict[tuple[str, str], int]  # (role, region code) -> user id for service/care/eng
    products: list[Product]
    logins: list[Login] = field(default_factory=list)


def _display_names(seed: int, count: int) -> list[str]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed + 101)
    return [fake.name() for _ in range(count)]


def _account_managers_per_branch(customers_hint: int, weight: float) -> int:
    """Two named account managers per branch; more for big books (~4,000 each, at most 40)."""
    return max(2, min(40, round(customers_hint * weight / 4000)))


@transaction.atomic
def company_build(*, seed: int, customers_hint: int) -> Company:
    company = unit_create(name="总公司", code=COMPANY_CODE, kind=UnitKind.COMPANY)
    units: dict[str, OrgUnit] = {COMPANY_CODE: company}
    for code, name in REGIONS:
        units[code] = unit_create(name=name, code=code, kind=UnitKind.REGION, parent=company)
    for branch in BRANCHES:
        units[branch.code] = unit_create(
            name=branch.name, code=branch.code, kind=branch.kind, parent=units[branch.region]
        )
    for code, name in DEPARTMENTS:
        units[code] = unit_create(name=name, code=code, kind=UnitKind.DEPARTMENT, parent=company)

    # (username, role, [unit codes]); front-line staff of a region also hold the role in its
    # branches so that they see those customers (unit roles see their units' customers).
    plan: list[tuple[str, str, list[str]]] = [("admin", Role.ADMIN, [COMPANY_CODE])]
    for code, _name in REGIONS:
        region_branches = [b.code for b in BRANCHES if b.region == code]
        plan += [
            (f"rm_{code}", Role.REGION_MANAGER, [code]),
            (f"svc_{code}", Role.SERVICE_AGENT, ["csc", *region_branches]),
            (f"care_{code}", Role.CARE_AGENT, ["care", *region_branches]),
            (f"eng_{code}", Role.FIELD_ENGINEER, ["aftersales", *region_branches]),
        ]
    plan += [
        ("cm", Role.CAMPAIGN_MANAGER, ["mkt"]),
        ("analyst", Role.ANALYST, ["mkt"]),
        ("fin", Role.FINANCE, ["finance"]),
    ]
    extra: list[tuple[str, str, list[str]]] = []
    for branch in BRANCHES:
        if branch.kind == UnitKind.PARTNER:
            plan.append((f"partner_{branch.region}", Role.ACCOUNT_MANAGER, [branch.code]))
            continue
        count = _account_managers_per_branch(customers_hint, branch.weight)
        for i in range(1, count + 1):
            row = (f"am_{branch.code}{i}", Role.ACCOUNT_MANAGER, [branch.code])
            (plan if i <= 2 else extra).append(row)
    plan.append((LEAVING_USERNAME, Role.ACCOUNT_MANAGER, ["hz"]))

    everyone = plan + extra
    names = _display_names(seed, len(everyone))
    users: dict[str, User] = {}
    for (username, role, unit_codes), display in zip(everyone, names, strict=True):
        if username == LEAVING_USERNAME:
            display = "王建军"
        user = user_create(
            username=username,
            password=None,
            display_name=display,
            email=f"{username}@demo.yiti.local",
            is_superuser=role == Role.ADMIN,
        )
        for code in unit_codes:
            membership_grant(user=user, unit=units[code], role=role)
        users[username] = user
    # One hash for every demo login: argon2 costs ~0.1 s a hash and they share the password.
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(
        password=make_password(DEMO_PASSWORD)
    )

    for p in PRODUCTS:
        product_create(
            actor=None,
            code=p.code,
            name=p.name,
            category=p.category,
            price=Decimal(p.price),
            margin_rate=Decimal(p.margin_rate),
        )
    return company_load()


def company_load() -> Company:
    """The demo company as it is in the database (after ``company_build``)."""
    units = {u.code: u for u in OrgUnit.objects.all()}
    company = units[COMPANY_CODE]
    leaving = User.objects.get(username=LEAVING_USERNAME)
    account_managers: dict[str, list[int]] = {b.code: [] for b in BRANCHES}
    by_unit_id = {u.pk: code for code, u in units.items()}
    for user_id, unit_id in (
        Membership.objects.filter(role=Role.ACCOUNT_MANAGER)
        .order_by("user__username")
        .values_list("user_id", "unit_id")
    ):
        code = by_unit_id.get(unit_id)
        if code in account_managers and user_id != leaving.pk:
            account_managers[code].append(user_id)
    staff: dict[tuple[str, str], int] = {}
    for role in (Role.SERVICE_AGENT, Role.CARE_AGENT, Role.FIELD_ENGINEER):
        for user_id, unit_id in Membership.objects.filter(role=role).values_list(
            "user_id", "unit_id"
        ):
            code = by_unit_id.get(unit_id)
            for branch in BRANCHES:
                if branch.code == code:
                    staff.setdefault((role, branch.region), user_id)
    products = list(Product.objects.filter(code__in=[p.code for p in PRODUCTS]).order_by("code"))
    return Company(
        company=company,
        units=units,
        branches=list(BRANCHES),
        account_managers=account_managers,
        leaving_id=leaving.pk,
        staff=staff,
        products=products,
        logins=logins_load(),
    )


def company_exists() -> bool:
    return OrgUnit.objects.filter(code=COMPANY_CODE).exists()


def logins_load() -> list[Login]:
    """The demo logins (one or two per role) as they are in the database."""
    rows = Membership.objects.select_related("user", "unit").order_by("user__username", "id")
    seen: dict[str, Login] = {}
    units: dict[str, list[str]] = {}
    for m in rows:
        units.setdefault(m.user.username, []).append(m.unit.name)
        if m.user.username not in seen:
            seen[m.user.username] = Login(
                m.user.username, str(Role(m.role).label), "", m.user.display_name
            )
    for username, login in list(seen.items()):
        names = units[username]
        where = names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"
        seen[username] = Login(login.username, login.role, where, login.display_name)
    order = {role.value: i for i, role in enumerate(Role)}
    role_of = {str(Role(r).label): r for r in Role.values}

    def named(login: Login) -> bool:
        # am_hz3 and beyond are extra account managers for big books; keep the table short.
        stem = login.username.rstrip("0123456789")
        number = login.username[len(stem) :]
        return not (stem.startswith("am_") and number and int(number) > 2)

    logins = [login for login in seen.values() if named(login)]
    return sorted(logins, key=lambda lg: (order.get(role_of.get(lg.role, ""), 99), lg.username))


def logins_table(logins: list[Login]) -> str:
    """A plain-text table of the demo logins, all with ``DEMO_PASSWORD``."""
    head = ("username", "role", "unit", "name")
    rows = [(lg.username, lg.role, lg.unit, lg.display_name) for lg in logins]
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = [
        "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"password for every demo login: {DEMO_PASSWORD}")
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
