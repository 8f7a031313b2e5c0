"""The unit costs to serve and value settings a new installation starts with."""

from decimal import Decimal

from django.db import migrations

DEFAULT_COSTS = {
    "ticket_consultation": "5.00",
    "ticket_repair": "40.00",
    "ticket_service_request": "15.00",
    "ticket_order_processing": "10.00",
    "ticket_complaint": "80.00",
    "care_call": "4.00",
    "visit": "60.00",
}


def create_defaults(apps, schema_editor):
    ServiceCost = apps.get_model("decisions", "ServiceCost")
    ValueSettings = apps.get_model("decisions", "ValueSettings")
    for item, cost in DEFAULT_COSTS.items():
        ServiceCost.objects.get_or_create(item=item, defaults={"cost": Decimal(cost)})
    ValueSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
