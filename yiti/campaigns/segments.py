"""The segment rule language: saved rules over customers, compiled to one SQL filter.

A rule is JSON::

    {"match": "all",            # or "any"
     "conditions": [
        {"field": "holds_category", "op": "any", "value": ["broadband"]},
        {"field": "order_count", "op": "gte", "value": 2, "days": 365},
        {"field": "value_tier", "op": "in", "value": ["mvc", "mgc"]},
        {"field": "consent", "op": "any", "value": ["sms", "email"]}]}

Each condition becomes a ``Q`` on ``Customer``: a column test, or ``pk IN (SELECT customer_id
…)`` over orders, value scores or consent, so the whole audience is one query that the
database answers set-based — counting a million customers is one ``COUNT(*)``. An empty rule
matches every active customer. Offers use the same language for their eligibility.

:func:`rules_clean` validates a rule and returns it normalised; errors name the condition
(``conditions.2.value``) and say what is wrong, in the user's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from yiti.core.errors import ValidationFailed
from yiti.customers.choices import (
    Channel,
    CustomerKind,
    CustomerStatus,
    OrderStatus,
    ProductCategory,
    Purpose,
    ValueTier,
)
from yiti.customers.models import ConsentState, Customer, CustomerValue, Order, Product
from yiti.org.models import OrgUnit, User

MAX_CONDITIONS = 30
MAX_LIST = 500
MAX_DAYS = 3650

# value kinds: what the editor shows and the cleaner accepts
CHOICES = "choices"  # a list of codes from options()
TEXTS = "texts"  # a list of free strings (cities, industries)
NUMBER = "number"
WINDOW = "window"  # a number over the last ``days`` days
FLAG = "flag"  # true / false


@dataclass(frozen=True)
class Op:
    code: str
    label: Promise


IN = Op("in", gettext_lazy("is one of"))
NOT_IN = Op("not_in", gettext_lazy("is none of"))
ANY = Op("any", gettext_lazy("any of"))
NONE = Op("none", gettext_lazy("none of"))
GTE = Op("gte", gettext_lazy("at least"))
LTE = Op("lte", gettext_lazy("at most"))
IS = Op("is", gettext_lazy("is"))


@dataclass(frozen=True)
class FieldSpec:
    """One field of the rule language: how it is shown, validated and compiled."""

    name: str
    label: Promise
    group: Promise
    kind: str
    ops: tuple[Op, ...]
    build: Callable[[str, Any, int], Q]
    options: Callable[[], list[tuple[str, str]]] | None = None
    unit: Promise | None = None  # what the number counts (days, yuan, …)

    def op_codes(self) -> list[str]:
        return [op.code for op in self.ops]


def _now_date() -> date:
    return timezone.localdate()


def _not_cancelled() -> QuerySet[Order]:
    return Order.objects.exclude(status=OrderStatus.CANCELLED)


def _ids(qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.order_by().values("customer_id")


def _choice(field: str) -> Callable[[str, Any, int], Q]:
    def build(op: str, value: Any, days: int) -> Q:
        q = Q(**{f"{field}__in": value})
        return q if op == IN.code else ~q

    return build


def _unit_subtree(op: str, value: Any, days: int) -> Q:
    paths = list(OrgUnit.objects.filter(pk__in=value).values_list("path", flat=True))
    inner = Q(pk__in=[])
    for path in paths:
        inner |= Q(path__startswith=path)
    q = Q(unit_id__in=OrgUnit.objects.filter(inner).values("pk"))
    return q if op == IN.code else ~q


def _holds(filter_: Callable[[Any], Q]) -> Callable[[str, Any, int], Q]:
    def build(op: str, value: Any, days: int) -> Q:
        q = Q(pk__in=_ids(_not_cancelled().filter(filter_(value))))
        return q if op == ANY.code else ~q

    return build


def _window(aggregate: str) -> Callable[[str, Any, int], Q]:
    """Orders (count) or spend (sum of amounts) over the last ``days`` days."""

    def build(op: str, value: Any, days: int) -> Q:
        since = timezone.now() - timedelta(days=days)
        metric = Count("id") if aggregate == "count" else Sum("amount")
        grouped = (
            _not_cancelled()
            .filter(ordered_at__gte=since)
            .order_by()
            .values("customer_id")
            .annotate(m=metric)
        )
        if op == GTE.code:
            if value <= 0:  # everyone; an empty Q() would vanish from an "any" rule's OR
                return Q(pk__isnull=False)
            return Q(pk__in=grouped.filter(m__gte=value).values("customer_id"))
        return ~Q(pk__in=grouped.filter(m__gt=value).values("customer_id"))

    return build


def _days_since_order(op: str, value: Any, days: int) -> Q:
    since = timezone.now() - timedelta(days=value)
    recent = Q(pk__in=_ids(_not_cancelled().filter(ordered_at__gte=since)))
    return recent if op == LTE.code else ~recent


def _days_since_contact(op: str, value: Any, days: int) -> Q:
    since = timezone.now() - timedelta(days=value)
    recent = Q(last_contact_at__gte=since)
    return recent if op == LTE.code else ~recent  # never contacted counts as long ago


def _tenure(op: str, value: Any, days: int) -> Q:
    cut = _now_date() - timedelta(days=value)
    return Q(since__lte=cut) if op == GTE.code else Q(since__gt=cut)


def _age(op: str, value: Any, days: int) -> Q:
    today = _now_date()
    try:
        cut = today.replace(year=today.year - int(value))
    except ValueError:  # 29 February
        cut = today.replace(year=today.year - int(value), day=28)
    return Q(birth_date__lte=cut) if op == GTE.code else Q(birth_date__gt=cut)


def _value(field: str, *, choice: bool = False) -> Callable[[str, Any, int], Q]:
    def build(op: str, value: Any, days: int) -> Q:
        if choice:
            q = Q(pk__in=CustomerValue.objects.filter(tier__in=value).values("customer_id"))
            return q if op == IN.code else ~q
        lookup = "gte" if op == GTE.code else "lte"
        scores = CustomerValue.objects.filter(**{f"{field}__{lookup}": value})
        return Q(pk__in=scores.values("customer_id"))

    return build


def _consent(op: str, value: Any, days: int) -> Q:
    granted = ConsentState.objects.filter(
        channel__in=value, purpose=Purpose.MARKETING, granted=True
    )
    q = Q(pk__in=_ids(granted))
    return q if op == ANY.code else ~q


def _has(column: str) -> Callable[[str, Any, int], Q]:
    def build(op: str, value: Any, days: int) -> Q:
        q = ~Q(**{column: ""})
        return q if value else ~q

    return build


def _units() -> list[tuple[str, str]]:
    return [(str(u.pk), str(u)) for u in OrgUnit.objects.order_by("path")]


def _products() -> list[tuple[str, str]]:
    return [(str(p.pk), p.name) for p in Product.objects.filter(active=True).order_by("code")]


def _owners() -> list[tuple[str, str]]:
    qs = User.objects.filter(is_active=True, memberships__role="account_manager").distinct()
    return [(str(u.pk), str(u)) for u in qs.order_by("username")]


def _labels(choices: Sequence[tuple[str, Any]]) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(str(v), str(label)) for v, label in choices]


G_PROFILE = gettext_lazy("Profile")
G_PLACE = gettext_lazy("Territory and owner")
G_HOLDINGS = gettext_lazy("Holdings and orders")
G_VALUE = pgettext_lazy("customer value", "Value")
G_CONTACT = gettext_lazy("Contact and consent")
DAYS = gettext_lazy("days")
YUAN = gettext_lazy("yuan")

FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec(
            "kind",
            gettext_lazy("Customer kind"),
            G_PROFILE,
            CHOICES,
            (IN, NOT_IN),
            _choice("kind"),
            _labels(CustomerKind.choices),
        ),
        FieldSpec("city", gettext_lazy("City"), G_PROFILE, TEXTS, (IN, NOT_IN), _choice("city")),
        FieldSpec(
            "industry",
            gettext_lazy("Industry"),
            G_PROFILE,
            TEXTS,
            (IN, NOT_IN),
            _choice("industry"),
        ),
        FieldSpec(
            "tenure_days",
            gettext_lazy("Customer for (days)"),
            G_PROFILE,
            NUMBER,
            (GTE, LTE),
            _tenure,
            unit=DAYS,
        ),
        FieldSpec("age", gettext_lazy("Age (years)"), G_PROFILE, NUMBER, (GTE, LTE), _age),
        FieldSpec(
            "unit",
            gettext_lazy("Territory / unit (and below)"),
            G_PLACE,
            CHOICES,
            (IN, NOT_IN),
            _unit_subtree,
            _units,
        ),
        FieldSpec(
            "owner",
            gettext_lazy("Account manager"),
            G_PLACE,
            CHOICES,
            (IN, NOT_IN),
            _choice("owner_id"),
            _owners,
        ),
        FieldSpec(
            "holds_product",
            gettext_lazy("Holds product"),
            G_HOLDINGS,
            CHOICES,
            (ANY, NONE),
            _holds(lambda v: Q(product_id__in=v)),
            _products,
        ),
        FieldSpec(
            "holds_category",
            gettext_lazy("Holds product category"),
            G_HOLDINGS,
            CHOICES,
            (ANY, NONE),
            _holds(lambda v: Q(product__category__in=v)),
            _labels(ProductCategory.choices),
        ),
        FieldSpec(
            "order_count",
            gettext_lazy("Orders in the last days"),
            G_HOLDINGS,
            WINDOW,
            (GTE, LTE),
            _window("count"),
        ),
        FieldSpec(
            "spend",
            gettext_lazy("Spend in the last days (yuan)"),
            G_HOLDINGS,
            WINDOW,
            (GTE, LTE),
            _window("sum"),
            unit=YUAN,
        ),
        FieldSpec(
            "days_since_order",
            gettext_lazy("Days since the last order"),
            G_HOLDINGS,
            NUMBER,
            (GTE, LTE),
            _days_since_order,
            unit=DAYS,
        ),
        FieldSpec(
            "value_tier",
            gettext_lazy("Value tier"),
            G_VALUE,
            CHOICES,
            (IN, NOT_IN),
            _value("tier", choice=True),
            _labels(ValueTier.choices),
        ),
        FieldSpec(
            "clv",
            gettext_lazy("Lifetime value (yuan)"),
            G_VALUE,
            NUMBER,
            (GTE, LTE),
            _value("clv"),
            unit=YUAN,
        ),
        FieldSpec(
            "churn_risk",
            gettext_lazy("Churn risk (0–1)"),
            G_VALUE,
            NUMBER,
            (GTE, LTE),
            _value("churn_risk"),
        ),
        FieldSpec(
            "days_since_contact",
            gettext_lazy("Days since the last contact"),
            G_CONTACT,
            NUMBER,
            (GTE, LTE),
            _days_since_contact,
            unit=DAYS,
        ),
        FieldSpec(
            "consent",
            gettext_lazy("Marketing consent on"),
            G_CONTACT,
            CHOICES,
            (ANY, NONE),
            _consent,
            _labels(Channel.choices),
        ),
        FieldSpec(
            "has_email",
            gettext_lazy("Has an e-mail address"),
            G_CONTACT,
            FLAG,
            (IS,),
            _has("primary_email"),
        ),
        FieldSpec(
            "has_phone",
            gettext_lazy("Has a phone number"),
            G_CONTACT,
            FLAG,
            (IS,),
            _has("primary_phone"),
        ),
    )
}


def _bad(message: str, where: str) -> ValidationFailed:
    return ValidationFailed(message, field=f"rules.{where}")


def _clean_list(spec: FieldSpec, value: Any, where: str) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise _bad(_("Choose at least one value for “%(f)s”.") % {"f": spec.label}, where)
    if len(value) > MAX_LIST:
        raise _bad(_("At most %(n)d values.") % {"n": MAX_LIST}, where)
    items = [str(v).strip() for v in value if str(v).strip()]
    if not items:
        raise _bad(_("Choose at least one value for “%(f)s”.") % {"f": spec.label}, where)
    if spec.kind == CHOICES and spec.options is not None:
        known = {code for code, _label in spec.options()}
        unknown = [v for v in items if v not in known]
        if unknown:
            raise _bad(
                _("Unknown value for “%(f)s”: %(v)s.") % {"f": spec.label, "v": unknown[0]}, where
            )
    return sorted(set(items), key=items.index)


def _clean_number(spec: FieldSpec, value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _bad(_("“%(f)s” needs a number.") % {"f": spec.label}, where) from None
    if number != number or number < 0 or number > 1e12:  # NaN, negative, absurd
        raise _bad(_("“%(f)s” needs a number of zero or more.") % {"f": spec.label}, where)
    return int(number) if number.is_integer() else number


def _clean_condition(raw: Any, i: int) -> dict[str, Any]:
    where = f"conditions.{i}"
    if not isinstance(raw, dict):
        raise _bad(_("Condition %(n)d is not an object.") % {"n": i + 1}, where)
    spec = FIELDS.get(str(raw.get("field", "")))
    if spec is None:
        raise _bad(
            _("Condition %(n)d: unknown field “%(f)s”.") % {"n": i + 1, "f": raw.get("field")},
            f"{where}.field",
        )
    op = str(raw.get("op", ""))
    if op not in spec.op_codes():
        raise _bad(
            _("Condition %(n)d: “%(f)s” cannot be compared with “%(op)s”.")
            % {"n": i + 1, "f": spec.label, "op": op},
            f"{where}.op",
        )
    value = raw.get("value")
    out: dict[str, Any] = {"field": spec.name, "op": op}
    if spec.kind in (CHOICES, TEXTS):
        out["value"] = _clean_list(spec, value, f"{where}.value")
    elif spec.kind == FLAG:
        if isinstance(value, str):
            value = value.lower() in {"1", "true", "yes", "on"}
        out["value"] = bool(value)
    else:
        out["value"] = _clean_number(spec, value, f"{where}.value")
        if spec.name == "churn_risk" and out["value"] > 1:
            raise _bad(_("Churn risk is between 0 and 1."), f"{where}.value")
    if spec.kind == WINDOW:
        try:
            days = int(raw.get("days", 0))
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= MAX_DAYS:
            raise _bad(
                _("“%(f)s” needs a number of days between 1 and %(max)d.")
                % {"f": spec.label, "max": MAX_DAYS},
                f"{where}.days",
            )
        out["days"] = days
    return out


def rules_clean(rules: Any) -> dict[str, Any]:
    """The rule, validated and normalised; :class:`ValidationFailed` names what is wrong."""
    if rules in (None, "", {}):
        return {"match": "all", "conditions": []}
    if not isinstance(rules, dict):
        raise ValidationFailed(_("The rules must be an object."), field="rules")
    match = rules.get("match", "all")
    if match not in ("all", "any"):
        raise _bad(_("“match” must be “all” or “any”."), "match")
    conditions = rules.get("conditions", [])
    if not isinstance(conditions, list):
        raise _bad(_("“conditions” must be a list."), "conditions")
    if len(conditions) > MAX_CONDITIONS:
        raise _bad(_("At most %(n)d conditions.") % {"n": MAX_CONDITIONS}, "conditions")
    return {
        "match": match,
        "conditions": [_clean_condition(c, i) for i, c in enumerate(conditions)],
    }


def rules_q(rules: dict[str, Any]) -> Q:
    """The ``Q`` on ``Customer`` of a clean rule (active customers only)."""
    parts = [
        FIELDS[c["field"]].build(c["op"], c["value"], int(c.get("days", 0)))
        for c in rules.get("conditions", [])
    ]
    q = Q()
    if parts:
        q = parts[0]
        for part in parts[1:]:
            q = (q | part) if rules.get("match") == "any" else (q & part)
    return Q(status=CustomerStatus.ACTIVE) & q


def units_q(unit_ids: Sequence[int]) -> Q:
    """Customers of these units and every unit below them."""
    paths = list(OrgUnit.objects.filter(pk__in=list(unit_ids)).values_list("path", flat=True))
    inner = Q(pk__in=[])
    for path in paths:
        inner |= Q(path__startswith=path)
    return Q(unit_id__in=OrgUnit.objects.filter(inner).values("pk"))


def audience(rules: dict[str, Any], *, unit_ids: Sequence[int] | None = None) -> QuerySet[Customer]:
    """The customers a clean rule selects (within the units' subtrees when given)."""
    qs = Customer.objects.filter(rules_q(rules))
    if unit_ids is not None:
        qs = qs.filter(units_q(unit_ids))
    return qs.order_by()


def describe(rules: dict[str, Any]) -> list[str]:
    """Each condition as a short sentence, for pages and the API."""
    lines = []
    for c in rules.get("conditions", []):
        spec = FIELDS[c["field"]]
        op = next(o for o in spec.ops if o.code == c["op"])
        value = c["value"]
        if spec.kind in (CHOICES, TEXTS):
            labels = dict(spec.options()) if spec.options else {}
            shown = "、".join(labels.get(str(v), str(v)) for v in value)
        elif spec.kind == FLAG:
            shown = _("yes") if value else _("no")
        else:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
        if spec.kind == WINDOW:
            shown = _("%(v)s in %(d)s days") % {"v": shown, "d": c["days"]}
        lines.append(f"{spec.label} {op.label} {shown}")
    return lines
