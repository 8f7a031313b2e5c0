from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "yiti.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from yiti.customers.importing import register
        from yiti.customers.imports import CustomersImporter
        from yiti.customers.imports_orders import OrdersImporter
        from yiti.customers.imports_products import ProductsImporter

        register(CustomersImporter())
        register(ProductsImporter())
        register(OrdersImporter())

        from yiti.core.scheduling import register_schedule
        from yiti.customers.digest import digests_send_task
        from yiti.customers.digest import register as register_digest

        # the daily digest of notifications, before the working day (07:30 local time)
        register_schedule("customers.notification_digest", "30 7 * * *", digests_send_task)
        register_digest()
