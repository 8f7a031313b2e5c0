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
