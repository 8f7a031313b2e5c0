from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "yiti.care"
    label = "care"
    verbose_name = _("Customer care")

    def ready(self) -> None:
        from yiti.care import panels, tasks
        from yiti.core.scheduling import register_schedule

        register_schedule("care.followups", "*/10 * * * *", tasks.followups_sweep)
        register_schedule("care.quiet_watch", "30 8 * * *", tasks.quiet_watch_run)
        panels.register()
