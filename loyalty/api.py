"""The loyalty router (mounted under ``/api/v1`` by ``omni.api``): members and their card codes,
campaigns and their coupons, redemption at the counter and from offline tills, discrepancies.
Thin: validate, check access, call one service, map the result.

Roles: marketing (and planners, admins) run campaigns and see members; store staff sign up
members, scan cards and redeem coupons at their own stores; a channel signs up members, shows
their card and claims coupons for them. No ``from __future__ import annotations``: ninja reads
the annotations.
"""

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from inventory import selectors as stock_selectors
from inventory.models import Location
from network.models import Channel
from network.selectors import channel_by_code
from omni import signing
from omni.access import (
    current_user,
    require_counter,
    require_marketing,
    runs_campaigns,
    visible_one,
)
from omni.errors import NotFound, PermissionDenied
from omni.idempotency import idempotent
from omni.models import Role, User
from omni.pagination import CursorPagination
from omni.schemas import QuerySchema
from orders import selectors as order_selectors
from orders.selectors import caller_channel
from orders.services import counter_channel

from . import codes, selectors, services
from .models import Campaign, RedemptionDiscrepancy
from .schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatchIn,
    CardOut,
    CardScanIn,
    CardScanOut,
    ClaimIn,
    CouponOut,
    CouponPublicKeyOut,
    CouponRedeemIn,
    CouponRedeemOut,
    DiscrepancyOut,
    IssueOut,
    MemberIn,
    MemberOut,
    OfflineResultOut,
    OfflineUploadIn,
    PrintIn,
    PrintOut,
    ResolveIn,
    SegmentIn,
    VerifyIn,
    VerifyOut,
)

router = Router(tags=["loyalty"])


def _channel_for(user: User, code: str | None) -> Channel | None:
    own = caller_channel(user)
    if own is not None:
        if code is not None and code != own.code:
            raise PermissionDenied(_("a channel speaks for itself only"))
        return own
    return channel_by_code(code) if code else None


def _no_discrepancy() -> NotFound:
    return NotFound(_("no such discrepancy"))


def _store(user: User, code: str) -> Location:
    store = stock_selectors.location_visible(user, code)
    require_counter(user, store.pk)
    return store


# --------------------------------------------------------------------------- members


@router.post("/loyalty/members", response={201: MemberOut})
@decorate_view(idempotent)
def member_create(request: HttpRequest, payload: MemberIn) -> Status:
    """Sign up a member: at a store's counter (its staff), through a channel (its token), or by
    marketing. The phone is kept as a keyed hash and its last four digits."""
    user = current_user(request)
    joined_store = home_store = None
    if payload.joined_store:
        joined_store = stock_selectors.location_by_code(payload.joined_store)
    if payload.home_store:
        home_store = stock_selectors.location_by_code(payload.home_store)
    if user.role == Role.STORE:
        if joined_store is None:
            raise PermissionDenied(_("store staff sign members up at their own store"))
        require_counter(user, joined_store.pk)
    elif user.role != Role.CHANNEL:
        require_marketing(user)
    member = services.member_create(
        phone=payload.phone,
        name=payload.name,
        home_store=home_store,
        joined_store=joined_store,
        joined_channel=_channel_for(user, payload.joined_channel),
        consent_marketing=payload.consent_marketing,
        consent_sms=payload.consent_sms,
        consent_analysis=payload.consent_analysis,
        actor=user,
    )
    return Status(201, selectors.member_visible(user, member.number))


class MemberFilter(QuerySchema):
    phone: str | None = None
    number: str | None = None


@router.get("/loyalty/members", response=list[MemberOut])
@paginate(CursorPagination, ordering=("-id",))
def member_list(request: HttpRequest, filters: Query[MemberFilter]) -> object:
    """Find a member by the full phone number (shown masked) or the member number; marketing
    may list them all."""
    return selectors.member_search(user=current_user(request), **filters.dict())


@router.get("/loyalty/members/{number}", response=MemberOut)
def member_detail(request: HttpRequest, number: str) -> object:
    return selectors.member_visible(current_user(request), number)


@router.get("/loyalty/members/{number}/card", response=CardOut)
def member_card(request: HttpRequest, number: str) -> dict[str, Any]:
    """The member card's code now (for the mini-program to draw as a QR code): it rotates every
    30 s and works for at most a minute."""
    user = current_user(request)
    if user.role != Role.CHANNEL:
        require_marketing(user)
    member = selectors.member_visible(user, number)
    now = timezone.now()
    expires = codes.card_expiry(int(now.timestamp()))
    return {
        "member": member.number,
        "code": services.member_card_code(member, now=now),
        "expires_at": datetime.fromtimestamp(expires, tz=UTC),
        "refresh_after_seconds": codes.CARD_ROTATION,
    }


