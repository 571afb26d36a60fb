"""Redeeming coupons online: on an order as it is placed (the order adjuster), held until it is
paid or handed over (consumed) or cancelled or expired (released, exactly once), and at the
counter against a till's sale.

Every step that many checkouts race for is one conditional UPDATE checked by its row count,
never a read then a write (docs/loyalty.md, "Redemption"):

1. the coupon: ``UPDATE coupon SET status='held' WHERE id=… AND status='issued'``;
2. the member's uses of the campaign: ``… SET uses=uses+1 WHERE uses < per_member_limit``;
3. the budget: ``UPDATE campaign SET granted=granted+x WHERE granted + x <= budget``, where
   ``x`` is the discount capped by what the budget had left when last read; a lost race reads
   again and tries the smaller amount.

An order's codes are taken in (campaign id, coupon id) order, each coupon before its member's
uses before its campaign (``loyalty.locks``), all before the order's stock is touched.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import Location
from network.models import Channel
from omni import signing
from omni.models import City, User
from orders.adjusters import OrderEvent
from orders.models import Order, OrderLine

from .. import codes, rules
from ..errors import (
    CampaignBudgetExhausted,
    CouponAlreadyUsed,
    CouponCodeForged,
    CouponCodeMalformed,
    CouponCodeNotCanonical,
    CouponCodeTampered,
    CouponExpired,
    CouponNotApplicable,
    CouponNotYours,
    CouponVoid,
    CouponWrongStore,
    MemberLimitReached,
)
from ..models import (
    Campaign,
    CampaignStatus,
    Coupon,
    CouponStatus,
    DiscountEntry,
    EntryKind,
    Member,
    MemberCampaignUse,
)

MAX_BUDGET_ROUNDS = 1000  # each lost round means another checkout took budget: it ends


# --------------------------------------------------------------------------- reading a code


def coupon_read(code: str, *, store: Location | None, now: datetime | None = None) -> Coupon:
    """The coupon a genuine code names, checked for expiry and (given a store) for the
    stores signed into it; else the ``CouponRefused`` subclass saying why."""
    moment = int((now or timezone.now()).timestamp())
    try:
        payload = codes.verify_coupon(
            code, signing.public_key(), now=moment, store=store.pk if store else None
        )
    except codes.CodeRefused as exc:
        claimed = exc.payload.coupon if isinstance(exc.payload, codes.CouponPayload) else None
        if exc.reason == "malformed":
            raise CouponCodeMalformed() from exc
        if exc.reason == "not_canonical":
            raise CouponCodeNotCanonical() from exc
        if exc.reason == "forged":
            if claimed is not None and Coupon.objects.filter(pk=claimed).exists():
                raise CouponCodeTampered(coupon=claimed) from exc
            raise CouponCodeForged() from exc
        assert claimed is not None and isinstance(exc.payload, codes.CouponPayload)
        if exc.reason == "expired":
            raise CouponExpired(coupon=claimed, expired_at=exc.payload.expires) from exc
        assert store is not None
        raise CouponWrongStore(coupon=claimed, here=store.code) from exc
    coupon = Coupon.objects.select_related("campaign", "member").filter(pk=payload.coupon).first()
    if (
        coupon is None
        or coupon.campaign_id != payload.campaign
        or (coupon.member_id or 0) != payload.member
    ):
        # Signed with our key but not for a coupon we have (another installation's data).
        raise CouponCodeForged()
    return coupon


def _refuse_unusable(coupon: Coupon) -> None:
    """The precise refusal for a coupon that lost (or never had) its chance."""
    coupon.refresh_from_db(fields=["status"])
    if coupon.status == CouponStatus.VOID:
        raise CouponVoid(coupon=coupon.pk)
    raise CouponAlreadyUsed(coupon=coupon.pk)


def _check_applies(
    coupon: Coupon,
    *,
    channel: Channel | None,
    city: City | None,
    store: Location | None,
    now: datetime,
) -> None:
    campaign = coupon.campaign
    if not (
        campaign.status == CampaignStatus.ACTIVE and campaign.starts_at <= now < campaign.ends_at
    ):
        raise CouponNotApplicable(coupon=coupon.pk, why="window")
    if channel is not None:
        allowed = set(campaign.channels.values_list("id", flat=True))
        if allowed and channel.pk not in allowed:
            raise CouponNotApplicable(coupon=coupon.pk, why="channel")
    cities = set(campaign.cities.values_list("id", flat=True))
    if cities and (city is None or city.pk not in cities):
        raise CouponNotApplicable(coupon=coupon.pk, why="city")
    stores = set(campaign.stores.values_list("id", flat=True))
    if stores and (store is None or store.pk not in stores):
        raise CouponNotApplicable(coupon=coupon.pk, why="store")


def rule_of(campaign: Campaign) -> rules.Rule:
    return rules.Rule(
        kind=campaign.kind,
        percent_off=campaign.percent_off,
        amount_off=campaign.amount_off,
        free_sku=campaign.free_product.sku if campaign.free_product else None,
        min_spend=campaign.min_spend,
        skus=frozenset(campaign.products.values_list("sku", flat=True)),
        categories=tuple(campaign.categories),
    )


# --------------------------------------------------------------------------- the three takes


def _take_coupon(coupon: Coupon, **to: Any) -> None:
    won = Coupon.objects.filter(pk=coupon.pk, status=CouponStatus.ISSUED).update(**to)
    if not won:
        _refuse_unusable(coupon)


def _take_member_use(campaign: Campaign, member: Member | None) -> None:
    if member is None:
        return
    MemberCampaignUse.objects.bulk_create(
        [MemberCampaignUse(campaign=campaign, member=member)], ignore_conflicts=True
    )
    won = MemberCampaignUse.objects.filter(
        campaign=campaign, member=member, uses__lt=campaign.per_member_limit
    ).update(uses=F("uses") + 1)
    if not won:
        raise MemberLimitReached(campaign)


def _give_back_member_use(campaign_id: int, member_id: int | None) -> None:
    if member_id is not None:
        MemberCampaignUse.objects.filter(
            campaign_id=campaign_id, member_id=member_id, uses__gt=0
        ).update(uses=F("uses") - 1)


def _take_budget(coupon: Coupon, lines: Sequence[rules.Line]) -> dict[Hashable, Decimal]:
    """The discount per line, its total added to the campaign's ``granted`` within budget."""
    rule = rule_of(coupon.campaign)
    for _round in range(MAX_BUDGET_ROUNDS):
        budget, granted = Campaign.objects.values_list("budget", "granted").get(
            pk=coupon.campaign_id
        )
        left = budget - granted
        if left <= 0:
            break
        try:
            wanted = rules.discount(rule, lines, cap=left)
        except rules.NotApplicable as exc:
            raise CouponNotApplicable(
                coupon=coupon.pk, why=exc.why, min_spend=rule.min_spend
            ) from exc
        total = sum(wanted.values(), Decimal("0"))
        if total <= 0:
            break
        won = Campaign.objects.filter(
            pk=coupon.campaign_id, granted__lte=F("budget") - total
        ).update(granted=F("granted") + total)
        if won:
            return wanted
    raise CampaignBudgetExhausted(coupon.campaign)


