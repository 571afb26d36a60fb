"""API schemas of the purchasing router, in ``XIn`` / ``XOut`` pairs.

Ranges of business meaning (MOQ ≥ 1, lead time ≥ 0, …) are the services' to check, so a bad
value gets the error naming that field (``supplier_item_invalid``, …) whether it comes from the
API, a page or a command; the schemas only hold values to their JSON types and sane sizes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema

from omni.schemas import FreeText, InputSchema, QuerySchema

Code = Annotated[str, Field(min_length=1, max_length=32)]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Whole = Annotated[int, Field(strict=True, ge=-1_000_000_000, le=1_000_000_000)]
Money = Annotated[Decimal, Field(ge=-1_000_000_000, le=1_000_000_000, max_digits=20)]
MAX_LINES = 1000


class SupplierIn(InputSchema):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[
        str,
        Field(
            max_length=8,
            description="Empty: the company currency for a new supplier, its own on an update.",
        ),
    ] = ""
    delivers_to_dc: bool = True
    delivers_to_stores: bool = False
    over_receipt_tolerance: Money = Decimal(0)
    active: bool = True
    email: Annotated[str, Field(max_length=254)] = ""
    note: Annotated[FreeText, Field(max_length=255)] = ""


class SupplierOut(Schema):
    code: str
    name: str
    currency: str
    delivers_to_dc: bool
    delivers_to_stores: bool
    over_receipt_tolerance: Decimal
    active: bool
    email: str
    note: str


class SupplierItemIn(InputSchema):
    cost: Money
    lead_time_days: Whole
    moq: Whole = 1
    order_multiple: Whole = 1
    preferred: bool = False
    currency: Annotated[str, Field(min_length=1, max_length=8)] | None = None
    supplier_sku: Annotated[str, Field(max_length=64)] = ""
    active: bool = True


class SupplierItemOut(Schema):
    supplier: str = Field(..., alias="supplier.code")
    sku: str = Field(..., alias="product.sku")
    supplier_sku: str
    cost: Decimal
    currency: str
    moq: int
    order_multiple: int
    lead_time_days: int
    preferred: bool
    active: bool


class PurchaseOrderLineIn(InputSchema):
    sku: Sku
    quantity: Whole
    unit_cost: Money | None = None


class PurchaseOrderIn(InputSchema):
    supplier: Code
    ship_to: Code
    lines: Annotated[list[PurchaseOrderLineIn], Field(min_length=1, max_length=MAX_LINES)]
    expected_arrival: date | None = None
    reference: Annotated[str, Field(max_length=64)] = ""
    note: Annotated[FreeText, Field(max_length=255)] = ""
    rounding: bool = True


class PurchaseOrderLinesIn(InputSchema):
    lines: Annotated[list[PurchaseOrderLineIn], Field(min_length=1, max_length=MAX_LINES)]
    rounding: bool = True


class SendIn(InputSchema):
    expected_arrival: date | None = None


class PurchaseOrderCancelIn(InputSchema):
    reason: Annotated[FreeText, Field(max_length=255)] = ""


class CloseLineIn(InputSchema):
    reason: Annotated[FreeText, Field(min_length=1, max_length=255)]


class PurchaseOrderLineOut(Schema):
    sku: str
    name: str
    quantity_ordered: int
    quantity_received: int
    quantity_cancelled: int
    open_quantity: int
    unit_cost: Decimal
    close_reason: str


class PurchaseOrderOut(Schema):
    number: str
    supplier: str
    ship_to: str
    status: str
    currency: str
    exchange_rate: Decimal | None = Field(
        ..., description="Company currency per unit of ``currency``, fixed when it was sent."
    )
    expected_arrival: date | None
    reference: str
    note: str
    created_at: datetime
    sent_at: datetime | None
    closed_at: datetime | None
    lines: list[PurchaseOrderLineOut]


class PurchaseOrderSummaryOut(Schema):
    number: str
    supplier: str = Field(..., alias="supplier.code")
    ship_to: str = Field(..., alias="ship_to.code")
    status: str
    expected_arrival: date | None
    created_at: datetime


class ReceiveLineIn(InputSchema):
    sku: Sku
    quantity: Whole
    close_short: bool = False
    reason: Annotated[FreeText, Field(max_length=255)] = ""


class ReceiveIn(InputSchema):
    key: Annotated[str, Field(min_length=1, max_length=64)]
    lines: Annotated[list[ReceiveLineIn], Field(min_length=1, max_length=MAX_LINES)]
    arrived_on: date | None = None


class SupplierReceiptOut(Schema):
    key: str
    arrival_date: date
    promised_date: date
    lead_time_days: int
    on_time: bool
    units: int


class ReceiveOut(Schema):
    purchase_order: PurchaseOrderOut
    receipt: SupplierReceiptOut | None
    repeated: bool


class PerformanceFilter(QuerySchema):
    since: date | None = None
    until: date | None = None


class PurchaseOrderFilter(QuerySchema):
    status: Annotated[str, Field(max_length=24)] = ""
    supplier: Annotated[str, Field(max_length=32)] = ""
    ship_to: Annotated[str, Field(max_length=32)] = ""


class SupplierFilter(QuerySchema):
    active: bool | None = None


class ExchangeRateIn(InputSchema):
    currency: Annotated[str, Field(min_length=1, max_length=8)]
    rate: Annotated[Decimal, Field(description="Company currency per one unit of ``currency``.")]
    valid_from: date
    note: Annotated[FreeText, Field(max_length=255)] = ""


class ExchangeRateOut(Schema):
    currency: str
    rate: Decimal
    valid_from: date
    note: str
    created_at: datetime


class ExchangeRateFilter(QuerySchema):
    currency: Annotated[str | None, Field(max_length=8)] = None


class SupplierPerformanceOut(Schema):
    supplier: str
    deliveries: int
    on_time_rate: float | None
    promised_lead_time_mean: float | None
    lead_time_mean: float | None
    lead_time_p90: float | None
    lines_closed: int
    units_ordered: int
    units_received: int
    fill_rate: float | None
