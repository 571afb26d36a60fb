"""The demo's loyalty step: members of the pilot city's stores, a 10 %-off campaign for the
city with a 10 % holdout, a simulated fortnight's purchases — treated members buy a little more
often, some with their coupon, online (pickup, paid) or at the counter (a till sale) — a coupon
accepted offline at a till that was also used elsewhere (flagged for a person), and the effect
table treated vs holdout (docs/loyalty-effect.md).

Deterministic for a seed. Everything goes through the services (``member_create``,
``campaign_create``, ``campaign_issue``, ``order_place`` with coupon codes, ``order_pay``,
``offline_redemption_record``), as the API and the pages would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.models import Location, Product, StockLevel
from loyalty.effect import Effect, EffectReport
from loyalty.effect_selectors import campaign_effect_report, campaign_figures
from loyalty.models import AssignmentGroup, Campaign, CampaignStatus, Coupon, CouponStatus
from loyalty.services import (
    CampaignRule,
    OfflineRedemption,
    Segment,
    campaign_create,
    campaign_issue,
    coupon_code,
    member_create,
    offline_redemption_record,
)
from network.models import Channel, ChannelKind
from omni.errors import ApplicationError
from orders.models import OrderMode
from orders.services import LineIn, order_pay, order_place

MEMBERS = 300
BUY_SHARE = 0.30  # of members who buy in the window without a coupon
RESPONSE = 0.15  # more of the treated members buy: the coupon's effect the demo injects
COUPON_USE = 0.7  # of treated buyers who use their coupon
COUNTER_SHARE = 0.6  # of purchases made at the counter (the rest: online pickup)


@dataclass
class LoyaltyDemo:
    campaign: Campaign
    report: EffectReport
    steps: list[str] = field(default_factory=list)


def _stocked(store: Location, limit: int = 12) -> list[Product]:
    levels = (
        StockLevel.objects.filter(location=store, on_hand__gte=20, product__price__gt=0)
        .select_related("product")
        .order_by("-on_hand")[:limit]
    )
    return [level.product for level in levels]


def run_loyalty(city_code: str, stores: list[Location], seed: int = 7) -> LoyaltyDemo:
    rng = random.Random(seed)
    pos = Channel.objects.filter(kind=ChannelKind.STORE_POS).order_by("id").first()
    online = (
        Channel.objects.filter(kind=ChannelKind.MINI_PROGRAM).order_by("id").first()
        or Channel.objects.filter(kind=ChannelKind.WEB).order_by("id").first()
    )
    assert pos is not None and online is not None, "the pilot city has its channels"
    members = [
        member_create(
            phone=f"139{seed:02d}{i:06d}",
            home_store=stores[i % len(stores)],
            joined_channel=online if i % 3 else pos,
            joined_store=stores[i % len(stores)],
            consent_marketing=True,
        )
        for i in range(MEMBERS)
    ]
    now = timezone.now()
    campaign = campaign_create(
        rule=CampaignRule(
            code=f"pilot-10-off-{seed}",
            name="Pilot city: 10% off for members",
            kind="percent_off",
            percent_off=Decimal("10"),
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(days=14),
            budget=Decimal("3000.00"),
            cities=[city_code],
            holdout_share=Decimal("0.1"),
            holdout_seed=seed,
            status=CampaignStatus.ACTIVE,
        )
    )
    issued = campaign_issue(campaign=campaign, segment=Segment())
    steps = [
        f"loyalty: {len(members)} members at {len(stores)} stores; campaign {campaign.code} "
        f"(10% off, budget 3,000): {issued.treated} treated, {issued.holdout} held out, "
        f"{issued.issued} coupons issued"
    ]

    groups = dict(campaign.assignments.values_list("member_id", "group"))
    coupons = {c.member_id: c for c in Coupon.objects.filter(campaign=campaign)}
    stock = {store.pk: _stocked(store) for store in stores}
    placed = with_coupon = counter = refused = 0
    for n, member in enumerate(members):
        treated = groups.get(member.pk) == AssignmentGroup.TREATED
        if rng.random() >= BUY_SHARE + (RESPONSE if treated else 0.0):
            continue
        store = member.home_store
        assert store is not None
        products = stock[store.pk]
        if not products:
            continue
        lines = [
            LineIn(product=p, quantity=rng.randint(1, 3), unit_price=p.price)
            for p in rng.sample(products, k=min(len(products), rng.randint(1, 2)))
        ]
        coupon = coupons.get(member.pk)
        codes = [coupon_code(coupon)] if treated and coupon and rng.random() < COUPON_USE else []
        at_counter = rng.random() < COUNTER_SHARE
        try:
            order, _ = order_place(
                channel=pos if at_counter else online,
                external_id=f"loyalty-{seed}-{n}",
                mode=OrderMode.STORE_SALE if at_counter else OrderMode.PICKUP,
                lines=lines,
                store=store,
                customer_phone="" if at_counter else "13900000000",
                member_id=member.number,
                coupon_codes=codes,
            )
            if not at_counter:
                order_pay(order=order)
        except ApplicationError:
            refused += 1  # out of stock at the store, a basket under the minimum, …
            continue
        placed += 1
        with_coupon += bool(codes)
        counter += at_counter
    campaign.refresh_from_db()
    figures = campaign_figures(campaign)
    steps.append(
        f"  simulated purchases: {placed} orders by members ({counter} at the counter, "
        f"{placed - counter} online pickups), {with_coupon} with the coupon; {refused} refused; "
        f"discount granted {figures.granted:.2f}, consumed {figures.consumed:.2f}"
    )
    steps += _offline_replay(campaign, stores[0])
    return LoyaltyDemo(campaign=campaign, report=campaign_effect_report(campaign), steps=steps)


def _offline_replay(campaign: Campaign, store: Location) -> list[str]:
    """A till that was offline accepted a coupon that had already been redeemed: the upload
    flags it for a person instead of granting it twice."""
    used = (
        Coupon.objects.filter(campaign=campaign, status=CouponStatus.REDEEMED)
        .order_by("id")
        .first()
    )
    if used is None:
        return []
    result = offline_redemption_record(
        store=store,
        item=OfflineRedemption(
            client_id=f"demo-offline-{campaign.pk}",
            code=coupon_code(used),
            amount=Decimal("1.50"),
            accepted_at=timezone.now(),
            sale_reference="TILL-0001",
        ),
    )
    return [
        f"  an offline till at {store.code} accepted coupon {used.pk} again: on upload, "
        f"{result.result} ({result.reason or 'ok'})"
    ]


def _interval(effect: Effect, what: str) -> str:
    interval = effect.revenue_uplift if what == "revenue" else effect.units_uplift
    if not interval.known:
        return f"{interval.estimate:+.2f} [—]"
    return f"{interval.estimate:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}]"


def effect_rows(report: EffectReport) -> list[tuple[str, ...]]:
    """The effect table: one row per slice, treated vs holdout, the uplift per member and its
    95 % interval."""
    rows: list[tuple[str, ...]] = []
    slices = [("campaign", report.overall)]
    slices += [(f"store {e.label or '—'}", e) for e in report.by_store]
    slices += [(f"channel {e.label}", e) for e in report.by_channel]
    for name, e in slices:
        rows.append(
            (
                name,
                f"{e.treated.members} / {e.holdout.members}",
                f"{100 * e.treated.redemption_rate:.0f}%",
                f"{e.treated.revenue_per_member:.2f} / {e.holdout.revenue_per_member:.2f}",
                _interval(e, "revenue"),
                _interval(e, "units"),
            )
        )
    return rows


EFFECT_COLUMNS = (
    "slice",
    "members T / H",
    "redeemed",
    "revenue/member T / H",
    "revenue uplift [95%]",
    "units uplift [95%]",
)
