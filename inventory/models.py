"""The stock model: a ledger of moves between locations and the stock levels it projects."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    barcode = models.CharField(max_length=64, unique=True, null=True, blank=True)
    unit = models.CharField(max_length=16, default="each")
    pack_size = models.PositiveIntegerField(default=1, help_text="Units per shipping pack.")
    unit_volume = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("0.0010"), help_text="m³ per unit"
    )
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pack_size__gte=1), name="product_pack_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_volume__gte=0), name="product_volume_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(cost__gte=0) & Q(price__gte=0), name="product_money_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class LocationKind(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse (DC)"
    STORE = "store", "Store"
    SUPPLIER = "supplier", "Supplier (virtual)"
    CUSTOMER = "customer", "Customer (virtual)"
    ADJUSTMENT = "adjustment", "Adjustment (virtual)"
    TRANSIT = "transit", "In transit (virtual)"
    SCRAP = "scrap", "Scrap (virtual)"


PHYSICAL_KINDS = (LocationKind.WAREHOUSE, LocationKind.STORE)
VIRTUAL_KINDS = (
    LocationKind.SUPPLIER,
    LocationKind.CUSTOMER,
    LocationKind.ADJUSTMENT,
    LocationKind.TRANSIT,
    LocationKind.SCRAP,
)


class Location(models.Model):
    """A node that can hold stock. Virtual kinds exist once each (see the data migration) and
    balance the ledger: stock comes from ``supplier``, leaves to ``customer``, and so on."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=LocationKind.choices)
    city = models.ForeignKey(
        "omni.City", on_delete=models.PROTECT, null=True, blank=True, related_name="locations"
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    capacity = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Storage volume in m³; empty means unbounded.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=VIRTUAL_KINDS) | (Q(city__isnull=False)),
                name="location_physical_has_city",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | (Q(latitude__gte=-90) & Q(latitude__lte=90)),
                name="location_latitude_valid",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True)
                | (Q(longitude__gte=-180) & Q(longitude__lte=180)),
                name="location_longitude_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_physical(self) -> bool:
        return self.kind in PHYSICAL_KINDS


class Bin(models.Model):
    """A shelf position in a physical location. ``sequence`` is the walking order of the
    location's pick path (zone, aisle, bay, level laid out once by whoever slots the floor):
    pick tasks are walked by it, so it is unique per location."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="bins")
    code = models.CharField(max_length=32, help_text="e.g. A-03-2 (zone-aisle/bay-level).")
    zone = models.CharField(max_length=16, blank=True)
    aisle = models.PositiveSmallIntegerField(default=0)
    bay = models.PositiveSmallIntegerField(default=0)
    level = models.PositiveSmallIntegerField(default=0)
    sequence = models.PositiveIntegerField(help_text="Walking order in the location.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["location", "code"], name="bin_code_unique"),
            models.UniqueConstraint(fields=["location", "sequence"], name="bin_sequence_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class HomeBin(models.Model):
    """Where a SKU lives in a location: receiving puts it away there and waves pick it from
    there. Staff move it; a pick task keeps the bin code it was made with."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="home_bins")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="home_of")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "product"], name="homebin_unique_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: bin {self.bin_id}"


class StockLevel(models.Model):
    """On hand and reserved for one SKU at one physical location: a projection of the ledger,
    written in the same transaction as each move."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "product"], name="stocklevel_unique"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="stocklevel_on_hand_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stocklevel_reserved_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stocklevel_reserved_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.on_hand} on hand, {self.reserved} held"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MoveReason(models.TextChoices):
    RECEIPT = "receipt", "Supplier receipt"
    SALE = "sale", "Store sale"
    SHIP = "ship", "Shipped to customer"
    PICKUP = "pickup", "Picked up by customer"
    TRANSFER_OUT = "transfer_out", "Transfer dispatched"
    TRANSFER_IN = "transfer_in", "Transfer received"
    COUNT = "count", "Stock count"
    ADJUSTMENT = "adjustment", "Adjustment"
    RETURN = "return", "Customer return"
    SCRAP = "scrap", "Scrapped"


class StockMove(models.Model):
    """The ledger: ``quantity`` units of a SKU from one location to another. Append-only:
    the database refuses UPDATE and DELETE (see migration 0002); a mistake is corrected by a
    new move."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="moves")
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="moves_out")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="moves_in")
    quantity = models.IntegerField()
    reason = models.CharField(max_length=16, choices=MoveReason.choices)
    reference = models.CharField(max_length=64, blank=True, db_index=True)
    note = models.CharField(max_length=255, blank=True)
    reservation = models.ForeignKey(
        "Reservation", on_delete=models.PROTECT, null=True, blank=True, related_name="moves"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Valuation (docs/valuation.md): the unit cost the move carried and its value
    # (quantity × unit cost; the last unit out takes the remaining value). Empty on moves
    # booked before costs were kept.
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    # What the customer paid for these units, net of the line's discounts (a sale, shipment
    # or pickup), or was refunded (a return). Empty on other moves and on sales booked before
    # it was kept: valuation then counts the product's list price (docs/valuation.md).
    revenue = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="stockmove_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(from_location=F("to_location")), name="stockmove_distinct_ends"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "from_location"], name="stockmove_product_from"),
            models.Index(fields=["product", "to_location"], name="stockmove_product_to"),
        ]

    def __str__(self) -> str:
        ends = f"{self.from_location_id}→{self.to_location_id}"
        return f"#{self.pk} {self.quantity}× {self.product_id}: {ends}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONSUMED = "consumed", "Consumed"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"


