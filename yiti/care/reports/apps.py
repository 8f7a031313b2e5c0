from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareReportsConfig(AppConfig):
    name = "yiti.care.reports"
    label = "care_reports"
    verbose_name = _("Satisfaction reports")

    def ready(self) -> None:
        from yiti.care.reports.choices import ReportKind
        from yiti.care.reports.tasks import report_generate
        from yiti.core.scheduling import register_schedule

        # yesterday's problem customers; last week's satisfaction on Mondays; last month's on the
        # 1st (the 2nd to the 5th only catch up a run missed while the server was down)
        register_schedule(
            "care_reports.daily", "0 7 * * *", report_generate, kind=ReportKind.DAILY.value
        )
        register_schedule(
            "care_reports.weekly", "0 6 * * mon", report_generate, kind=ReportKind.WEEKLY.value
        )
        register_schedule(
            "care_reports.monthly", "0 6 1-5 * *", report_generate, kind=ReportKind.MONTHLY.value
        )
