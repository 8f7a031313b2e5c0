from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "yiti.api"
    label = "api"
    verbose_name = "API"