class Reservation(models.Model):
    """A hold of stock at a physical location for an owner (an order line, a pickup, a
    transfer line). ``StockLevel.reserved`` is the sum of the active ones."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.IntegerField()
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    owner_type = models.CharField(max_length=32, help_text="What holds the stock, e.g. order_line.")
    owner_id = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="reservation_status_expiry"),
            models.Index(fields=["owner_type", "owner_id"], name="reservation_owner"),
            models.Index(fields=["product", "location", "status"], name="reservation_level_status"),
        ]

    def __str__(self) -> str:
        return f"R{self.pk} {self.quantity}× {self.product_id}@{self.location_id} ({self.status})"


class Receipt(models.Model):
    """Goods received from a supplier at a location."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="receipts")
    supplier = models.CharField(max_length=100, blank=True)
    supplier_reference = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Receipt {self.pk} at {self.location_id}"


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    unit_cost = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="What the supplier charged per unit; empty: received at the average cost.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="receiptline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id}"


class StockCount(models.Model):
    """A physical count at a location; each line's difference became a ``count`` move."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="counts")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Count {self.pk} at {self.location_id}"


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(help_text="On hand in the system when counted.")
    counted = models.IntegerField()
    released_reserved = models.IntegerField(
        default=0, help_text="Holds released to allow the count."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(counted__gte=0), name="countline_counted_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.expected} → {self.counted}"

    @property
    def difference(self) -> int:
        return self.counted - self.expected


class ReceivingCause(models.TextChoices):
    """Why a received line differs from what was expected. A shortfall ``damaged`` goes to
    ``scrap`` (the units came, unusable); every other difference goes through ``adjustment``
    and asks the sending location to count the SKU."""

    SHORT_IN_TRANSIT = "short_in_transit", "Short: missing from the delivery"
    DAMAGED = "damaged", "Short: arrived damaged"
    WRONG_ITEM = "wrong_item", "Short: another item came instead"
    OVER_SHIPPED = "over_shipped", "Over: more came than was sent"
    OTHER = "other", "Other (say why)"


SHORT_CAUSES = (
    ReceivingCause.SHORT_IN_TRANSIT,
    ReceivingCause.DAMAGED,
    ReceivingCause.WRONG_ITEM,
    ReceivingCause.OTHER,
)
OVER_CAUSES = (ReceivingCause.OVER_SHIPPED, ReceivingCause.OTHER)


class TransferStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved (reserved at source)"
    DISPATCHED = "dispatched", "Dispatched (in transit)"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class Transfer(models.Model):
    """Stock moving between two physical locations:
    draft → approved (reserved at source) → dispatched (source → transit) → received."""

    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(
        max_length=16, choices=TransferStatus.choices, default=TransferStatus.DRAFT
    )
    reference = models.CharField(max_length=64, blank=True, help_text="e.g. the allocation run.")
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_distinct_ends"
            ),
        ]

    def __str__(self) -> str:
        return f"T{self.pk} {self.source_id}→{self.destination_id} ({self.status})"

    @property
    def ledger_reference(self) -> str:
        return f"transfer:{self.pk}"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_quantity = models.IntegerField(null=True, blank=True)
    discrepancy_cause = models.CharField(
        max_length=16,
        choices=ReceivingCause.choices,
        blank=True,
        help_text="Why the received quantity differs from the sent one.",
    )
    discrepancy_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="transferline_quantity_positive"
            ),
            models.UniqueConstraint(fields=["transfer", "product"], name="transferline_unique_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id}"


class DiscrepancyStatus(models.TextChoices):
    OPEN = "open", "Open: count it"
    RESOLVED = "resolved", "Resolved"


class DiscrepancyCause(models.TextChoices):
    """What raised the flag, so the count page can say why in the reader's language."""

    SHORT_PICK = "short_pick", "Short pick"
    COUNTER_SALE = "counter_sale", "Counter sale of more than the system showed"
    TRANSFER_SHORT = "transfer_short", "A transfer from here arrived short"
    TRANSFER_OVER = "transfer_over", "A transfer from here arrived with more"


