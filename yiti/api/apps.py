from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "yiti.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from yiti.api.tasks import idempotency_purge_task
        from yiti.core.scheduling import register_schedule

        register_schedule("api.idempotency_purge", "17 3 * * *", idempotency_purge_task)
