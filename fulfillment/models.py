"""Fulfillment: pick lists (waves), packages and shipments, store pickup codes, returns, and
the outbox of customer notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class PickListStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class PickList(models.Model):
    """One wave at one location: every allocated order line and approved transfer line that
    was waiting there when the wave was made."""

    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="pick_lists"
    )
    status = models.CharField(
        max_length=8, choices=PickListStatus.choices, default=PickListStatus.OPEN
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The limits the wave was planned with (empty: none).
    max_orders = models.PositiveIntegerField(null=True, blank=True)
    max_lines = models.PositiveIntegerField(null=True, blank=True)
    max_units = models.PositiveIntegerField(null=True, blank=True)
    # Progress, kept by the services under the list's lock so a picker's page reads one row.
    # ``orders_count`` counts totes: the orders and transfers on the list.
    orders_count = models.PositiveIntegerField(default=0)
    lines_count = models.PositiveIntegerField(default=0)
    units_total = models.PositiveIntegerField(default=0)
    units_picked = models.PositiveIntegerField(default=0)
    tasks_total = models.PositiveIntegerField(default=0)
    tasks_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units_picked__lte=models.F("units_total")),
                name="picklist_units_picked_within",
            ),
            models.CheckConstraint(
                condition=Q(tasks_done__lte=models.F("tasks_total")),
                name="picklist_tasks_done_within",
            ),
        ]

    def __str__(self) -> str:
        return f"Pick list {self.pk} at {self.location_id}"


class PickTaskStatus(models.TextChoices):
    OPEN = "open", "To pick"
    PICKED = "picked", "Picked"
    SHORT = "short", "Short: fewer found"


class PickTask(models.Model):
    """One stop of the picker's walk: every unit of one SKU in one bin that the wave's orders
    and transfers want, picked at once and sorted into their totes (batch picking). Tasks are
    walked by ``sequence`` (the bins' walking order; SKUs without a bin last)."""

    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="tasks")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(
        "inventory.Bin", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    bin_code = models.CharField(
        max_length=32, blank=True, help_text="The bin when the task was made; history keeps it."
    )
    sequence = models.PositiveIntegerField(help_text="Walking order inside the pick list.")
    quantity = models.PositiveIntegerField()
    picked = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=8, choices=PickTaskStatus.choices, default=PickTaskStatus.OPEN
    )

    class Meta:
        ordering = ["pick_list_id", "sequence"]
        constraints = [
            models.CheckConstraint(
                condition=Q(picked__lte=models.F("quantity")), name="picktask_picked_within"
            ),
            models.UniqueConstraint(
                fields=["pick_list", "sequence"], name="picktask_sequence_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["pick_list", "status", "sequence"], name="picktask_walk"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id} from {self.bin_code or '—'} ({self.status})"


class PickLineStatus(models.TextChoices):
    OPEN = "open", "To pick"
    PICKED = "picked", "Picked"
    SHORT = "short", "Short: fewer found"


class PickLine(models.Model):
    """Units of a SKU to take from the shelf for one order allocation or one transfer line."""

    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    bin = models.CharField(max_length=32, blank=True)
    quantity = models.PositiveIntegerField()
    picked = models.PositiveIntegerField(default=0)
    packed = models.PositiveIntegerField(
        default=0,
        help_text="Units of its order allocation put in a package; picked − packed wait to be "
        "packed (sort to order and the packing queue read this, through a partial index).",
    )
    status = models.CharField(
        max_length=8, choices=PickLineStatus.choices, default=PickLineStatus.OPEN
    )
    allocation = models.ForeignKey(
        "orders.Allocation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transfer_line = models.ForeignKey(
        "inventory.TransferLine",
        on_delete=models.SET_NULL,  # a line found empty leaves its transfer; the pick stays
        null=True,
        blank=True,
        related_name="+",
    )
    transfer = models.ForeignKey(
        "inventory.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tote = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The tote of its order or transfer in the list, 1..n."
    )
    task = models.ForeignKey(
        PickTask, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    picked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    picked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["bin", "product__sku", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(allocation__isnull=False) ^ Q(transfer__isnull=False),
                name="pickline_one_source",
            ),
            models.CheckConstraint(
                condition=Q(picked__lte=models.F("quantity")), name="pickline_picked_within"
            ),
            models.CheckConstraint(
                condition=Q(packed__lte=models.F("picked")), name="pickline_packed_within"
            ),
            models.UniqueConstraint(
                fields=["allocation"],
                condition=Q(allocation__isnull=False),
                name="pickline_allocation_once",
            ),
            models.UniqueConstraint(
                fields=["transfer_line"],
                condition=Q(transfer_line__isnull=False),
                name="pickline_transfer_line_once",
            ),
        ]
        indexes = [
            models.Index(fields=["task", "tote"], name="pickline_task_tote"),
            # Only the units picked and not packed yet: what a packing station works on. Its
            # size follows the work in progress, not the history of shipped orders.
            models.Index(
                fields=["product", "pick_list"],
                condition=Q(picked__gt=models.F("packed")) & Q(allocation__isnull=False),
                name="pickline_unpacked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id} ({self.status})"


class PickScan(models.Model):
    """Every scan a picker's device sent, once per ``scan_id`` (the device makes it). A scan
    sent again, because the answer was lost or the queue retried, finds its row and gets the
    same answer; nothing is credited twice. Refused scans are kept with their code too."""

    scan_id = models.UUIDField(unique=True)
    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="scans")
    task = models.ForeignKey(
        PickTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans"
    )
    scanned = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField(default=1)
    result = models.CharField(max_length=32, help_text="picked, or the error code")
    credited = models.PositiveIntegerField(default=0, help_text="Units this scan counted.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["pick_list", "id"], name="pickscan_list")]

    def __str__(self) -> str:
        return f"scan {self.scan_id}: {self.scanned} ({self.result})"


class PackageStatus(models.TextChoices):
    OPEN = "open", "Being packed"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"


class ShippingService(models.TextChoices):
    STANDARD = "standard", "Standard"
    EXPRESS = "express", "Express"
    SAME_DAY = "same_day", "Same day"


class Package(models.Model):
    """A parcel of an order leaving a location; shipping it consumes the holds it carries.

    Packed by scanning, it is ``open`` while units are scanned into it (one open package per
    order and location), ``packed`` once closed (carrier, service, weight; its label can be
    printed), ``shipped`` when it leaves."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="packages")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=8, choices=PackageStatus.choices, default=PackageStatus.PACKED
    )
    carrier = models.CharField(max_length=50, blank=True)
    service = models.CharField(max_length=16, choices=ShippingService.choices, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "location"],
                condition=Q(status="open"),
                name="package_one_open_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Package {self.pk} of order {self.order_id}"


class PackageLine(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="lines")
    allocation = models.ForeignKey("orders.Allocation", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="packageline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× allocation {self.allocation_id}"


class PackScan(models.Model):
    """One scan of a unit into a package, under the id the scanning device gave it: the same
    id sent again (a retry, a double submit) finds this row and changes nothing."""

    scan_id = models.CharField(max_length=64, unique=True)
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="scans")
    pick_line = models.ForeignKey(PickLine, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    scanned = models.CharField(max_length=64, blank=True, help_text="The code as it was read.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="packscan_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id} into package {self.package_id}"


class PickupCode(models.Model):
    """The signed pickup token of an order ready at a store. ``payload_hash`` tells a genuine
    code whose content was altered (tampered) from one this system never issued (forged)."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, related_name="pickup_code"
    )
    store = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    nonce = models.CharField(max_length=32, unique=True)
    payload_hash = models.CharField(max_length=64)
    short_code_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="Keyed hash of the six-digit short code (fulfillment.short_codes); never the "
        "digits. Empty on codes issued before short codes existed: QR only.",
    )
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Pickup code of order {self.order_id} at {self.store_id}"


class PickupAttempt(models.Model):
    """Every code shown at a counter, accepted or refused: fraud leaves a trail."""

    code = models.ForeignKey(
        PickupCode, on_delete=models.PROTECT, null=True, blank=True, related_name="attempts"
    )
    store = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    result = models.CharField(max_length=32, help_text="redeemed, or the error code")
    method = models.CharField(
        max_length=16,
        choices=[("qr", "QR code"), ("short_code", "Short code")],
        default="qr",
        help_text="Scanned token, or short code typed with the order number or phone digits.",
    )
    token_excerpt = models.CharField(max_length=80, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.result} at {self.store_id}"


class Notification(models.Model):
    """The outbox: a message to a customer, written in the transaction that caused it and sent
    by a Celery task after commit (Django's email backend here; an SMS gateway plugs in the same
    way). ``sent_at`` is set in the transaction that sent it, so a retry never sends it twice;
    a failed send leaves ``attempts`` and ``last_error`` for the next try."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32)
    recipient = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Sends tried, failed or not.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} for order {self.order_id}"


class ReturnDisposition(models.TextChoices):
    RESTOCK = "restock", "Back to stock"
    SCRAP = "scrap", "Scrap"


class Return(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Return {self.pk} of order {self.order_id}"


class ReturnLine(models.Model):
    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    disposition = models.CharField(max_length=8, choices=ReturnDisposition.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="returnline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× line {self.order_line_id} ({self.disposition})"
