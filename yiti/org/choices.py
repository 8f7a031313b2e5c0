from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    COMPANY = "company", _("Company")
    REGION = "region", _("Region / territory")
    BRANCH = "branch", _("Branch")
    DEPARTMENT = "department", _("Department")
    PARTNER = "partner", _("Partner")


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    REGION_MANAGER = "region_manager", _("Region manager")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    SERVICE_AGENT = "service_agent", _("Service agent")
    CARE_AGENT = "care_agent", _("Care agent")
    CAMPAIGN_MANAGER = "campaign_manager", _("Campaign manager")
    FIELD_ENGINEER = "field_engineer", _("Field engineer")
    FINANCE = "finance", _("Finance")
    ANALYST = "analyst", _("Analyst")
