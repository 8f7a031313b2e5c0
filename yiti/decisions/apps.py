"""Decisions: the customer value model (BG/NBD + Gamma-Gamma, CLV), value tiers and churn risk;
later the next best action."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecisionsConfig(AppConfig):
    name = "yiti.decisions"
    label = "decisions"
    verbose_name = _("Decisions")

    def ready(self) -> None:
        from yiti.core.scheduling import register_schedule
        from yiti.decisions import panels, subjects, tasks

        # weekly refit, Monday 03:00 local time (before the 06:00 reports)
        register_schedule("decisions.value_refit", "0 3 * * mon", tasks.value_refit_task)
        panels.register()
        panels.register_pickers()
        subjects.register()
