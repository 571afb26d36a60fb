"""Orders from every channel: the order, its lines, and where each line's stock is held.

An order's status moves only along ``ORDER_TRANSITIONS`` (see ``services.order_set_status``);
payment is tracked apart from it, because an unpaid order still holds stock until its hold
expires.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inventory.models import ReservationStatus

# A hold that counts for its line: still held, or already taken (picked and shipped, sold).
HELD_STATUSES = (ReservationStatus.ACTIVE, ReservationStatus.CONSUMED)


class OrderMode(models.TextChoices):
    DELIVERY = "delivery", "Delivery"
    PICKUP = "pickup", "Pickup in store"
    STORE_SALE = "store_sale", "Store sale"


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PAID = "paid", "Paid"


class OrderStatus(models.TextChoices):
    PARKED = "parked", "Parked: waits for stock, holds nothing yet"
    RESERVED = "reserved", "Reserved: every unit is held"
    BACKORDERED = "backordered", "Backordered: some units wait for stock"
    PROCESSING = "processing", "Being picked or packed"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired: unpaid hold ran out"


S = OrderStatus
# Where an order may go from each status. Terminal statuses go nowhere.
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PARKED: frozenset({S.RESERVED, S.BACKORDERED, S.CANCELLED, S.EXPIRED}),
    S.RESERVED: frozenset(
        {
            S.PARKED,
            S.BACKORDERED,
            S.PROCESSING,
            S.READY_FOR_PICKUP,
            S.COMPLETED,
            S.CANCELLED,
            S.EXPIRED,
        }
    ),
    S.BACKORDERED: frozenset(
        {S.PARKED, S.RESERVED, S.PROCESSING, S.PARTIALLY_SHIPPED, S.CANCELLED, S.EXPIRED}
    ),
    S.PROCESSING: frozenset(
        {S.BACKORDERED, S.READY_FOR_PICKUP, S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}
    ),
    S.READY_FOR_PICKUP: frozenset({S.COMPLETED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
OPEN_STATUSES = frozenset({S.PARKED, S.RESERVED, S.BACKORDERED})


class Order(models.Model):
    channel = models.ForeignKey("network.Channel", on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=64, help_text="The channel's own order number.")
    city = models.ForeignKey("omni.City", on_delete=models.PROTECT, related_name="orders")
    mode = models.CharField(max_length=16, choices=OrderMode.choices)
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    payment_status = models.CharField(
        max_length=8, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    customer_name = models.CharField(max_length=100, blank=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    member_id = models.CharField(max_length=64, blank=True)
    pickup_store = models.ForeignKey(
        "inventory.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Pickup: where the customer collects. Store sale: the selling store.",
    )
    delivery_address = models.CharField(max_length=255, blank=True)
    delivery_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    delivery_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    hold_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="An unpaid order's stock goes back at this time."
    )
    sourcing = models.JSONField(
        default=dict, blank=True, help_text="The sourcing decision: candidates, choice, reason."
    )
    sourcing_reason = models.CharField(max_length=255, blank=True)
    promised_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the customer was promised the order (a pickup: ready by); waiting "
        "orders are served by this, else by age.",
    )
    routing_profile = models.ForeignKey(
        "network.RoutingProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        help_text="The profile version that last routed the order; empty: simple sourcing.",
    )
    waiting_since = models.DateTimeField(
        null=True, blank=True, help_text="Parked or backordered since; empty when not waiting."
    )
    flagged = models.CharField(
        max_length=255, blank=True, help_text="Needs a person: why (e.g. stock taken by a sale)."
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_external_id_unique_per_channel"
            ),
            models.CheckConstraint(
                condition=~Q(mode="delivery")
                | (Q(delivery_latitude__isnull=False) & Q(delivery_longitude__isnull=False)),
                name="order_delivery_has_geo_point",
            ),
            models.CheckConstraint(
                condition=Q(mode="delivery") | Q(pickup_store__isnull=False),
                name="order_store_modes_have_store",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "payment_status", "hold_expires_at"], name="order_hold"),
            models.Index(
                fields=["promised_at", "created_at"],
                condition=Q(waiting_since__isnull=False),
                name="order_waiting_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.channel_id}:{self.external_id})"

    @property
    def reference(self) -> str:
        """How the ledger and reservations name this order."""
        return f"order:{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    discount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Discount on the line from coupons (the order adjusters, orders.adjusters).",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="orderline_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount__gte=0)
                & Q(discount__lte=models.F("quantity") * models.F("unit_price")),
                name="orderline_discount_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id}"

    def net_amount(self, units: int) -> Decimal:
        """What ``units`` of this line are paid: their share of the line's total net of its
        discount, at 4 places (the ledger's ``StockMove.revenue``)."""
        net = self.quantity * self.unit_price - self.discount
        return (net * units / self.quantity).quantize(Decimal("0.0001"))

    @property
    def owner_id(self) -> str:
        """The reservation owner id of this line's holds (``owner_type`` ``order_line``)."""
        return str(self.pk)

    def held_allocations(self) -> list[Allocation]:
        """Its allocations whose hold is active or already taken (consumed). Reads prefetched
        ``allocations__reservation`` when the caller prefetched them, else one query."""
        if "allocations" in getattr(self, "_prefetched_objects_cache", {}):
            allocations = list(self.allocations.all())
        else:
            allocations = list(self.allocations.select_related("reservation", "location"))
        return [a for a in allocations if a.reservation.status in HELD_STATUSES]

    @property
    def units_held(self) -> int:
        """Units of the line held or already taken."""
        return sum(a.quantity for a in self.held_allocations())

    @property
    def units_missing(self) -> int:
        """Units of the line neither held nor taken: what it waits for."""
        return max(0, self.quantity - self.units_held)


class Allocation(models.Model):
    """Part of a line sourced to one location, held by one reservation."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reservation = models.OneToOneField(
        "inventory.Reservation", on_delete=models.PROTECT, related_name="allocation"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="allocation_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× line {self.line_id} at {self.location_id}"


class CapacityUse(models.Model):
    """Orders a location has taken on for a service on a day (its local date). Taken by one
    conditional UPDATE against the day's limit, so two orders cannot both take the last slot."""

    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    service = models.CharField(max_length=16)
    day = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "location_id", "service"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "service", "day"], name="capacityuse_unique_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location_id} {self.service} {self.day}: {self.used}"


