from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttributionConfig(AppConfig):
    """联动营销 / 利益分配: touches, conversion paths, attribution models and credit allocation.

    The models are pure, vectorised functions over paths; the allocation of each conversion's
    revenue and margin among the units of a joint campaign is stored and explainable per order.
    """

    name = "yiti.attribution"
    label = "attribution"
    verbose_name = _("Attribution")

    def ready(self) -> None:
        from yiti.attribution import panels
        from yiti.attribution.tasks import attribute_yesterday
        from yiti.core.scheduling import register_schedule

        register_schedule("attribution.nightly", "30 1 * * *", attribute_yesterday)
        panels.register()
