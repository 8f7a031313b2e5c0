from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    """Field dispatch work orders: a sub-app of service with its own models and migrations."""

    name = "yiti.service.dispatch"
    label = "dispatch"
    verbose_name = _("Field dispatch")
