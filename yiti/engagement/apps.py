from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "yiti.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        from yiti.customers.importing import register
        from yiti.engagement import panels
        from yiti.engagement.imports import InteractionImporter, SuppressionImporter

        panels.register()
        register(InteractionImporter())
        register(SuppressionImporter())
