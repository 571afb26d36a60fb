"""Batch picking: pick tasks (one per SKU × bin of a wave), totes on pick lines, the limits
and progress counters of a pick list, and the picker's scans kept once per scan id.

Home bins move to inventory (``inventory.Bin``, ``inventory.HomeBin``): every distinct code of
the old ``BinLocation`` rows becomes a bin of its location, walked in code order, and each row
a home bin; then ``BinLocation`` goes. Existing pick lists get their counters from their lines.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def bins_to_inventory(apps, schema_editor):
    BinLocation = apps.get_model("fulfillment", "BinLocation")
    Bin = apps.get_model("inventory", "Bin")
    HomeBin = apps.get_model("inventory", "HomeBin")
    rows = list(BinLocation.objects.order_by("location_id", "code", "product_id"))
    bins = {(b.location_id, b.code): b for b in Bin.objects.all()}
    last = {b.location_id: 0 for b in bins.values()}
    for b in bins.values():
        last[b.location_id] = max(last[b.location_id], b.sequence)
    for row in rows:
        key = (row.location_id, row.code)
        if key not in bins:
            last[row.location_id] = last.get(row.location_id, 0) + 1
            bins[key] = Bin.objects.create(
                location_id=row.location_id, code=row.code, sequence=last[row.location_id]
            )
        HomeBin.objects.update_or_create(
            location_id=row.location_id, product_id=row.product_id, defaults={"bin": bins[key]}
        )


def bins_back(apps, schema_editor):
    """Home bins go back to ``BinLocation``; the bins themselves stay in inventory."""
    BinLocation = apps.get_model("fulfillment", "BinLocation")
    HomeBin = apps.get_model("inventory", "HomeBin")
    for home in HomeBin.objects.select_related("bin"):
        BinLocation.objects.create(
            location_id=home.location_id, product_id=home.product_id, code=home.bin.code
        )
    HomeBin.objects.all().delete()


def count_progress(apps, schema_editor):
    PickList = apps.get_model("fulfillment", "PickList")
    PickLine = apps.get_model("fulfillment", "PickLine")
    for pick_list in PickList.objects.all().iterator():
        lines = list(PickLine.objects.filter(pick_list=pick_list))
        owners = {ln.allocation.line.order_id for ln in lines if ln.allocation_id} | {
            ("transfer", ln.transfer_id) for ln in lines if ln.transfer_id
        }
        PickList.objects.filter(pk=pick_list.pk).update(
            orders_count=len(owners),
            lines_count=len(lines),
            units_total=sum(ln.quantity for ln in lines),
            units_picked=sum(ln.picked for ln in lines),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("fulfillment", "0002_notification_attempts"),
        ("inventory", "0007_bins_and_home_bins"),
        ("orders", "0003_channel_and_profile_in_network"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PickScan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scan_id", models.UUIDField(unique=True)),
                ("scanned", models.CharField(max_length=64)),
                ("quantity", models.PositiveIntegerField(default=1)),
                ("result", models.CharField(help_text="picked, or the error code", max_length=32)),
                (
                    "credited",
                    models.PositiveIntegerField(default=0, help_text="Units this scan counted."),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="PickTask",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "bin_code",
                    models.CharField(
                        blank=True,
                        help_text="The bin when the task was made; history keeps it.",
                        max_length=32,
                    ),
                ),
                (
                    "sequence",
                    models.PositiveIntegerField(help_text="Walking order inside the pick list."),
                ),
                ("quantity", models.PositiveIntegerField()),
                ("picked", models.PositiveIntegerField(default=0)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "To pick"),
                            ("picked", "Picked"),
                            ("short", "Short: fewer found"),
                        ],
                        default="open",
                        max_length=8,
                    ),
                ),
            ],
            options={
                "ordering": ["pick_list_id", "sequence"],
            },
        ),
        migrations.RunPython(bins_to_inventory, bins_back, elidable=False),
        migrations.AddField(
            model_name="pickline",
            name="tote",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="The tote of its order or transfer in the list, 1..n.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="picklist",
            name="lines_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="picklist",
            name="max_lines",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="picklist",
            name="max_orders",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="picklist",
            name="max_units",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="picklist",
            name="orders_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="picklist",
            name="tasks_done",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="picklist",
            name="tasks_total",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="picklist",
            name="units_picked",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="picklist",
            name="units_total",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="picklist",
            constraint=models.CheckConstraint(
                condition=models.Q(("units_picked__lte", models.F("units_total"))),
                name="picklist_units_picked_within",
            ),
        ),
        migrations.AddConstraint(
            model_name="picklist",
            constraint=models.CheckConstraint(
                condition=models.Q(("tasks_done__lte", models.F("tasks_total"))),
                name="picklist_tasks_done_within",
            ),
        ),
        migrations.AddField(
            model_name="pickscan",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="pickscan",
            name="pick_list",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="scans",
                to="fulfillment.picklist",
            ),
        ),
        migrations.AddField(
            model_name="picktask",
            name="bin",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="inventory.bin",
            ),
        ),
        migrations.AddField(
            model_name="picktask",
            name="pick_list",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tasks",
                to="fulfillment.picklist",
            ),
        ),
        migrations.AddField(
            model_name="picktask",
            name="product",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inventory.product",
            ),
        ),
        migrations.AddField(
            model_name="pickscan",
            name="task",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="scans",
                to="fulfillment.picktask",
            ),
        ),
        migrations.AddField(
            model_name="pickline",
            name="task",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lines",
                to="fulfillment.picktask",
            ),
        ),
        migrations.AddIndex(
            model_name="pickline",
            index=models.Index(fields=["task", "tote"], name="pickline_task_tote"),
        ),
        migrations.DeleteModel(
            name="BinLocation",
        ),
        migrations.AddIndex(
            model_name="picktask",
            index=models.Index(fields=["pick_list", "status", "sequence"], name="picktask_walk"),
        ),
        migrations.AddConstraint(
            model_name="picktask",
            constraint=models.CheckConstraint(
                condition=models.Q(("picked__lte", models.F("quantity"))),
                name="picktask_picked_within",
            ),
        ),
        migrations.AddConstraint(
            model_name="picktask",
            constraint=models.UniqueConstraint(
                fields=("pick_list", "sequence"), name="picktask_sequence_unique"
            ),
        ),
        migrations.AddIndex(
            model_name="pickscan",
            index=models.Index(fields=["pick_list", "id"], name="pickscan_list"),
        ),
        migrations.RunPython(count_progress, migrations.RunPython.noop, elidable=False),
    ]
