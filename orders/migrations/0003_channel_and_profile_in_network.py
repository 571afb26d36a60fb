# State only: the models moved to another app, their tables stay (see network/allocation 0001).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0001_initial"),
        ("orders", "0002_routing"),
    ]

    operations = [
        # The tables stay where they are: only Django's picture of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="channel",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="network.channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="routing_profile",
                    field=models.ForeignKey(
                        blank=True,
                        help_text="The profile version that last routed the order; empty: simple sourcing.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="network.routingprofile",
                    ),
                ),
            ],
        ),
    ]