# --------------------------------------------------------------------------- on an order


def _member_for_order(coupon: Coupon, order: Order) -> Member | None:
    if coupon.member is not None:
        if order.member_id != coupon.member.number:
            raise CouponNotYours(coupon=coupon.pk)
        return coupon.member
    if order.member_id:
        return Member.objects.filter(number=order.member_id).first()
    return None


def coupons_apply_to_order(
    *, order: Order, lines: Sequence[OrderLine], codes_in: Sequence[str], actor: User | None
) -> list[DiscountEntry]:
    """Apply the codes to a new order's lines (the caller holds the order, in its placing
    transaction, before any stock is touched). Any refusal raises and so refuses the order."""
    if not codes_in:
        return []
    now = timezone.now()
    store = order.pickup_store
    coupons: list[Coupon] = []
    for code in codes_in:
        coupon = coupon_read(code, store=store, now=now)
        if any(c.pk == coupon.pk for c in coupons):
            raise CouponNotApplicable(coupon=coupon.pk, why="twice")
        coupons.append(coupon)
    by_line = {line.pk: line for line in lines}
    skus = dict(OrderLine.objects.filter(pk__in=list(by_line)).values_list("pk", "product__sku"))
    discounted: dict[int, Decimal] = {pk: Decimal("0") for pk in by_line}
    entries = []
    for coupon in sorted(coupons, key=lambda c: (c.campaign_id, c.pk)):
        if coupon.status == CouponStatus.VOID:
            raise CouponVoid(coupon=coupon.pk)
        if coupon.status != CouponStatus.ISSUED:
            raise CouponAlreadyUsed(coupon=coupon.pk)
        _check_applies(coupon, channel=order.channel, city=order.city, store=store, now=now)
        member = _member_for_order(coupon, order)
        basket = [
            rules.Line(pk, skus[pk], ln.quantity, ln.unit_price, discounted[pk])
            for pk, ln in by_line.items()
        ]
        _take_coupon(coupon, status=CouponStatus.HELD, order=order)
        _take_member_use(coupon.campaign, member)
        wanted = _take_budget(coupon, basket)
        for key, amount in wanted.items():
            assert isinstance(key, int)
            discounted[key] += amount
            OrderLine.objects.filter(pk=key).update(discount=F("discount") + amount)
        entries.append(
            DiscountEntry.objects.create(
                campaign=coupon.campaign,
                coupon=coupon,
                member=member,
                kind=EntryKind.GRANT,
                amount=sum(wanted.values(), Decimal("0")),
                order=order,
                store=store,
                channel=order.channel,
                lines={str(k): str(v) for k, v in wanted.items()},
                actor=actor,
            )
        )
    for line in lines:
        line.discount = discounted[line.pk]
    return entries


