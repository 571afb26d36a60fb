# Allocation runs move from `inventory` to their own app; their tables keep their names.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ("allocationrun", "allocationline")


def _move_content_types(apps, schema_editor, old: str, new: str) -> None:
    """Keep the content types (and with them permissions and admin history) of the moved
    models: they are renamed to the new app, not recreated."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).delete()
        else:
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_to_allocation(apps, schema_editor):
    _move_content_types(apps, schema_editor, "inventory", "allocation")


def content_types_to_inventory(apps, schema_editor):
    _move_content_types(apps, schema_editor, "allocation", "inventory")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("inventory", "0006_allocation_moves_to_its_app"),
        ("omni", "0003_routing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are: only Django's picture of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AllocationRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("running", "Running"),
                                    ("optimal", "Optimal"),
                                    ("feasible", "Feasible (gap to the best bound reported)"),
                                    ("infeasible", "Infeasible"),
                                    ("timeout", "Timed out without a plan"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=16,
                            ),
                        ),
                        (
                            "decision",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending review"),
                                    ("approved", "Approved (transfers created)"),
                                    ("rejected", "Rejected"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        (
                            "parameters",
                            models.JSONField(
                                default=dict, help_text="Service level, λ, time limit, ..."
                            ),
                        ),
                        (
                            "inputs",
                            models.JSONField(
                                blank=True, default=dict, help_text="The problem.json solved."
                            ),
                        ),
                        (
                            "need_source",
                            models.CharField(
                                blank=True,
                                help_text="forecast (run id) or moving_average.",
                                max_length=32,
                            ),
                        ),
                        ("method", models.CharField(blank=True, max_length=16)),
                        ("objective", models.FloatField(blank=True, null=True)),
                        ("bound", models.FloatField(blank=True, null=True)),
                        ("gap", models.FloatField(blank=True, null=True)),
                        ("terms", models.JSONField(blank=True, default=dict)),
                        (
                            "fill_rate",
                            models.JSONField(blank=True, default=dict, help_text="Per store code."),
                        ),
                        ("total_fill_rate", models.FloatField(blank=True, null=True)),
                        ("transport_cost", models.FloatField(blank=True, null=True)),
                        (
                            "timings",
                            models.JSONField(
                                blank=True, default=dict, help_text="Seconds per phase."
                            ),
                        ),
                        (
                            "progress",
                            models.PositiveSmallIntegerField(default=0, help_text="Percent done."),
                        ),
                        ("progress_message", models.CharField(blank=True, max_length=200)),
                        ("message", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "city",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="omni.city",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "decided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "inventory_allocationrun",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="AllocationLine",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("need", models.IntegerField()),
                        ("packs", models.IntegerField(default=0)),
                        ("units", models.IntegerField(default=0)),
                        ("unmet", models.IntegerField(default=0)),
                        (
                            "product",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="inventory.product",
                            ),
                        ),
                        (
                            "source",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="inventory.location",
                            ),
                        ),
                        (
                            "store",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="inventory.location",
                            ),
                        ),
                        (
                            "run",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="lines",
                                to="allocation.allocationrun",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "inventory_allocationline",
                        "ordering": ["run_id", "store_id", "product_id"],
                        "indexes": [
                            models.Index(fields=["run", "store"], name="allocationline_run_store")
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_allocation, content_types_to_inventory),
    ]
