from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    """质量管理层: service quality indicators ranked by unit, and hot issues.

    Indicators are data (a catalogue with targets and weights per unit kind), so units are
    judged on many indicators, not one; hot issues are topics chosen on tickets plus themes
    mined from the free text.
    """

    name = "yiti.quality"
    label = "quality"
    verbose_name = _("Quality")
