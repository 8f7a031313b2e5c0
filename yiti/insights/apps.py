from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    """分析决策层: each role's home page and the management cockpit.

    It reads the domain apps (and the quality, accounting and attribution results) through
    aggregates kept up to date by the worker, never by scanning the book on a page view.
    """

    name = "yiti.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from yiti.core.scheduling import register_schedule
        from yiti.insights import tasks

        register_schedule("insights.rollups", "*/10 * * * *", tasks.rollups_refresh_task)
        register_schedule("insights.rollups_rebuild", "40 2 * * *", tasks.rollups_rebuild_task)
        register_schedule("insights.cockpit_reports", "30 7 * * *", tasks.cockpit_reports_task)
