from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "yiti.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        from yiti.engagement import panels

        panels.register()