class CapacitySlot(models.Model):
    """The slot an order holds at a location: given back if the order is cancelled, expires or
    is routed elsewhere before the work is done."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="capacity_slots")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    service = models.CharField(max_length=16)
    day = models.DateField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "location", "service"],
                condition=Q(released_at__isnull=True),
                name="capacityslot_one_open_per_node",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} at {self.location_id} {self.service} {self.day}"


# --------------------------------------------------------------------------- walk-in hold tickets


class HoldTicketStatus(models.TextChoices):
    DRAFT = "draft", "Being written"
    HELD = "held", "Held"
    SOLD = "sold", "Sold"
    RELEASED = "released", "Released"


HOLD_TICKET_OWNER = "hold_ticket_line"  # Reservation.owner_type of a ticket line's hold


class HoldTicket(models.Model):
    """A walk-in customer's hold at a store counter: several SKUs × quantities, held until a
    time for someone named by name or phone, then sold at the counter (some or all lines, the
    rest released) or released. A clerk writes it as a draft (from the stock lookup); holding
    it reserves every line at once, all or nothing (``orders.services.hold_ticket_hold``)."""

    store = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=HoldTicketStatus.choices, default=HoldTicketStatus.DRAFT
    )
    customer_name = models.CharField(max_length=100, blank=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    hold_until = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    order = models.OneToOneField(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hold_ticket",
        help_text="The counter sale the ticket became.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    held_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["store", "status"], name="holdticket_store_status")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """What the clerk writes on the ticket and the customer says when they come back."""
        return f"W-{self.pk}"


class HoldTicketLine(models.Model):
    ticket = models.ForeignKey(HoldTicket, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    reservation = models.ForeignKey(
        "inventory.Reservation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sold = models.IntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "product"], name="holdticketline_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(sold__gte=0) & Q(sold__lte=models.F("quantity")),
                name="holdticketline_quantities",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id} on {self.ticket_id}"
