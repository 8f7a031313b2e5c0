from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdministrationConfig(AppConfig):
    """系统管理: setting Yiti up for a company — units, users, roles and the first-run path.

    It sits above the domain apps so that what spans them (a unit may be deactivated only
    when it owns no customers, open tickets or running campaigns; the first-run checklist)
    is one explicit call, not hooks in the lower apps.
    """

    name = "yiti.administration"
    label = "administration"
    verbose_name = _("Administration")