@router.post("/loyalty/cards/scan", response=CardScanOut)
def card_scan(request: HttpRequest, payload: CardScanIn) -> dict[str, Any]:
    """The clerk scanned a member card: who it is, and, given an order (a sale or a pickup at
    the clerk's store), the member is attached to it."""
    user = current_user(request)
    if user.role not in (Role.STORE,) and not user.is_admin_role:
        require_marketing(user)
    if payload.order is None:
        member = services.member_from_card(payload.code)
        return {"member": member, "order": None}
    order = order_selectors.order_visible(user, payload.order)
    if order.pickup_store_id is not None:
        require_counter(user, order.pickup_store_id)
    elif not user.is_admin_role:
        raise PermissionDenied(_("members are attached at the counter of a store order"))
    order = services.member_attach_to_order(order=order, card_code=payload.code, actor=user)
    member = selectors.member_visible(user, order.member_id)
    return {"member": member, "order": order.pk}


# --------------------------------------------------------------------------- campaigns


class CampaignFilter(QuerySchema):
    status: str | None = None


@router.get("/loyalty/campaigns", response=list[CampaignOut])
@paginate(CursorPagination, ordering=("-id",))
def campaign_list(request: HttpRequest, filters: Query[CampaignFilter]) -> object:
    user = current_user(request)
    require_marketing(user)
    return selectors.campaign_list(user=user, **filters.dict())


@router.post("/loyalty/campaigns", response={201: CampaignOut})
@decorate_view(idempotent)
def campaign_create(request: HttpRequest, payload: CampaignIn) -> Status:
    """A campaign: its rule, where and for whom, its limits and budget, its holdout share.
    A wrong field is ``campaign_invalid`` naming it in ``detail.field``; nothing is saved."""
    user = current_user(request)
    require_marketing(user)
    data = payload.dict()
    campaign = services.campaign_create(rule=services.CampaignRule(**data), actor=user)
    return Status(201, selectors.campaign_visible(user, campaign.code))


@router.get("/loyalty/campaigns/{code}", response=CampaignOut)
def campaign_detail(request: HttpRequest, code: str) -> Campaign:
    user = current_user(request)
    require_marketing(user)
    return selectors.campaign_visible(user, code)


@router.patch("/loyalty/campaigns/{code}", response=CampaignOut)
def campaign_update(request: HttpRequest, code: str, payload: CampaignPatchIn) -> Campaign:
    """Change its name, status, end, budget, issue cap or per-member limit."""
    user = current_user(request)
    require_marketing(user)
    campaign = selectors.campaign_visible(user, code)
    changes = payload.dict(exclude_unset=True)
    services.campaign_update(campaign=campaign, changes=changes, actor=user)
    return selectors.campaign_visible(user, code)


@router.post("/loyalty/campaigns/{code}/issue", response=IssueOut)
@decorate_view(idempotent)
def campaign_issue(request: HttpRequest, code: str, payload: SegmentIn) -> object:
    """Issue the campaign to a segment of members (home stores, last purchase, spend): each is
    drawn into treated or holdout once; treated members get one coupon."""
    user = current_user(request)
    require_marketing(user)
    campaign = selectors.campaign_visible(user, code)
    stores = [stock_selectors.location_by_code(c).pk for c in payload.home_stores]
    segment = services.Segment(
        home_stores=stores,
        last_purchase_after=payload.last_purchase_after,
        last_purchase_before=payload.last_purchase_before,
        min_spend=payload.min_spend,
        limit=payload.limit,
    )
    return services.campaign_issue(campaign=campaign, segment=segment, actor=user)


def _coupon_out(coupon: Any) -> dict[str, Any]:
    return {
        "id": coupon.pk,
        "campaign": coupon.campaign.code,
        "member": coupon.member.number if coupon.member else None,
        "source": coupon.source,
        "status": coupon.status,
        "expires_at": coupon.expires_at,
        "code": services.coupon_code(coupon),
    }


@router.post("/loyalty/campaigns/{code}/claim", response={201: CouponOut})
@decorate_view(idempotent)
def campaign_claim(request: HttpRequest, code: str, payload: ClaimIn) -> Status:
    """A member claims a coupon through a channel (the channel's token, or marketing naming
    the channel). A member in the holdout group is refused (``campaign_not_offered``)."""
    user = current_user(request)
    if user.role != Role.CHANNEL:
        require_marketing(user)
    channel = _channel_for(user, payload.channel)
    if channel is None:
        raise PermissionDenied(_("a claim names the channel it comes through"))
    campaign = selectors.campaign_visible(user, code)
    member = selectors.member_visible(user, payload.member)
    coupon = services.campaign_claim(campaign=campaign, member=member, channel=channel, actor=user)
    return Status(201, _coupon_out(coupon))


