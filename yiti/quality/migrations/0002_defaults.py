"""The indicator catalogue every installation starts with (frozen here; the same numbers as
``yiti.quality.defaults``): nine indicators, targets and weights for the company, regions and
branches. Runs once; existing rows are left alone."""

from decimal import Decimal as D

from django.db import migrations

DEFAULTS = [
    ("sla_attainment", "higher", "percent", D(95), D(70), D(15)),
    ("first_contact_resolution", "higher", "percent", D(70), D(30), D(10)),
    ("complaint_rate", "lower", "per_thousand", D(2), D(10), D(15)),
    ("repeat_complaints", "lower", "percent", D(5), D(30), D(10)),
    ("care_on_time", "higher", "percent", D(95), D(60), D(10)),
    ("csat", "higher", "score_5", D("4.5"), D(3), D(15)),
    ("nps", "higher", "nps", D(40), D(-20), D(10)),
    ("handling_time", "lower", "hours", D(24), D(120), D(5)),
    ("reopen_rate", "lower", "percent", D(3), D(20), D(10)),
]
KINDS = ("company", "region", "branch")


def seed(apps, schema_editor):
    Indicator = apps.get_model("quality", "Indicator")
    IndicatorTarget = apps.get_model("quality", "IndicatorTarget")
    for position, (code, direction, measure, target, floor, weight) in enumerate(DEFAULTS, 1):
        indicator, _ = Indicator.objects.get_or_create(
            code=code,
            defaults={"direction": direction, "measure": measure, "position": position * 10},
        )
        for kind in KINDS:
            IndicatorTarget.objects.get_or_create(
                indicator=indicator,
                unit_kind=kind,
                defaults={"target": target, "floor": floor, "weight": weight},
            )


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
