from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "yiti.channels"
    label = "channels"
    verbose_name = "Channels"