def _net_on_order(coupon_id: int, order: Order) -> tuple[Decimal, dict[str, Decimal]]:
    """What the order still holds of a coupon's grant: the amount and per line."""
    amount = Decimal("0")
    per_line: dict[str, Decimal] = {}
    for entry in DiscountEntry.objects.filter(
        coupon_id=coupon_id, order=order, kind__in=(EntryKind.GRANT, EntryKind.RELEASE)
    ):
        sign = 1 if entry.kind == EntryKind.GRANT else -1
        amount += sign * entry.amount
        for key, value in entry.lines.items():
            per_line[key] = per_line.get(key, Decimal("0")) + sign * Decimal(value)
    return amount, per_line


def coupons_release_from_order(*, order: Order, actor: User | None = None) -> int:
    """The order was cancelled or expired: each coupon it holds goes back, once — to be used
    again, its member's use and its budget given back (the caller holds the order)."""
    released = 0
    held = Coupon.objects.filter(order=order, status=CouponStatus.HELD).order_by(
        "campaign_id", "id"
    )
    for coupon in held:
        won = Coupon.objects.filter(pk=coupon.pk, status=CouponStatus.HELD, order=order).update(
            status=CouponStatus.ISSUED, order=None
        )
        if not won:
            continue  # someone else released it a moment ago
        amount, per_line = _net_on_order(coupon.pk, order)
        grant = (
            DiscountEntry.objects.filter(coupon=coupon, order=order, kind=EntryKind.GRANT)
            .order_by("-id")
            .first()
        )
        member_id = grant.member_id if grant else None
        _give_back_member_use(coupon.campaign_id, member_id)
        Campaign.objects.filter(pk=coupon.campaign_id, granted__gte=amount).update(
            granted=F("granted") - amount
        )
        for key, value in per_line.items():
            OrderLine.objects.filter(pk=int(key)).update(discount=F("discount") - value)
        DiscountEntry.objects.create(
            campaign_id=coupon.campaign_id,
            coupon=coupon,
            member_id=member_id,
            kind=EntryKind.RELEASE,
            amount=amount,
            order=order,
            store=order.pickup_store,
            channel=order.channel,
            lines={k: str(v) for k, v in per_line.items()},
            actor=actor,
        )
        released += 1
    return released


def coupons_consume_on_order(*, order: Order, actor: User | None = None) -> int:
    """The order was paid or handed over: each coupon it holds is redeemed, once."""
    consumed = 0
    now = timezone.now()
    for coupon in Coupon.objects.filter(order=order, status=CouponStatus.HELD).order_by(
        "campaign_id", "id"
    ):
        won = Coupon.objects.filter(pk=coupon.pk, status=CouponStatus.HELD, order=order).update(
            status=CouponStatus.REDEEMED, redeemed_at=now, redeemed_store=order.pickup_store
        )
        if not won:
            continue
        amount, per_line = _net_on_order(coupon.pk, order)
        grant = DiscountEntry.objects.filter(
            coupon=coupon, order=order, kind=EntryKind.GRANT
        ).last()
        DiscountEntry.objects.create(
            campaign_id=coupon.campaign_id,
            coupon=coupon,
            member_id=grant.member_id if grant else None,
            kind=EntryKind.CONSUME,
            amount=amount,
            order=order,
            store=order.pickup_store,
            channel=order.channel,
            lines={k: str(v) for k, v in per_line.items()},
            actor=actor,
        )
        consumed += 1
    return consumed


