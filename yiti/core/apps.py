from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "yiti.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from yiti.core import checks  # noqa: F401 - registers the deployment checks
