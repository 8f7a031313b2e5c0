from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "yiti.service"
    label = "service"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from yiti.channels.outbox import register_on_sent
        from yiti.core.scheduling import register_schedule
        from yiti.service import api_orders, interaction_refs, order_views, panels
        from yiti.service.services import CUSTOMER_NEWS_KIND, customer_news_sent
        from yiti.service.tasks import holiday_schedule_check_task, sla_sweep_task

        register_schedule("service.sla_sweep", "*/5 * * * *", sla_sweep_task)
        register_schedule(
            "service.holiday_schedule_check", "0 9 * * *", holiday_schedule_check_task
        )
        panels.register()
        interaction_refs.register()  # an interaction's ticket_id is checked against tickets
        register_on_sent(CUSTOMER_NEWS_KIND, customer_news_sent)  # sent e-mail -> timeline
        api_orders.register()  # POST /api/v1/orders on the catalogue's router
        order_views.register()  # the order form in the customer page's orders card
