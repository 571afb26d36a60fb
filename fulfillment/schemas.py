"""API schemas of fulfillment, in ``XIn`` / ``XOut`` pairs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema

from inventory.schemas import LocationCode, Quantity, Sku
from omni.schemas import InputSchema

from .models import ReturnDisposition, ShippingService

Count = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]


WaveLimit = Annotated[int, Field(strict=True, ge=1, le=10_000)]
WaveMode = Literal["delivery", "pickup", "transfer"]


class PickWavePlanIn(InputSchema):
    """The next wave at a location. Limits left out are the defaults (40 orders, 120 lines,
    400 units), unless ``orders`` names the orders (then none)."""

    location: LocationCode
    orders: Annotated[list[int], Field(max_length=500)] | None = None
    max_orders: WaveLimit | None = None
    max_lines: WaveLimit | None = None
    max_units: WaveLimit | None = None
    modes: Annotated[list[WaveMode], Field(min_length=1, max_length=3)] | None = None
    promised_by: datetime | None = None


class PickWaveIn(PickWavePlanIn):
    assign_to: Annotated[str, Field(min_length=1, max_length=150)] | None = None


class WaveEntryOut(Schema):
    kind: str
    id: int
    mode: str
    promised_at: datetime | None
    lines: int
    units: int


class WavePlanOut(Schema):
    location: str
    max_orders: int | None
    max_lines: int | None
    max_units: int | None
    lines: int
    units: int
    taken: list[WaveEntryOut]
    waiting_count: int
    waiting_lines: int
    waiting_units: int


class PickIn(InputSchema):
    scan: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Quantity = 1


class ShortIn(InputSchema):
    found: Count


class PickLineOut(Schema):
    id: int
    sku: str = Field(alias="product.sku")
    name: str = Field(alias="product.name")
    barcode: str | None = Field(None, alias="product.barcode")
    bin: str
    quantity: int
    picked: int
    status: str
    order_id: int | None = Field(None, alias="allocation.line.order_id")
    transfer_id: int | None
    tote: int | None
    task_id: int | None


class PickListHeadOut(Schema):
    """A pick list without its lines: its limits and progress counters."""

    id: int
    location: str = Field(alias="location.code")
    status: str
    assigned_to: str | None = Field(None, alias="assigned_to.username")
    created_at: datetime
    completed_at: datetime | None
    max_orders: int | None
    max_lines: int | None
    max_units: int | None
    orders_count: int
    lines_count: int
    units_total: int
    units_picked: int
    tasks_total: int
    tasks_done: int


class PickListOut(PickListHeadOut):
    lines: list[PickLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        if "lines" in getattr(obj, "_prefetched_objects_cache", {}):
            return list(obj.lines.all())  # a list's page prefetched them (selectors.PICK_LINES)
        return list(obj.lines.select_related("product", "allocation__line"))


class PickTaskOut(Schema):
    id: int
    sequence: int
    sku: str = Field(alias="product.sku")
    name: str = Field(alias="product.name")
    barcode: str | None = Field(None, alias="product.barcode")
    bin: str = Field(alias="bin_code")
    quantity: int
    picked: int
    status: str


class ToteOut(Schema):
    tote: int
    quantity: int
    picked: int
    status: str
    order_id: int | None
    transfer_id: int | None


class PickScanOut(Schema):
    scan_id: UUID
    scanned: str
    quantity: int
    result: str
    credited: int
    task_id: int | None
    created_at: datetime


class PickProgressOut(Schema):
    """What a handheld shows: the list's counters, the current stop, its totes, the next."""

    pick_list: PickListHeadOut
    current: PickTaskOut | None
    next: PickTaskOut | None
    totes: list[ToteOut]
    last_scan: PickScanOut | None


class PickScanIn(InputSchema):
    """One scan, once: ``scan_id`` is made by the device (a UUID); sending it again gets the
    same answer. ``task`` is the stop the device showed (default: the current one)."""

    scan_id: UUID
    scan: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Quantity = 1
    task: Annotated[int, Field(strict=True, ge=1)] | None = None


class PickScanResultOut(Schema):
    scan: PickScanOut
    replayed: bool
    progress: PickProgressOut


class PackLineIn(InputSchema):
    sku: Sku
    quantity: Quantity


class PackageIn(InputSchema):
    location: LocationCode
    carrier: Annotated[str, Field(max_length=50)] = ""
    tracking_number: Annotated[str, Field(max_length=64)] = ""
    lines: Annotated[list[PackLineIn], Field(min_length=1, max_length=200)] | None = None
    partial: bool = False


class PackScanIn(InputSchema):
    location: LocationCode
    scan: Annotated[str, Field(min_length=1, max_length=64)]
    scan_id: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Quantity = 1
    partial: bool = False


class PackScanOut(Schema):
    scan_id: str
    repeated: bool
    order_id: int
    package_id: int
    sku: str
    quantity: int
    packed: int
    wanted: int
    tote: int | None


class PackageCloseIn(InputSchema):
    carrier: Annotated[str, Field(max_length=50)] = ""
    service: ShippingService = ShippingService.STANDARD
    weight_grams: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    tracking_number: Annotated[str, Field(max_length=64)] = ""


class ShipIn(InputSchema):
    carrier: Annotated[str, Field(max_length=50)] = ""
    tracking_number: Annotated[str, Field(max_length=64)] = ""


class PackageLineOut(Schema):
    sku: str = Field(alias="allocation.line.product.sku")
    quantity: int


class PackageOut(Schema):
    id: int
    order_id: int
    location: str = Field(alias="location.code")
    status: str
    carrier: str
    service: str
    tracking_number: str
    weight_grams: int | None
    created_at: datetime
    closed_at: datetime | None
    shipped_at: datetime | None
    lines: list[PackageLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.select_related("allocation__line__product"))


class PickupCodeOut(Schema):
    order_id: int
    store: str
    code: str
    short_code: str = Field(
        description="Six digits the customer can read out when the QR code cannot be scanned "
        "(empty on codes issued before short codes existed)."
    )
    expires_at: datetime
    redeemed_at: datetime | None
    qr_svg: str
    qr_png: str


class RedeemIn(InputSchema):
    code: Annotated[str, Field(min_length=1, max_length=600)]
    store: LocationCode


class ShortCodeRedeemIn(InputSchema):
    """A short code with the order number or the phone's last four digits (exactly one)."""

    store: LocationCode
    short_code: Annotated[str, Field(min_length=1, max_length=20)]
    order: Annotated[str, Field(max_length=64)] = ""
    phone_last4: Annotated[str, Field(max_length=8)] = ""


class RedeemOut(Schema):
    order_id: int
    status: str
    store: str


class PublicKeyOut(Schema):
    algorithm: str
    public_key_pem: str
    token_format: str


class ReturnLineIn(InputSchema):
    sku: Sku
    quantity: Quantity
    disposition: ReturnDisposition = ReturnDisposition.RESTOCK


class ReturnIn(InputSchema):
    order: int
    location: LocationCode
    reason: Annotated[str, Field(max_length=200)] = ""
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=200)]


class ReturnLineOut(Schema):
    sku: str = Field(alias="order_line.product.sku")
    quantity: int
    disposition: str


class ReturnOut(Schema):
    id: int
    order_id: int
    location: str = Field(alias="location.code")
    reason: str
    created_at: datetime
    lines: list[ReturnLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.select_related("order_line__product"))