class StockDiscrepancy(models.Model):
    """A flag that the system's stock and the shelf disagreed: a sale of more than the system
    showed, a short pick. The ledger already holds the correcting move; the flag asks staff to
    count the SKU at the location."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="discrepancies")
    system_quantity = models.BigIntegerField(help_text="On hand in the system when found.")
    observed_quantity = models.BigIntegerField(help_text="What the shelf showed.")
    reason = models.CharField(max_length=255)
    reference = models.CharField(max_length=64, blank=True)
    move = models.ForeignKey(
        StockMove, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cause = models.CharField(
        max_length=16, choices=DiscrepancyCause.choices, blank=True, help_text="Blank: older flags."
    )
    status = models.CharField(
        max_length=16, choices=DiscrepancyStatus.choices, default=DiscrepancyStatus.OPEN
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_count = models.ForeignKey(
        "StockCount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolved_discrepancies",
        help_text="The count that closed this task.",
    )

    class Meta:
        verbose_name_plural = "stock discrepancies"
        ordering = ["-id"]
        indexes = [models.Index(fields=["location", "status"], name="discrepancy_location_status")]

    def __str__(self) -> str:
        seen = f"{self.system_quantity} vs {self.observed_quantity}"
        return f"{self.product_id}@{self.location_id}: {seen}"

    @property
    def difference(self) -> int:
        return self.observed_quantity - self.system_quantity


class ReceivingDraftStatus(models.TextChoices):
    OPEN = "open", "Open: being counted"
    FINISHED = "finished", "Finished: booked"
    DISCARDED = "discarded", "Discarded"


class ReceivingDraft(models.Model):
    """A delivery being received at a location: an arriving transfer, or goods from a supplier
    (a free receipt against scanned items). What has been counted so far is the sum of its
    scans, kept here, not in anyone's session: another login, or another clerk, carries on."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="receiving_drafts"
    )
    supplier = models.CharField(max_length=100, blank=True)
    supplier_reference = models.CharField(max_length=64, blank=True)
    # The document that books this count (``purchase_order``: purchasing's receipt of the PO,
    # which knows its lines and open quantities); empty: the draft books itself.
    booked_by = models.CharField(max_length=32, blank=True)
    blind = models.BooleanField(
        default=False, help_text="Expected quantities hidden until the clerk finishes."
    )
    status = models.CharField(
        max_length=16, choices=ReceivingDraftStatus.choices, default=ReceivingDraftStatus.OPEN
    )
    receipt = models.ForeignKey(
        Receipt, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One open count per arriving transfer: two clerks opening it share it.
            models.UniqueConstraint(
                fields=["transfer"],
                condition=Q(status="open") & Q(transfer__isnull=False),
                name="receivingdraft_one_open_per_transfer",
            ),
        ]
        indexes = [models.Index(fields=["location", "status"], name="receivingdraft_loc_status")]

    def __str__(self) -> str:
        what = f"transfer {self.transfer_id}" if self.transfer_id else "supplier delivery"
        return f"Receiving {self.pk} of {what} at {self.location_id} ({self.status})"


class ReceivingScan(models.Model):
    """One scan (or correction) counted on a receiving draft. ``scan_id`` comes from the
    client: the same scan sent twice (a retry, a double submit) is stored once."""

    draft = models.ForeignKey(ReceivingDraft, on_delete=models.CASCADE, related_name="scans")
    scan_id = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField(help_text="Units counted; negative for a correction.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "scan_id"], name="receivingscan_unique_id"),
            models.CheckConstraint(condition=~Q(quantity=0), name="receivingscan_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.scan_id}: {self.quantity}× {self.product_id}"


class ProductCost(models.Model):
    """The moving-average cost of a SKU, company-wide (docs/valuation.md): the units the company
    owns (on hand at every physical location plus in transit), their value, and the average
    cost = value / quantity rounded to ``COST_PLACES``. Receipts change it, every other move in
    or out of the company's stock takes or adds value at the average; transfers do not touch
    it. ``opening_value`` is what the stock was worth when costs began to be kept (the product's
    standard cost × the units then), so the ledger's values plus it give ``value``."""

    product = models.OneToOneField(
        Product, on_delete=models.PROTECT, primary_key=True, related_name="cost_row"
    )
    quantity = models.BigIntegerField(default=0)
    value = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    average_cost = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    opening_value = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="productcost_quantity_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(average_cost__gte=0), name="productcost_average_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.quantity} at {self.average_cost}"