@router.post("/loyalty/campaigns/{code}/print", response={201: PrintOut})
@decorate_view(idempotent)
def campaign_print(request: HttpRequest, code: str, payload: PrintIn) -> Status:
    """A batch of anonymous coupon codes to print."""
    user = current_user(request)
    require_marketing(user)
    campaign = selectors.campaign_visible(user, code)
    coupons = services.campaign_print(
        campaign=campaign, count=payload.count, batch=payload.batch, actor=user
    )
    batch = coupons[0].batch if coupons else payload.batch
    return Status(201, {"batch": batch, "coupons": [_coupon_out(c) for c in coupons]})


# --------------------------------------------------------------------------- redemption


@router.get("/loyalty/public-key", response=CouponPublicKeyOut)
def loyalty_public_key(request: HttpRequest) -> dict[str, str]:
    """What a till needs to tell a genuine coupon or member card offline."""
    return {
        "algorithm": "Ed25519",
        "public_key_pem": signing.public_key_pem(signing.public_key()),
        "coupon_format": "OC1 + base32(C | id u64 | campaign u32 | member u32 | expires u32 | "
        "n u8 | n × store u32 | signature 64), upper case, no padding",
        "card_format": "OM1 + base32(M | member u32 | version u32 | expires u32 | signature 64)",
    }


def _lines(payload: Any) -> list[services.SaleLine]:
    return [services.SaleLine(ln.sku, ln.quantity, ln.unit_price) for ln in payload.lines]


@router.post("/loyalty/coupons/verify", response=VerifyOut)
def coupon_verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    """Check a scanned coupon at a store without using it: genuine, unexpired, valid here,
    unused, and the discount it would give on ``lines``."""
    user = current_user(request)
    store = _store(user, payload.store)
    coupon, discount = services.coupon_check(code=payload.code, store=store, lines=_lines(payload))
    return {
        "coupon": coupon.pk,
        "campaign": coupon.campaign.code,
        "campaign_name": coupon.campaign.name,
        "member": coupon.member.number if coupon.member else None,
        "expires_at": coupon.expires_at,
        "discount": discount,
    }


@router.post("/loyalty/coupons/redeem", response=CouponRedeemOut)
@decorate_view(idempotent)
def coupon_redeem(request: HttpRequest, payload: CouponRedeemIn) -> dict[str, Any]:
    """Redeem a coupon for a sale at the counter, once: the discount per SKU comes back."""
    user = current_user(request)
    store = _store(user, payload.store)
    member = services.member_from_card(payload.card_code) if payload.card_code else None
    done = services.coupon_redeem_at_counter(
        code=payload.code,
        store=store,
        lines=_lines(payload),
        sale_reference=payload.sale_reference,
        member=member,
        channel=counter_channel(store),
        actor=user,
    )
    return {
        "coupon": done.coupon.pk,
        "campaign": done.coupon.campaign.code,
        "discount": done.amount,
        "lines": done.lines,
    }


@router.post("/loyalty/coupons/offline", response=list[OfflineResultOut])
def coupon_offline_upload(request: HttpRequest, payload: OfflineUploadIn) -> list[Any]:
    """A till back online uploads the redemptions it accepted offline. Each is recorded once
    per ``client_id`` (a retry gets the same answer): accepted, or a discrepancy for a person.
    Nothing is refused: the sales happened."""
    user = current_user(request)
    store = _store(user, payload.store)
    items = [
        services.OfflineRedemption(
            client_id=item.client_id,
            code=item.code,
            amount=item.amount,
            accepted_at=item.accepted_at,
            sale_reference=item.sale_reference,
        )
        for item in payload.redemptions
    ]
    return services.offline_redemptions_upload(store=store, items=items, actor=user)


class DiscrepancyFilter(QuerySchema):
    store: str | None = None
    status: str | None = None


@router.get("/loyalty/discrepancies", response=list[DiscrepancyOut])
@paginate(CursorPagination, ordering=("-id",))
def discrepancy_list(request: HttpRequest, filters: Query[DiscrepancyFilter]) -> object:
    return selectors.discrepancy_list(user=current_user(request), **filters.dict())


@router.post("/loyalty/discrepancies/{discrepancy_id}/resolve", response=DiscrepancyOut)
def discrepancy_resolve(
    request: HttpRequest, discrepancy_id: int, payload: ResolveIn
) -> RedemptionDiscrepancy:
    """A person looked into it: what they decided, in a note."""
    user = current_user(request)
    case = visible_one(selectors.discrepancy_list(user=user), _no_discrepancy, pk=discrepancy_id)
    if not runs_campaigns(user):
        require_counter(user, case.store_id)
    return services.discrepancy_resolve(discrepancy=case, note=payload.note, actor=user)


# A campaign's effect against its holdout (loyalty.effect_api): its own module, mounted here.
from loyalty.effect_api import router as effect_router  # noqa: E402

router.add_router("", effect_router)
