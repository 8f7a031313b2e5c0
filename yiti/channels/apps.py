from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "yiti.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        from yiti.channels.tasks import outbox_retry_task
        from yiti.core.scheduling import register_schedule

        register_schedule("channels.outbox_retry", "* * * * *", outbox_retry_task)
