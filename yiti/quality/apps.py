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

    def ready(self) -> None:
        from yiti.core.scheduling import register_schedule
        from yiti.quality.choices import RunKind
        from yiti.quality.tasks import quality_compute

        # last month's ranking on the 1st (the 2nd and 3rd catch up a run missed while the
        # server was down: computing a month again replaces it); last week's themes on Monday
        register_schedule(
            "quality.ranking", "30 5 1-3 * *", quality_compute, kind=RunKind.RANKING.value
        )
        # this month so far, every morning, so the page shows the month under way
        register_schedule(
            "quality.ranking_mtd",
            "45 5 * * *",
            quality_compute,
            kind=RunKind.RANKING.value,
            current=True,
        )
        register_schedule(
            "quality.themes", "30 5 * * mon", quality_compute, kind=RunKind.THEMES.value
        )
