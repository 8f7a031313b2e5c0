from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountingConfig(AppConfig):
    """分部门分产品核算: campaign economics, unit × product accounting and scorecards.

    Budgets and cost lines per campaign and unit, control-group uplift, results per unit and
    product rolling up the org tree, and account-manager scorecards built on profit.
    """

    name = "yiti.accounting"
    label = "accounting"
    verbose_name = _("Accounting")

    def ready(self) -> None:
        from yiti.accounting import panels, tasks
        from yiti.core.scheduling import register_schedule

        register_schedule("accounting.scorecards", "30 6 * * 1", tasks.scorecards_weekly)
        register_schedule("accounting.results", "40 2 * * *", tasks.results_nightly)
        panels.register()
