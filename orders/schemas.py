"""API schemas of orders, availability and routing, in ``XIn`` / ``XOut`` pairs."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime

from inventory.schemas import LocationCode, Quantity, Sku
from omni.schemas import FreeText, InputSchema, storable

from .models import OrderMode

Slug = Annotated[str, Field(min_length=1, max_length=32)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
MAX_ORDER_LINES = 200


class OrderLineIn(InputSchema):
    sku: Sku
    quantity: Quantity
    unit_price: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] = 0


class DeliveryIn(InputSchema):
    address: Annotated[FreeText, Field(max_length=255)] = ""
    latitude: Latitude
    longitude: Longitude


class CustomerIn(InputSchema):
    name: Annotated[str, Field(max_length=100)] = ""
    phone: Annotated[str, Field(max_length=32)] = ""
    member_id: Annotated[str, Field(max_length=64)] = ""


class OrderIn(InputSchema):
    external_id: Annotated[str, Field(min_length=1, max_length=64)]
    channel: Slug | None = None  # a channel's own token implies it
    mode: OrderMode
    city: Slug | None = None
    store: LocationCode | None = None  # pickup: where to collect; store_sale: the selling store
    delivery: DeliveryIn | None = None
    customer: CustomerIn = CustomerIn()
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_ORDER_LINES)]
    # The channel's promise to the customer; waiting orders are served by it. With an offset.
    promised_at: Annotated[AwareDatetime, AfterValidator(storable)] | None = None
    # Signed coupon codes (loyalty); each refused code refuses the order.
    coupon_codes: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=400)]], Field(max_length=5)
    ] = []


class LineQuantityIn(InputSchema):
    quantity: Quantity


class CancelIn(InputSchema):
    reason: Annotated[str, Field(max_length=200)] = "cancelled"


class AllocationOut(Schema):
    location: str = Field(alias="location.code")
    quantity: int
    reservation_id: int
    status: str = Field(alias="reservation.status")


class OrderLineOut(Schema):
    sku: str = Field(alias="product.sku")
    quantity: int
    unit_price: float
    discount: float = 0  # from coupons
    allocations: list[AllocationOut]

    @staticmethod
    def resolve_allocations(obj: Any) -> list[Any]:
        return list(obj.allocations.all())


class RoutingProfileRef(Schema):
    id: int
    version: int


class OrderOut(Schema):
    id: int
    channel: str = Field(alias="channel.code")
    external_id: str
    city: str = Field(alias="city.code")
    mode: str
    status: str
    payment_status: str
    store: str | None = Field(None, alias="pickup_store.code")
    customer_name: str
    customer_phone: str
    member_id: str
    delivery_address: str
    delivery_latitude: float | None
    delivery_longitude: float | None
    hold_expires_at: datetime | None
    sourcing_reason: str
    sourcing: dict[str, Any]
    flagged: str
    promised_at: datetime | None
    waiting_since: datetime | None
    routing_profile: RoutingProfileRef | None = None  # the version that last routed the order
    created_at: datetime
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_routing_profile(obj: Any) -> dict[str, int] | None:
        profile = obj.routing_profile
        return None if profile is None else {"id": profile.pk, "version": profile.version}


class SkuAvailabilityOut(Schema):
    sku: str
    available: int
    locations: dict[str, int]


class AvailabilityOut(Schema):
    channel: str
    city: str
    mode: str
    skus: list[SkuAvailabilityOut]


class NearbyStoreOut(Schema):
    store: str
    name: str
    city: str
    latitude: float | None
    longitude: float | None
    distance_km: float | None
    available: dict[str, int]


# --------------------------------------------------------------------------- routing settings

# Buffers and daily capacities are counts of units and orders; bigger numbers are typos.


class CapacityRowOut(Schema):
    location: str
    service: str
    limit: int | None
    used: int
    left: int | None
    opens_at: time | None
    closes_at: time | None


class CapacityOut(Schema):
    city: str
    day: date
    rows: list[CapacityRowOut]


class WaitingOrderOut(Schema):
    position: int  # 1 is served first when stock arrives
    order: int
    external_id: str
    channel: str
    city: str
    mode: str
    status: str
    reason: str
    waiting_since: datetime | None
    promised_at: datetime | None
    missing_units: int
    missing_value: float


class WaitingOut(Schema):
    count: int
    parked: int
    backordered: int
    units: int
    value: float
    orders: list[WaitingOrderOut]


class ProfileStateOut(Schema):
    id: int
    version: int
    status: str


class RoutingExplainOut(Schema):
    order: int
    status: str
    reason: str
    waiting_since: datetime | None
    promised_at: datetime | None
    profile: ProfileStateOut | None
    decisions: list[dict[str, Any]]


class RetryIn(InputSchema):
    city: Slug | None = None


class WaitingReportOut(Schema):
    tried: int
    filled: int
    partly: int
    still_waiting: int
    failed: int


class RetryOut(Schema):
    queued: bool
    city: str | None
    report: WaitingReportOut | None  # when the run finished in this request (no broker)
