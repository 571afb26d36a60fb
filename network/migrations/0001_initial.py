# The models move from `omni` (channels and routing) to `network`; their tables keep their names.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = (
    "channel",
    "channelcity",
    "channellocation",
    "locationservice",
    "shelfprotection",
    "channelbuffer",
    "routingprofile",
    "configchange",
)


def _move_content_types(apps, schema_editor, old: str, new: str) -> None:
    """Keep the content types (and with them permissions and admin history) of the moved
    models: they are renamed to the new app, not recreated."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).delete()
        else:
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_to_network(apps, schema_editor):
    _move_content_types(apps, schema_editor, "omni", "network")


def content_types_to_omni(apps, schema_editor):
    _move_content_types(apps, schema_editor, "network", "omni")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("inventory", "0005_allocation_runs"),
        ("omni", "0003_routing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are: only Django's picture of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Channel",
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
                        ("code", models.SlugField(max_length=32, unique=True)),
                        ("name", models.CharField(max_length=100)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("web", "Web shop"),
                                    ("mini_program", "Mini-program"),
                                    ("marketplace", "Marketplace"),
                                    ("store_pos", "Store counter (POS)"),
                                    ("wholesale", "Wholesale"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "allow_backorder",
                            models.BooleanField(
                                default=False,
                                help_text="Accept an order whose lines cannot all be reserved now.",
                            ),
                        ),
                        (
                            "hold_minutes",
                            models.PositiveIntegerField(
                                default=30, help_text="How long stock is held for an unpaid order."
                            ),
                        ),
                        ("active", models.BooleanField(default=True)),
                        (
                            "user",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="channel",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "omni_channel",
                        "ordering": ["code"],
                    },
                ),
                migrations.CreateModel(
                    name="ChannelBuffer",
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
                        ("units", models.PositiveIntegerField()),
                        (
                            "channel",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="buffers",
                                to="network.channel",
                            ),
                        ),
                        (
                            "location",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="channel_buffers",
                                to="inventory.location",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "omni_channelbuffer",
                        "ordering": ["channel_id", "location_id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("channel", "location"), name="channelbuffer_unique_location"
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("location__isnull", True)),
                                fields=("channel",),
                                name="channelbuffer_unique_default",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ChannelCity",
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
                        ("starts_on", models.DateField()),
                        (
                            "channel",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="cities",
                                to="network.channel",
                            ),
                        ),
                        (
                            "city",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="channels",
                                to="omni.city",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "channel cities",
                        "db_table": "omni_channelcity",
                        "ordering": ["city_id", "channel_id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("channel", "city"), name="channelcity_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ChannelLocation",
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
                        ("priority", models.PositiveIntegerField(default=100)),
                        (
                            "channel",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="locations",
                                to="network.channel",
                            ),
                        ),
                        (
                            "location",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="channels",
                                to="inventory.location",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "omni_channellocation",
                        "ordering": ["channel_id", "priority", "location_id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("channel", "location"), name="channellocation_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ConfigChange",
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
                            "at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                        ),
                        (
                            "source",
                            models.CharField(
                                help_text="api, admin, page or rollout", max_length=16
                            ),
                        ),
                        ("kind", models.CharField(max_length=32)),
                        ("target", models.CharField(max_length=128)),
                        ("old", models.JSONField(blank=True, null=True)),
                        ("new", models.JSONField(blank=True, null=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "omni_configchange",
                        "ordering": ["-at", "-id"],
                        "indexes": [
                            models.Index(fields=["kind", "target"], name="configchange_target")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="LocationService",
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
                            "service",
                            models.CharField(
                                choices=[
                                    ("ship", "Ship deliveries"),
                                    ("pickup", "Customer pickup"),
                                    ("store_sale", "Counter sales"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("starts_on", models.DateField()),
                        (
                            "cost_per_order",
                            models.DecimalField(
                                decimal_places=2,
                                default=0,
                                help_text="What serving one order here costs (handling); sourcing weighs it with distance.",
                                max_digits=10,
                            ),
                        ),
                        (
                            "daily_capacity",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="Orders a day this service takes here (ship from store, pickups); empty: no limit.",
                                null=True,
                            ),
                        ),
                        (
                            "opens_at",
                            models.TimeField(
                                blank=True,
                                help_text="Pickups: when the store opens (local time).",
                                null=True,
                            ),
                        ),
                        (
                            "closes_at",
                            models.TimeField(
                                blank=True,
                                help_text="Pickups: when the store closes (local time).",
                                null=True,
                            ),
                        ),
                        (
                            "location",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="services",
                                to="inventory.location",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "omni_locationservice",
                        "ordering": ["location_id", "service"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("location", "service"), name="locationservice_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="RoutingProfile",
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
                        ("version", models.PositiveIntegerField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("draft", "Draft: never routes"),
                                    ("active", "Active: routes the channel's orders"),
                                    ("retired", "Retired: replaced by a later version"),
                                ],
                                default="draft",
                                max_length=8,
                            ),
                        ),
                        ("rules", models.JSONField(default=list)),
                        (
                            "when_short",
                            models.CharField(
                                default="park",
                                help_text="An order the rules cannot fill: park (wait for stock), refuse, or backorder.",
                                max_length=10,
                            ),
                        ),
                        ("note", models.CharField(blank=True, max_length=255)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("activated_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "activated_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "channel",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="routing_profiles",
                                to="network.channel",
                            ),
                        ),
                        (
                            "city",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="routing_profiles",
                                to="omni.city",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "omni_routingprofile",
                        "ordering": ["channel_id", "city_id", "-version"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("channel", "version"), name="routingprofile_version_unique"
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("city__isnull", False), ("status", "active")),
                                fields=("channel", "city"),
                                name="routingprofile_one_active_per_city",
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("city__isnull", True), ("status", "active")),
                                fields=("channel",),
                                name="routingprofile_one_active_default",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("when_short__in", ["park", "refuse", "backorder"])
                                ),
                                name="routingprofile_when_short_valid",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ShelfProtection",
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
                        ("quantity", models.PositiveIntegerField()),
                        (
                            "location",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="shelf_protections",
                                to="inventory.location",
                            ),
                        ),
                        (
                            "product",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="inventory.product",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "omni_shelfprotection",
                        "ordering": ["location_id", "product_id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("location", "product"), name="shelfprotection_unique_sku"
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("product__isnull", True)),
                                fields=("location",),
                                name="shelfprotection_unique_default",
                            ),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_network, content_types_to_omni),
    ]
