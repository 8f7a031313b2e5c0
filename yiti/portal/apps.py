from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """网上营业厅 / 掌上营业厅: the customer's own self-service portal.

    Customers sign in with their phone and a one-time code, separate from staff sign-in, and
    see only their own tickets, orders, messages, offers and consent.
    """

    name = "yiti.portal"
    label = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from yiti.portal import panels

        panels.register()
