"""Members, a campaign and its draw made directly, for the tests of what the effect reads
(the effect only reads them; how they are made is the loyalty services' business)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.models import Location, Product
from loyalty.models import Campaign, CampaignAssignment, Member
from network.models import Channel
from orders.models import Order, OrderLine, OrderMode, OrderStatus, PaymentStatus


def make_member(number: str, home_store: Location | None) -> Member:
    return Member.objects.create(
        number=number, phone_hash=f"hash-{number}", phone_last4=number[-4:], home_store=home_store
    )


def make_campaign(code: str = "spring") -> Campaign:
    now = timezone.now()
    return Campaign.objects.create(
        code=code,
        name=code.title(),
        kind="percent_off",
        percent_off=Decimal("10"),
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=6),
        budget=Decimal("1000"),
        holdout_seed=7,
    )


def assign(campaign: Campaign, member: Member, group: str) -> None:
    CampaignAssignment.objects.create(
        campaign=campaign, member=member, group=group, draw=0.5, seed=7
    )


def seed_campaign_history(
    *,
    campaign: Campaign,
    stores: list[Location],
    channels: list[Channel],
    product: Product,
    members: int = 3000,
    holdout_share: float = 0.1,
    buy_share: float = 0.3,
    lift: float = 0.06,
    seed: int = 1,
) -> None:
    """``members`` members spread over ``stores``, drawn into treated and holdout, and their
    orders of the campaign's window as the effect reads them (completed, paid): a member buys
    with probability ``buy_share`` (``+ lift`` when treated), 1 to 4 units through one of
    ``channels``. Written in bulk, without reservations: the effect reads orders, not stock,
    and a few thousand orders through ``order_place`` would take minutes."""
    rng = random.Random(seed)
    city = stores[0].city
    start = Member.objects.count()
    made = Member.objects.bulk_create(
        Member(
            number=f"E{start + i:08d}",
            phone_hash=f"seed-{campaign.pk}-{i}",
            phone_last4=f"{i % 10000:04d}",
            home_store=stores[i % len(stores)],
        )
        for i in range(members)
    )
    made = list(Member.objects.filter(number__in=[m.number for m in made]).order_by("id"))
    treated = [rng.random() >= holdout_share for _ in made]
    CampaignAssignment.objects.bulk_create(
        CampaignAssignment(
            campaign=campaign,
            member=m,
            group="treated" if t else "holdout",
            draw=0.5,
            seed=seed,
        )
        for m, t in zip(made, treated, strict=True)
    )
    at = campaign.starts_at + timedelta(hours=1)
    orders, quantities = [], []
    for i, (m, t) in enumerate(zip(made, treated, strict=True)):
        if rng.random() >= buy_share + (lift if t else 0.0):
            continue
        channel = channels[rng.randrange(len(channels))]
        orders.append(
            Order(
                channel=channel,
                external_id=f"seed-{campaign.pk}-{i}",
                city=city,
                mode=OrderMode.STORE_SALE,
                status=OrderStatus.COMPLETED,
                payment_status=PaymentStatus.PAID,
                member_id=m.number,
                pickup_store=m.home_store,
                created_at=at,
            )
        )
        quantities.append(rng.randint(1, 4))
    Order.objects.bulk_create(orders)
    saved = Order.objects.filter(external_id__startswith=f"seed-{campaign.pk}-").order_by("id")
    OrderLine.objects.bulk_create(
        OrderLine(order=o, product=product, quantity=q, unit_price=product.price)
        for o, q in zip(saved, quantities, strict=True)
    )
