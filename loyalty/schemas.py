"""Request and response shapes of the loyalty API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AwareDatetime

from inventory.schemas import LocationCode, Quantity, Sku
from omni.schemas import InputSchema

Slug = Annotated[str, Field(min_length=1, max_length=40)]
Code = Annotated[str, Field(min_length=1, max_length=400)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1e9"), max_digits=14, decimal_places=2)]
Phone = Annotated[str, Field(min_length=1, max_length=32)]
MemberNumber = Annotated[str, Field(min_length=1, max_length=16)]


# --------------------------------------------------------------------------- members


class MemberIn(InputSchema):
    phone: Phone
    name: Annotated[str, Field(max_length=100)] = ""
    home_store: LocationCode | None = None
    joined_store: LocationCode | None = None
    joined_channel: Slug | None = None  # a channel's token implies its own
    consent_marketing: bool = False
    consent_sms: bool = False
    consent_analysis: bool = False


class MemberOut(Schema):
    number: str
    phone: str = Field(alias="masked_phone")
    phone_last4: str
    name: str
    home_store: str | None = None
    joined_channel: str | None = None
    joined_store: str | None = None
    consent_marketing: bool
    consent_sms: bool
    consent_analysis: bool
    created_at: datetime

    @staticmethod
    def resolve_home_store(obj: Any) -> str | None:
        return obj.home_store.code if obj.home_store_id else None

    @staticmethod
    def resolve_joined_store(obj: Any) -> str | None:
        return obj.joined_store.code if obj.joined_store_id else None

    @staticmethod
    def resolve_joined_channel(obj: Any) -> str | None:
        return obj.joined_channel.code if obj.joined_channel_id else None


class CardOut(Schema):
    member: str
    code: str
    expires_at: datetime
    refresh_after_seconds: int


class CardScanIn(InputSchema):
    code: Code
    order: int | None = None  # attach the member to this sale or pickup


class CardScanOut(Schema):
    member: MemberOut
    order: int | None = None


# --------------------------------------------------------------------------- campaigns


class CampaignIn(InputSchema):
    code: Slug
    name: Annotated[str, Field(min_length=1, max_length=120)]
    kind: str
    percent_off: Amount | None = None
    amount_off: Amount | None = None
    free_sku: Sku | None = None
    min_spend: Amount = Decimal("0")
    skus: Annotated[list[Sku], Field(max_length=500)] = []
    categories: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] = []
    channels: Annotated[list[Slug], Field(max_length=20)] = []
    cities: Annotated[list[Slug], Field(max_length=50)] = []
    stores: Annotated[list[LocationCode], Field(max_length=100)] = []
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    per_member_limit: Annotated[int, Field(ge=-(10**6), le=1000)] = 1
    issue_cap: Annotated[int, Field(ge=-(10**6), le=10**8)] | None = None
    budget: Annotated[Decimal, Field(ge=Decimal("-1e12"), le=Decimal("1e12"))]
    holdout_share: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.1")
    holdout_seed: Annotated[int, Field(ge=0, lt=2**62)] | None = None
    status: str = "draft"


class CampaignPatchIn(InputSchema):
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    status: str | None = None
    ends_at: AwareDatetime | None = None
    budget: Annotated[Decimal, Field(ge=Decimal("-1e12"), le=Decimal("1e12"))] | None = None
    issue_cap: Annotated[int, Field(ge=-(10**6), le=10**8)] | None = None
    per_member_limit: Annotated[int, Field(ge=-(10**6), le=1000)] | None = None


class CampaignOut(Schema):
    code: str
    name: str
    kind: str
    percent_off: Decimal | None
    amount_off: Decimal | None
    free_sku: str | None = None
    min_spend: Decimal
    skus: list[str]
    categories: list[str]
    channels: list[str]
    cities: list[str]
    stores: list[str]
    starts_at: datetime
    ends_at: datetime
    per_member_limit: int
    issue_cap: int | None
    issued: int
    budget: Decimal
    granted: Decimal
    holdout_share: Decimal
    holdout_seed: int
    status: str

    @staticmethod
    def resolve_free_sku(obj: Any) -> str | None:
        return obj.free_product.sku if obj.free_product_id else None

    @staticmethod
    def resolve_skus(obj: Any) -> list[str]:
        return sorted(p.sku for p in obj.products.all())

    @staticmethod
    def resolve_channels(obj: Any) -> list[str]:
        return sorted(c.code for c in obj.channels.all())

    @staticmethod
    def resolve_cities(obj: Any) -> list[str]:
        return sorted(c.code for c in obj.cities.all())

    @staticmethod
    def resolve_stores(obj: Any) -> list[str]:
        return sorted(s.code for s in obj.stores.all())


class SegmentIn(InputSchema):
    home_stores: Annotated[list[LocationCode], Field(max_length=100)] = []
    last_purchase_after: date | None = None
    last_purchase_before: date | None = None
    min_spend: Amount | None = None
    limit: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class IssueOut(Schema):
    members: int
    treated: int
    holdout: int
    issued: int
    already_had: int
    over_cap: int


class ClaimIn(InputSchema):
    member: MemberNumber
    channel: Slug | None = None  # a channel's token implies its own


class PrintIn(InputSchema):
    count: Annotated[int, Field(ge=-(10**6), le=10**6)]
    batch: Annotated[str, Field(max_length=40)] = ""


class CouponOut(Schema):
    id: int
    campaign: str
    member: str | None = None
    source: str
    status: str
    expires_at: datetime
    code: str


class PrintOut(Schema):
    batch: str
    coupons: list[CouponOut]


# --------------------------------------------------------------------------- redemption


class SaleLineIn(InputSchema):
    sku: Sku
    quantity: Quantity
    unit_price: Amount


class VerifyIn(InputSchema):
    code: Code
    store: LocationCode
    lines: Annotated[list[SaleLineIn], Field(max_length=200)] = []


class VerifyOut(Schema):
    coupon: int
    campaign: str
    campaign_name: str
    member: str | None
    expires_at: datetime
    discount: Decimal | None


class CouponRedeemIn(InputSchema):
    code: Code
    store: LocationCode
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=200)]
    sale_reference: Annotated[str, Field(max_length=64)] = ""
    card_code: Code | None = None


class CouponRedeemOut(Schema):
    coupon: int
    campaign: str
    discount: Decimal
    lines: dict[str, Decimal]


class OfflineItemIn(InputSchema):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    code: Code
    amount: Amount
    accepted_at: AwareDatetime
    sale_reference: Annotated[str, Field(max_length=64)] = ""


class OfflineUploadIn(InputSchema):
    store: LocationCode
    redemptions: Annotated[list[OfflineItemIn], Field(min_length=1, max_length=500)]


class OfflineResultOut(Schema):
    client_id: str
    result: str
    reason: str
    coupon: int | None
    discrepancy: int | None


class DiscrepancyOut(Schema):
    id: int
    store: str
    coupon: int | None = Field(None, alias="coupon_id")
    client_id: str
    reason: str
    amount: Decimal
    sale_reference: str
    accepted_at: datetime
    status: str
    note: str
    created_at: datetime

    @staticmethod
    def resolve_store(obj: Any) -> str:
        return str(obj.store.code)


class ResolveIn(InputSchema):
    note: Annotated[str, Field(min_length=1, max_length=255)]


class CouponPublicKeyOut(Schema):
    algorithm: str
    public_key_pem: str
    coupon_format: str
    card_format: str
