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
