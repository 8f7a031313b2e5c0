from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "yiti.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from yiti.campaigns import interaction_refs, panels
        from yiti.campaigns.tasks import dispatch_campaigns
        from yiti.core.scheduling import register_schedule

        register_schedule("campaigns.dispatch", "* * * * *", dispatch_campaigns)
        panels.register()
        interaction_refs.register()  # an interaction's campaign_id and wave_id are checked
