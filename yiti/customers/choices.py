from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANISATION = "organisation", _("Organisation")


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    MERGED = "merged", _("Merged")


class ContactKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    IM = "im", _("IM")


class Channel(models.TextChoices):
    """Channels for which consent is recorded."""

    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    CALL = "call", _("Phone call")
    VISIT = "visit", _("Visit")
    PUSH = "push", _("Web push")
    IM = "im", _("IM")


class Purpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")
    CARE = "care", _("Care")


class ConsentSource(models.TextChoices):
    STAFF = "staff", _("Recorded by staff")
    PORTAL = "portal", _("Customer portal")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    CALL = "call", _("Phone call")
    REPLY = "reply", _("Reply to a message (e.g. TD)")


class ProductCategory(models.TextChoices):
    MOBILE_PLAN = "mobile_plan", _("Mobile plan")
    BROADBAND = "broadband", _("Broadband")
    DEVICE = "device", _("Device")
    VALUE_ADDED = "value_added", _("Value-added service")
    OTHER = "other", _("Other")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


class SalesChannel(models.TextChoices):
    BRANCH = "branch", _("Branch counter")
    VISIT = "visit", _("Account-manager visit")
    CALL_CENTRE = "call_centre", _("Call centre")
    ONLINE = "online", _("Online hall")
    MOBILE = "mobile", _("Mobile hall")
    PARTNER = "partner", _("Partner")


class ReassignRule(models.TextChoices):
    EVEN = "even", _("Split evenly")
    TERRITORY = "territory", _("By territory (colleague in the customer's unit)")


class ImportKind(models.TextChoices):
    """What an import job loads (one importer each, ``yiti import KIND FILE``)."""

    CUSTOMERS = "customers", _("Customers")
    PRODUCTS = "products", _("Products")
    ORDERS = "orders", _("Orders")
    INTERACTIONS = "interactions", _("Contact history")
    SUPPRESSIONS = "suppressions", _("Do-not-disturb list")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    VALIDATED = "validated", _("Validated only, nothing written")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected, nothing written")
    FAILED = "failed", _("Failed and rolled back, nothing written")


class ValueTier(models.TextChoices):
    """Value tiers of one-to-one marketing (seed 003), set by ``yiti.decisions``' refit."""

    MVC = "mvc", _("Most valuable")  # 最有价值客户
    MGC = "mgc", _("Most growable")  # 最具成长性客户
    STANDARD = "standard", _("Standard")  # 普通客户
    BZ = "bz", _("Below zero")  # 负值客户
