from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "yiti.core"
    label = "core"
    verbose_name = "Core"
