"""API schemas of the inventory router, in ``XIn`` / ``XOut`` pairs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema

from omni.schemas import FreeText, InputSchema

from .models import ReceivingCause
from .services import MAX_LINE_QUANTITY

Sku = Annotated[str, Field(min_length=1, max_length=64)]
LocationCode = Annotated[str, Field(min_length=1, max_length=32)]
Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_LINE_QUANTITY)]
Counted = Annotated[int, Field(strict=True, ge=0, le=MAX_LINE_QUANTITY)]
MAX_LINES = 1000


class ProductIn(InputSchema):
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    barcode: Annotated[str | None, Field(max_length=64)] = None
    unit: Annotated[str, Field(min_length=1, max_length=16)] = "each"
    pack_size: Annotated[int, Field(strict=True, ge=1, le=100_000)] = 1
    unit_volume: Annotated[float, Field(ge=0, le=1_000_000)] = 0.001
    cost: Annotated[float, Field(ge=0, le=1e9)] = 0
    price: Annotated[float, Field(ge=0, le=1e9)] = 0
    active: bool = True


class ProductOut(Schema):
    sku: str
    name: str
    barcode: str | None
    unit: str
    pack_size: int
    unit_volume: float
    cost: float
    price: float
    active: bool


class LocationOut(Schema):
    code: str
    name: str
    kind: str
    city: str | None = Field(None, alias="city.code")
    latitude: float | None
    longitude: float | None
    capacity: float | None
    active: bool


BinCode = Annotated[str, Field(min_length=1, max_length=32)]
SmallInt = Annotated[int, Field(strict=True, ge=0, le=32_767)]


class BinIn(InputSchema):
    """A bin of the location: its code, its place in the walk (``sequence``, unique in the
    location) and where it is (zone, aisle, bay, level)."""

    code: BinCode
    sequence: Annotated[int, Field(strict=True, ge=1, le=2_000_000_000)]
    zone: Annotated[str, Field(max_length=16)] = ""
    aisle: SmallInt = 0
    bay: SmallInt = 0
    level: SmallInt = 0
    active: bool = True


class BinOut(Schema):
    code: str
    location: str = Field(alias="location.code")
    zone: str
    aisle: int
    bay: int
    level: int
    sequence: int
    active: bool


class HomeBinIn(InputSchema):
    sku: Sku
    bin: BinCode


class HomeBinOut(Schema):
    sku: str = Field(alias="product.sku")
    name: str = Field(alias="product.name")
    location: str = Field(alias="location.code")
    bin: str = Field(alias="bin.code")
    sequence: int = Field(alias="bin.sequence")
    updated_at: datetime


class StockLevelOut(Schema):
    sku: str = Field(alias="product.sku")
    location: str = Field(alias="location.code")
    on_hand: int
    reserved: int
    available: int
    updated_at: datetime


class MoveOut(Schema):
    id: int
    sku: str = Field(alias="product.sku")
    from_location: str = Field(alias="from_location.code")
    to_location: str = Field(alias="to_location.code")
    quantity: int
    reason: str
    reference: str
    note: str
    reservation_id: int | None
    actor: str | None = Field(None, alias="actor.username")
    created_at: datetime


class LineIn(InputSchema):
    sku: Sku
    quantity: Quantity


class ReceiptLineIn(LineIn):
    """A received line; ``unit_cost``, what the supplier charged per unit, moves the SKU's
    moving-average cost (omitted: the line comes in at the current average)."""

    unit_cost: Annotated[Decimal, Field(ge=0, le=99999999, decimal_places=4)] | None = None


class ReceiptLineOut(Schema):
    sku: str = Field(alias="product.sku")
    quantity: int
    unit_cost: Decimal | None = None


class ReceiptIn(InputSchema):
    location: LocationCode
    supplier: Annotated[str, Field(max_length=100)] = ""
    supplier_reference: Annotated[str, Field(max_length=64)] = ""
    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=MAX_LINES)]


class ReceiptOut(Schema):
    id: int
    location: str = Field(alias="location.code")
    supplier: str
    supplier_reference: str
    created_at: datetime
    lines: list[ReceiptLineOut]


class CountLineIn(InputSchema):
    sku: Sku
    counted: Counted


class CountIn(InputSchema):
    location: LocationCode
    release_holds: bool = False
    note: Annotated[FreeText, Field(max_length=255)] = ""
    lines: Annotated[list[CountLineIn], Field(min_length=1, max_length=MAX_LINES)]


class CountLineOut(Schema):
    sku: str = Field(alias="product.sku")
    expected: int
    counted: int
    difference: int
    released_reserved: int


class CountOut(Schema):
    id: int
    location: str = Field(alias="location.code")
    note: str
    created_at: datetime
    lines: list[CountLineOut]


class ReserveIn(InputSchema):
    location: LocationCode
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]
    owner_type: Annotated[str, Field(min_length=1, max_length=32)] = "manual"
    owner_id: Annotated[str, Field(max_length=64)] = ""
    expires_in_seconds: Annotated[int | None, Field(strict=True, ge=1, le=90 * 24 * 3600)] = None


class ReservationOut(Schema):
    id: int
    sku: str = Field(alias="product.sku")
    location: str = Field(alias="location.code")
    quantity: int
    status: str
    owner_type: str
    owner_id: str
    expires_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    close_reason: str


class ReleaseIn(InputSchema):
    reason: Annotated[str, Field(max_length=64)] = "released"


class TransferIn(InputSchema):
    source: LocationCode
    destination: LocationCode
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]
    reference: Annotated[str, Field(max_length=64)] = ""
    note: Annotated[FreeText, Field(max_length=255)] = ""


class TransferLineOut(Schema):
    sku: str = Field(alias="product.sku")
    quantity: int
    received_quantity: int | None
    discrepancy_cause: str
    discrepancy_reason: str
    reservation_id: int | None


class TransferOut(Schema):
    id: int
    source: str = Field(alias="source.code")
    destination: str = Field(alias="destination.code")
    status: str
    reference: str
    note: str
    created_at: datetime
    approved_at: datetime | None
    dispatched_at: datetime | None
    received_at: datetime | None
    cancelled_at: datetime | None
    lines: list[TransferLineOut]


class ReceivedLineIn(InputSchema):
    sku: Sku
    received: Counted
    reason: Annotated[str, Field(max_length=255)] = ""
    # Why the line differs: a ``ReceivingCause`` (``damaged`` books the shortfall to scrap).
    cause: ReceivingCause | Literal[""] = ""


class TransferReceiveIn(InputSchema):
    lines: Annotated[list[ReceivedLineIn], Field(max_length=MAX_LINES)] = []
