"""API schemas of fulfillment, in ``XIn`` / ``XOut`` pairs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from inventory.schemas import LocationCode, Quantity, Sku
from omni.schemas import InputSchema

from .models import ReturnDisposition, ShippingService

Count = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]


class PickWaveIn(InputSchema):
    location: LocationCode
    orders: Annotated[list[int], Field(max_length=500)] | None = None
    assign_to: Annotated[str, Field(min_length=1, max_length=150)] | None = None


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


class PickListOut(Schema):
    id: int
    location: str = Field(alias="location.code")
    status: str
    assigned_to: str | None = Field(None, alias="assigned_to.username")
    created_at: datetime
    completed_at: datetime | None
    lines: list[PickLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        if "lines" in getattr(obj, "_prefetched_objects_cache", {}):
            return list(obj.lines.all())  # a list's page prefetched them (selectors.PICK_LINES)
        return list(obj.lines.select_related("product", "allocation__line"))


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
    expires_at: datetime
    redeemed_at: datetime | None
    qr_svg: str
    qr_png: str


class RedeemIn(InputSchema):
    code: Annotated[str, Field(min_length=1, max_length=600)]
    store: LocationCode


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