class LoyaltyAdjuster:
    """Loyalty as an order adjuster (``orders.adjusters``), registered in ``LoyaltyConfig``."""

    def order_placed(
        self,
        *,
        order: Order,
        lines: Sequence[OrderLine],
        codes: Sequence[str],
        actor: User | None,
    ) -> None:
        coupons_apply_to_order(order=order, lines=lines, codes_in=codes, actor=actor)

    def order_event(self, *, order: Order, event: OrderEvent, actor: User | None) -> None:
        if event in (OrderEvent.PAID, OrderEvent.HANDED_OVER):
            coupons_consume_on_order(order=order, actor=actor)
        else:
            coupons_release_from_order(order=order, actor=actor)


# --------------------------------------------------------------------------- at the counter


@dataclass(frozen=True)
class SaleLine:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class CounterRedemption:
    coupon: Coupon
    amount: Decimal
    lines: dict[str, Decimal]  # per SKU
    entry: DiscountEntry


@transaction.atomic
def coupon_redeem_at_counter(
    *,
    code: str,
    store: Location,
    lines: Sequence[SaleLine],
    sale_reference: str = "",
    member: Member | None = None,
    channel: Channel | None = None,
    actor: User | None = None,
) -> CounterRedemption:
    """The clerk scanned a coupon for a sale at the till: checked, then redeemed at once (the
    coupon, the member's use and the budget each in one conditional UPDATE)."""
    now = timezone.now()
    coupon = coupon_read(code, store=store, now=now)
    _check_applies(coupon, channel=channel, city=store.city, store=store, now=now)
    if coupon.member is not None:
        if member is not None and member.pk != coupon.member_id:
            raise CouponNotYours(coupon=coupon.pk)
        member = coupon.member
    basket = [rules.Line(i, ln.sku, ln.quantity, ln.unit_price) for i, ln in enumerate(lines)]
    _take_coupon(coupon, status=CouponStatus.REDEEMED, redeemed_at=now, redeemed_store=store)
    _take_member_use(coupon.campaign, member)
    wanted = _take_budget(coupon, basket)
    per_sku: dict[str, Decimal] = {}
    for key, amount in wanted.items():
        assert isinstance(key, int)
        per_sku[lines[key].sku] = per_sku.get(lines[key].sku, Decimal("0")) + amount
    total = sum(wanted.values(), Decimal("0"))
    common: dict[str, Any] = {
        "campaign": coupon.campaign,
        "coupon": coupon,
        "member": member,
        "amount": total,
        "sale_reference": sale_reference,
        "store": store,
        "channel": channel,
        "lines": {k: str(v) for k, v in per_sku.items()},
        "actor": actor,
    }
    DiscountEntry.objects.create(kind=EntryKind.GRANT, **common)
    entry = DiscountEntry.objects.create(kind=EntryKind.CONSUME, **common)
    coupon.refresh_from_db()
    return CounterRedemption(coupon=coupon, amount=total, lines=per_sku, entry=entry)


def coupon_check(
    *, code: str, store: Location | None, lines: Sequence[SaleLine] = ()
) -> tuple[Coupon, Decimal | None]:
    """What the counter shows before redeeming: the coupon (genuine, unexpired, for this
    store, still usable) and the discount it would give on ``lines`` now, if any are given
    (None when none are; the budget may change before it is redeemed)."""
    coupon = coupon_read(code, store=store)
    if coupon.status != CouponStatus.ISSUED:
        if coupon.status == CouponStatus.VOID:
            raise CouponVoid(coupon=coupon.pk)
        raise CouponAlreadyUsed(coupon=coupon.pk)
    if not lines:
        return coupon, None
    basket = [rules.Line(i, ln.sku, ln.quantity, ln.unit_price) for i, ln in enumerate(lines)]
    left = coupon.campaign.budget - coupon.campaign.granted
    try:
        wanted = rules.discount(rule_of(coupon.campaign), basket, cap=left)
    except rules.NotApplicable as exc:
        raise CouponNotApplicable(
            coupon=coupon.pk, why=exc.why, min_spend=coupon.campaign.min_spend
        ) from exc
    return coupon, sum(wanted.values(), Decimal("0"))
