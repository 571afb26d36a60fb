"""How a city is served: channels and the cities and locations that serve them, the services
each location offers (pickup, ship from store, counter sale) with its capacity and hours, shelf
protection, channel buffers, routing profiles, and the audit of every change to them.

The tables keep the names they had when these models lived in ``omni`` (``omni_channel``, ...)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from omni.models import City, User

# --------------------------------------------------------------------------- channels and rollout


class ChannelKind(models.TextChoices):
    WEB = "web", "Web shop"
    MINI_PROGRAM = "mini_program", "Mini-program"
    MARKETPLACE = "marketplace", "Marketplace"
    STORE_POS = "store_pos", "Store counter (POS)"
    WHOLESALE = "wholesale", "Wholesale"


class Channel(models.Model):
    """Somewhere orders come from. Its integration calls the API as ``user`` (role
    ``channel``), with that user's API tokens; a channel sees only its own orders."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    user = models.OneToOneField(
        User, on_delete=models.PROTECT, related_name="channel", null=True, blank=True
    )
    allow_backorder = models.BooleanField(
        default=False, help_text="Accept an order whose lines cannot all be reserved now."
    )
    hold_minutes = models.PositiveIntegerField(
        default=30, help_text="How long stock is held for an unpaid order."
    )
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "omni_channel"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ChannelCity(models.Model):
    """A channel is live in a city from ``starts_on`` (the rollout file's phase)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="cities")
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="channels")
    starts_on = models.DateField()

    class Meta:
        db_table = "omni_channelcity"
        verbose_name_plural = "channel cities"
        ordering = ["city_id", "channel_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "city"], name="channelcity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} in {self.city_id} from {self.starts_on}"


class ChannelLocation(models.Model):
    """A location that serves a channel; lower ``priority`` is preferred when all else ties."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="locations")
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.CASCADE, related_name="channels"
    )
    priority = models.PositiveIntegerField(default=100)

    class Meta:
        db_table = "omni_channellocation"
        ordering = ["channel_id", "priority", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "location"], name="channellocation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} ← {self.location_id} (#{self.priority})"


class Service(models.TextChoices):
    """What a location does for orders. ``ship`` is delivery fulfilment: from a DC, or
    ship-from-store at a store."""

    SHIP = "ship", "Ship deliveries"
    PICKUP = "pickup", "Customer pickup"
    STORE_SALE = "store_sale", "Counter sales"


class LocationService(models.Model):
    """A service a location offers from ``starts_on`` (its rollout phase). Sourcing and
    availability offer a location for a mode only once its service has started."""

    location = models.ForeignKey(
        "inventory.Location", on_delete=models.CASCADE, related_name="services"
    )
    service = models.CharField(max_length=16, choices=Service.choices)
    starts_on = models.DateField()
    cost_per_order = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=0,
        help_text="What serving one order here costs (handling); sourcing weighs it with distance.",
    )
    daily_capacity = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Orders a day this service takes here (ship from store, pickups); "
        "empty: no limit.",
    )
    opens_at = models.TimeField(
        null=True, blank=True, help_text="Pickups: when the store opens (local time)."
    )
    closes_at = models.TimeField(
        null=True, blank=True, help_text="Pickups: when the store closes (local time)."
    )

    class Meta:
        db_table = "omni_locationservice"
        ordering = ["location_id", "service"]
        constraints = [
            models.UniqueConstraint(fields=["location", "service"], name="locationservice_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.location_id} {self.service} from {self.starts_on}"


class ShelfProtection(models.Model):
    """Units of a SKU a store keeps for its own counter: delivery orders may not take them.
    A row without a product is the store's default for every SKU."""

    location = models.ForeignKey(
        "inventory.Location", on_delete=models.CASCADE, related_name="shelf_protections"
    )
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        db_table = "omni_shelfprotection"
        ordering = ["location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "product"], name="shelfprotection_unique_sku"
            ),
            models.UniqueConstraint(
                fields=["location"],
                condition=models.Q(product__isnull=True),
                name="shelfprotection_unique_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location_id}/{self.product_id or '*'}: {self.quantity}"


# --------------------------------------------------------------------------- routing configuration


class ChannelBuffer(models.Model):
    """Units of every SKU a channel may not take at a location: the last units there stay for
    everyone else (the store's walk-in customers, other channels). A row without a location is
    the channel's buffer at every location that has no row of its own. The store counter is
    never buffered: it sells what the customer holds."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="buffers")
    location = models.ForeignKey(
        "inventory.Location",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="channel_buffers",
    )
    units = models.PositiveIntegerField()

    class Meta:
        db_table = "omni_channelbuffer"
        ordering = ["channel_id", "location_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "location"], name="channelbuffer_unique_location"
            ),
            models.UniqueConstraint(
                fields=["channel"],
                condition=models.Q(location__isnull=True),
                name="channelbuffer_unique_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}@{self.location_id or '*'}: {self.units}"


class RoutingProfileStatus(models.TextChoices):
    DRAFT = "draft", "Draft: never routes"
    ACTIVE = "active", "Active: routes the channel's orders"
    RETIRED = "retired", "Retired: replaced by a later version"


class RoutingProfile(models.Model):
    """One version of a channel's routing rules (``network.routing_rules``), for one city or, with
    no city, for every city without its own. Only an active version routes; activating one
    retires the version it replaces. A version's rules never change once saved: a change is a
    new version, so an order's recorded version says exactly how it was routed."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="routing_profiles")
    city = models.ForeignKey(
        City, on_delete=models.CASCADE, null=True, blank=True, related_name="routing_profiles"
    )
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=8, choices=RoutingProfileStatus.choices, default=RoutingProfileStatus.DRAFT
    )
    rules = models.JSONField(default=list)
    when_short = models.CharField(
        max_length=10,
        default="park",
        help_text="An order the rules cannot fill: park (wait for stock), refuse, or backorder.",
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    activated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "omni_routingprofile"
        ordering = ["channel_id", "city_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "version"], name="routingprofile_version_unique"
            ),
            models.UniqueConstraint(
                fields=["channel", "city"],
                condition=models.Q(status="active", city__isnull=False),
                name="routingprofile_one_active_per_city",
            ),
            models.UniqueConstraint(
                fields=["channel"],
                condition=models.Q(status="active", city__isnull=True),
                name="routingprofile_one_active_default",
            ),
            models.CheckConstraint(
                condition=models.Q(when_short__in=["park", "refuse", "backorder"]),
                name="routingprofile_when_short_valid",
            ),
        ]

    def __str__(self) -> str:
        where = self.city_id or "every city"
        return f"{self.channel_id} v{self.version} ({where}, {self.status})"


class ConfigChange(models.Model):
    """Who changed a routing setting (a channel buffer, a capacity, a routing profile), when,
    from what to what. Written by the services that make the change, never edited."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=16, help_text="api, admin, page or rollout")
    kind = models.CharField(max_length=32)
    target = models.CharField(max_length=128)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "omni_configchange"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["kind", "target"], name="configchange_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.target}: {self.old} → {self.new}"
