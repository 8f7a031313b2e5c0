"""What each role may do. One table, read by the access selectors and the UI.

Scope (ADR 0002): an account manager sees the customers of his own unit and the customers he
owns; every other role sees the customers of its unit and of every unit below it, so a region
manager or a region's service centre sees the whole region, and a member of a department
with no customers sees none. What a role may *do* and whether personal data is shown in full
is the permission table below; lists always mask personal data.

Only memberships in force count (issue 12): started (``starts_on`` empty or past), not ended
(``ends_on`` empty or later than today) and in an active unit. A superuser with no membership
is an administrator of the whole tree. Administrators manage every unit and person; a region
manager manages the people whose memberships all lie inside his region and grants roles
there, never the administrator role (``org.services.can_manage_user``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from yiti.org.choices import Role


class Perm(StrEnum):
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_EDIT = "customer.edit"  # account managers: own customers or the unit's unassigned ones
    CUSTOMER_EDIT_ANY = "customer.edit_any"  # every customer in scope
    CUSTOMER_REASSIGN = "customer.reassign"
    CUSTOMER_MERGE = "customer.merge"
    CUSTOMER_IMPORT = "customer.import"
    CUSTOMER_EXPORT = "customer.export"
    PII_REVEAL = "pii.reveal"  # may reveal a masked phone, e-mail or IM id (audited)
    CONSENT_CHANGE = "consent.change"
    INTERACTION_CREATE = "interaction.create"
    AUDIT_VIEW_CUSTOMER = "audit.view_customer"
    AUDIT_VIEW_ALL = "audit.view_all"
    ORG_MANAGE = "org.manage"
    CAMPAIGN_VIEW = "campaign.view"  # campaigns, offers, segments, funnels (aggregates)
    CAMPAIGN_MANAGE = "campaign.manage"  # offers, segments, campaigns of the user's units
    CAMPAIGN_SIGN = "campaign.sign"  # sign launch-checklist items of the user's units
    CAMPAIGN_WORK = "campaign.work"  # work call lists and visits of visible customers
    ORDER_TAKE = "order.take"  # take an order for a visible customer (sales, service, care)
    PRODUCT_MANAGE = "product.manage"  # create, change and deactivate catalogue products


UNIT_ONLY_ROLES = frozenset({Role.ACCOUNT_MANAGER})

ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.REGION_MANAGER: frozenset(
        {
            Perm.CUSTOMER_CREATE,
            Perm.CUSTOMER_EDIT,
            Perm.CUSTOMER_EDIT_ANY,
            Perm.CUSTOMER_REASSIGN,
            Perm.CUSTOMER_MERGE,
            Perm.CUSTOMER_IMPORT,
            Perm.CUSTOMER_EXPORT,
            Perm.PII_REVEAL,
            Perm.CONSENT_CHANGE,
            Perm.INTERACTION_CREATE,
            Perm.AUDIT_VIEW_CUSTOMER,
            Perm.CAMPAIGN_VIEW,
            Perm.CAMPAIGN_SIGN,
            Perm.CAMPAIGN_WORK,
            Perm.ORDER_TAKE,
        }
    ),
    Role.ACCOUNT_MANAGER: frozenset(
        {
            Perm.CUSTOMER_CREATE,
            Perm.CUSTOMER_EDIT,
            Perm.PII_REVEAL,
            Perm.CONSENT_CHANGE,
            Perm.INTERACTION_CREATE,
            Perm.CAMPAIGN_VIEW,
            Perm.CAMPAIGN_WORK,
            Perm.ORDER_TAKE,
        }
    ),
    Role.SERVICE_AGENT: frozenset(
        {
            Perm.PII_REVEAL,
            Perm.CONSENT_CHANGE,
            Perm.INTERACTION_CREATE,
            Perm.CAMPAIGN_VIEW,
            Perm.CAMPAIGN_SIGN,
            Perm.CAMPAIGN_WORK,
            Perm.ORDER_TAKE,
        }
    ),
    Role.CARE_AGENT: frozenset(
        {
            Perm.PII_REVEAL,
            Perm.CONSENT_CHANGE,
            Perm.INTERACTION_CREATE,
            Perm.CAMPAIGN_VIEW,
            Perm.CAMPAIGN_WORK,
            Perm.ORDER_TAKE,
        }
    ),
    Role.CAMPAIGN_MANAGER: frozenset(
        {
            Perm.CUSTOMER_EXPORT,
            Perm.CUSTOMER_IMPORT,
            Perm.CAMPAIGN_VIEW,
            Perm.CAMPAIGN_MANAGE,
            Perm.CAMPAIGN_SIGN,
            Perm.PRODUCT_MANAGE,
        }
    ),
    Role.FIELD_ENGINEER: frozenset({Perm.PII_REVEAL, Perm.INTERACTION_CREATE}),
    Role.FINANCE: frozenset({Perm.CAMPAIGN_VIEW, Perm.CAMPAIGN_SIGN}),
    Role.ANALYST: frozenset({Perm.CUSTOMER_EXPORT, Perm.CAMPAIGN_VIEW}),
}

# Who signs which line of a campaign's launch checklist (seed 000: service reviews the offer,
# each branch confirms its training, marketing the material, the stock owner the gifts).
CHECKLIST_SIGNERS: dict[str, frozenset[str]] = {
    "service_review": frozenset({Role.SERVICE_AGENT, Role.REGION_MANAGER}),
    "training": frozenset({Role.REGION_MANAGER}),
    "materials": frozenset({Role.CAMPAIGN_MANAGER}),
    "gift_stock": frozenset({Role.FINANCE, Role.CAMPAIGN_MANAGER}),
    "conflict_check": frozenset({Role.CAMPAIGN_MANAGER}),
}


# --- for people: what each permission and each role's scope means (the roles page) -----------

PERM_SENTENCES: dict[Perm, Any] = {
    Perm.CUSTOMER_CREATE: _("Create customers."),
    Perm.CUSTOMER_EDIT: _("Edit the customers they own and their unit's unassigned customers."),
    Perm.CUSTOMER_EDIT_ANY: _("Edit every customer they can see."),
    Perm.CUSTOMER_REASSIGN: _("Give customers to another account manager, one by one or in bulk."),
    Perm.CUSTOMER_MERGE: _("Merge duplicate customers."),
    Perm.CUSTOMER_IMPORT: _("Import customers, products, orders and contact history from files."),
    Perm.CUSTOMER_EXPORT: _("Export customer lists (masked, audited)."),
    Perm.PII_REVEAL: _(
        "Reveal a customer's full phone number, e-mail or IM id (each reveal is audited)."
    ),
    Perm.CONSENT_CHANGE: _("Record a customer's consent or objection to being contacted."),
    Perm.INTERACTION_CREATE: _("Record visits, calls and other contacts on the timeline."),
    Perm.AUDIT_VIEW_CUSTOMER: _("Read the audit trail of a customer."),
    Perm.AUDIT_VIEW_ALL: _("Read the whole audit log."),
    Perm.ORG_MANAGE: _("Manage units, users, roles and the company's settings."),
    Perm.CAMPAIGN_VIEW: _("See campaigns, offers, segments and their results."),
    Perm.CAMPAIGN_MANAGE: _("Create and run campaigns, offers and segments of their units."),
    Perm.CAMPAIGN_SIGN: _("Sign the launch checklist of a campaign for their unit."),
    Perm.CAMPAIGN_WORK: _("Work call lists and visits of customers they can see."),
    Perm.ORDER_TAKE: _("Take an order for a customer they can see."),
    Perm.PRODUCT_MANAGE: _("Create, change and deactivate the products of the catalogue."),
}

ROLE_SCOPE: dict[str, Any] = {
    Role.ADMIN: _(
        "Everything in the unit where the role is held and every unit below it — for the company, the whole organisation."
    ),
    Role.REGION_MANAGER: _(
        "The customers, tickets and campaigns of their region and every unit below it; manages the people of the region."
    ),
    Role.ACCOUNT_MANAGER: _(
        "The customers of their own unit and the customers they own, wherever those are."
    ),
    Role.SERVICE_AGENT: _("The customers and tickets of their unit and every unit below it."),
    Role.CARE_AGENT: _("The customers and care calls of their unit and every unit below it."),
    Role.CAMPAIGN_MANAGER: _(
        "Campaigns of their unit; customers of their unit and the units below (a marketing department usually has none, so campaigns work on aggregates)."
    ),
    Role.FIELD_ENGINEER: _("The customers and work orders of their unit and every unit below it."),
    Role.FINANCE: _(
        "Budgets, expense claims and gift stock of their unit and the units below; customers only there."
    ),
    Role.ANALYST: _(
        "Reports and aggregates; customers of their unit and the units below (masked)."
    ),
}
