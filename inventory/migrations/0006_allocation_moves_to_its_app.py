# State only: the models moved to another app, their tables stay (see network/allocation 0001).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0005_allocation_runs"),
    ]

    operations = [
        # The tables stay where they are: only Django's picture of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="allocationrun",
                    name="city",
                ),
                migrations.RemoveField(
                    model_name="allocationrun",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="allocationrun",
                    name="decided_by",
                ),
                migrations.DeleteModel(
                    name="AllocationLine",
                ),
                migrations.DeleteModel(
                    name="AllocationRun",
                ),
            ],
        ),
    ]
