# Indexes for the queue page's kind and SLA filters (see docs/benchmarks.md, Service desk).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('service', '0002_ticket_sla_next'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['unit', 'kind', '-opened_at'], name='ticket_unit_kind'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['unit', 'sla_state', '-opened_at'], name='ticket_unit_sla'),
        ),
    ]
