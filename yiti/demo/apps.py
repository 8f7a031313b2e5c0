from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "yiti.demo"
    label = "demo"
    verbose_name = "Demo data, embedded runner and benchmarks"
