"""Campaigns: creating and changing them (every field checked, nothing written on a refusal),
the treated/holdout draw, and issuing coupons — to a segment, claimed through a channel, or
printed as a batch of codes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, LocationKind, Product
from network.models import Channel
from omni import signing
from omni.models import City, User
from orders.models import Order, OrderLine, OrderStatus

from .. import codes
from ..errors import (
    CampaignInvalid,
    CampaignIssueCapReached,
    CampaignNotActive,
    CampaignNotOffered,
    CouponNotApplicable,
    MemberLimitReached,
)
from ..locks import lock_campaign
from ..models import (
    MAX_CODE_STORES,
    AssignmentGroup,
    Campaign,
    CampaignAssignment,
    CampaignKind,
    CampaignStatus,
    Coupon,
    CouponSource,
    CouponStatus,
    Member,
)

MAX_BATCH = 10_000
MAX_HOLDOUT = Decimal("0.5")
CATEGORY_MAX = 40


# --------------------------------------------------------------------------- create and change


@dataclass
class CampaignRule:
    """What a campaign is, as given (codes, not objects): checked and resolved by
    ``campaign_create``."""

    code: str
    name: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    budget: Decimal
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None
    free_sku: str | None = None
    min_spend: Decimal = Decimal("0")
    skus: Sequence[str] = ()
    categories: Sequence[str] = ()
    channels: Sequence[str] = ()
    cities: Sequence[str] = ()
    stores: Sequence[str] = ()
    per_member_limit: int = 1
    issue_cap: int | None = None
    holdout_share: Decimal = Decimal("0.1")
    holdout_seed: int | None = None
    status: str = CampaignStatus.DRAFT
    extra: dict[str, Any] = field(default_factory=dict)


def _money(value: object, name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise CampaignInvalid(name, _("%(field)s is not a number")) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise CampaignInvalid(name, _("%(field)s is an amount in cents at most"))
    return amount


def _check(rule: CampaignRule) -> dict[str, Any]:
    """Every field checked, the first wrong one named; returns the resolved objects."""
    if rule.kind not in CampaignKind.values:
        raise CampaignInvalid("kind", _("kind is percent_off, amount_off or free_item"))
    if not rule.name.strip():
        raise CampaignInvalid("name", _("a campaign needs a name"))
    if rule.kind == CampaignKind.PERCENT_OFF:
        if rule.percent_off is None:
            raise CampaignInvalid("percent_off", _("a percent-off campaign needs percent_off"))
        pct = _money(rule.percent_off, "percent_off")
        if not Decimal("0") < pct <= Decimal("100"):
            raise CampaignInvalid(
                "percent_off", _("percent_off is more than 0 and at most 100"), value=str(pct)
            )
    if rule.kind == CampaignKind.AMOUNT_OFF and (
        rule.amount_off is None or _money(rule.amount_off, "amount_off") <= 0
    ):
        raise CampaignInvalid("amount_off", _("amount_off is an amount above 0"))
    free_product = None
    if rule.kind == CampaignKind.FREE_ITEM:
        if not rule.free_sku:
            raise CampaignInvalid("free_sku", _("a free-item campaign names the free SKU"))
        free_product = Product.objects.filter(sku=rule.free_sku).first()
        if free_product is None:
            raise CampaignInvalid("free_sku", _("unknown SKU %(sku)s"), sku=rule.free_sku)
    if rule.ends_at <= rule.starts_at:
        raise CampaignInvalid("ends_at", _("a campaign ends after it starts"))
    if _money(rule.budget, "budget") < 0:
        raise CampaignInvalid("budget", _("the budget cannot be below 0"))
    if _money(rule.min_spend, "min_spend") < 0:
        raise CampaignInvalid("min_spend", _("the minimum spend cannot be below 0"))
    if rule.per_member_limit < 1:
        raise CampaignInvalid("per_member_limit", _("the per-member limit is at least 1"))
    if rule.issue_cap is not None and rule.issue_cap < 1:
        raise CampaignInvalid("issue_cap", _("the issue cap is at least 1 (or none)"))
    share = Decimal(str(rule.holdout_share))
    if not Decimal("0") <= share <= MAX_HOLDOUT or share != share.quantize(Decimal("0.001")):
        raise CampaignInvalid(
            "holdout_share", _("the holdout share is between 0 and 0.5, to three places")
        )
    products = list(Product.objects.filter(sku__in=set(rule.skus)))
    unknown = sorted(set(rule.skus) - {p.sku for p in products})
    if unknown:
        raise CampaignInvalid(
            "skus", _("unknown SKU %(sku)s"), sku=unknown[0], unknown=unknown[:20]
        )
    for category in rule.categories:
        if not category or len(category) > CATEGORY_MAX:
            raise CampaignInvalid(
                "categories", _("a category is a SKU prefix of 1 to 40 characters")
            )
        if not Product.objects.filter(sku__startswith=category).exists():
            raise CampaignInvalid(
                "categories", _("no SKU starts with %(category)s"), category=category
            )
    channels = _resolve(Channel.objects.all(), "code", rule.channels, "channels")
    cities = _resolve(City.objects.all(), "code", rule.cities, "cities")
    stores = _resolve(
        Location.objects.filter(kind=LocationKind.STORE), "code", rule.stores, "stores"
    )
    if len(stores) > MAX_CODE_STORES:
        raise CampaignInvalid(
            "stores",
            _("a campaign names at most %(max)s stores; name its cities instead"),
            max=MAX_CODE_STORES,
        )
    if rule.status not in (CampaignStatus.DRAFT, CampaignStatus.ACTIVE):
        raise CampaignInvalid("status", _("a new campaign is draft or active"))
    return {
        "free_product": free_product,
        "products": products,
        "channels": channels,
        "cities": cities,
        "stores": stores,
    }


def _resolve(objects: Any, key: str, wanted: Sequence[str], name: str) -> list[Any]:
    found = list(objects.filter(**{f"{key}__in": set(wanted)}))
    unknown = sorted(set(wanted) - {getattr(o, key) for o in found})
    if unknown:
        raise CampaignInvalid(name, _("unknown %(what)s %(value)s"), what=name, value=unknown[0])
    return found


@transaction.atomic
def campaign_create(*, rule: CampaignRule, actor: User | None = None) -> Campaign:
    """A new campaign, or ``CampaignInvalid`` naming the first wrong field (nothing written)."""
    if not rule.code or Campaign.objects.filter(code=rule.code).exists():
        raise CampaignInvalid("code", _("campaign code %(code)s is taken"), code=rule.code)
    resolved = _check(rule)
    campaign = Campaign.objects.create(
        code=rule.code,
        name=rule.name.strip(),
        kind=rule.kind,
        percent_off=rule.percent_off if rule.kind == CampaignKind.PERCENT_OFF else None,
        amount_off=rule.amount_off if rule.kind == CampaignKind.AMOUNT_OFF else None,
        free_product=resolved["free_product"],
        min_spend=rule.min_spend,
        categories=sorted(set(rule.categories)),
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        per_member_limit=rule.per_member_limit,
        issue_cap=rule.issue_cap,
        budget=rule.budget,
        holdout_share=rule.holdout_share,
        holdout_seed=rule.holdout_seed
        if rule.holdout_seed is not None
        else secrets.randbelow(2**62),
        status=rule.status,
        created_by=actor,
    )
    campaign.products.set(resolved["products"])
    campaign.channels.set(resolved["channels"])
    campaign.cities.set(resolved["cities"])
    campaign.stores.set(resolved["stores"])
    return campaign


CHANGEABLE = ("name", "status", "ends_at", "budget", "issue_cap", "per_member_limit")


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, changes: dict[str, Any], actor: User | None = None
) -> Campaign:
    """Change what may change while a campaign runs. The budget never drops below what is
    granted, nor the issue cap below what is issued. The rule and eligibility stay as issued
    coupons were signed under them."""
    campaign = lock_campaign(campaign.pk)
    for name in changes:
        if name not in CHANGEABLE:
            raise CampaignInvalid(name, _("%(field)s cannot change"))
    if "name" in changes and not str(changes["name"]).strip():
        raise CampaignInvalid("name", _("a campaign needs a name"))
    if "status" in changes and changes["status"] not in CampaignStatus.values:
        raise CampaignInvalid("status", _("status is draft, active, paused or ended"))
    if "ends_at" in changes and changes["ends_at"] <= campaign.starts_at:
        raise CampaignInvalid("ends_at", _("a campaign ends after it starts"))
    if "budget" in changes:
        budget = _money(changes["budget"], "budget")
        if budget < 0:
            raise CampaignInvalid("budget", _("the budget cannot be below 0"))
        if budget < campaign.granted:
            raise CampaignInvalid(
                "budget",
                _("the budget cannot drop below the %(granted)s already granted"),
                granted=str(campaign.granted),
            )
    cap = changes.get("issue_cap")
    if cap is not None and cap < max(1, campaign.issued):
        raise CampaignInvalid(
            "issue_cap",
            _("the issue cap cannot drop below the %(issued)s already issued"),
            issued=campaign.issued,
        )
    if "per_member_limit" in changes and changes["per_member_limit"] < 1:
        raise CampaignInvalid("per_member_limit", _("the per-member limit is at least 1"))
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.save(update_fields=list(changes))
    return campaign


def campaign_is_running(campaign: Campaign, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return campaign.status == CampaignStatus.ACTIVE and campaign.starts_at <= now < campaign.ends_at


# --------------------------------------------------------------------------- the holdout draw


def holdout_draw(seed: int, member_id: int) -> float:
    """A uniform number in [0, 1) from the campaign's seed and the member: the same member
    always draws the same, whatever order members are drawn in."""
    digest = hashlib.sha256(f"{seed}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def campaign_assign(*, campaign: Campaign, member: Member) -> CampaignAssignment:
    """The member's group in the campaign, drawn on first need and kept."""
    existing = CampaignAssignment.objects.filter(campaign=campaign, member=member).first()
    if existing is not None:
        return existing
    draw = holdout_draw(campaign.holdout_seed, member.pk)
    group = (
        AssignmentGroup.HOLDOUT if draw < float(campaign.holdout_share) else AssignmentGroup.TREATED
    )
    CampaignAssignment.objects.bulk_create(
        [
            CampaignAssignment(
                campaign=campaign, member=member, group=group, draw=draw, seed=campaign.holdout_seed
            )
        ],
        ignore_conflicts=True,
    )
    return CampaignAssignment.objects.get(campaign=campaign, member=member)


# --------------------------------------------------------------------------- issuing


def coupon_code(coupon: Coupon) -> str:
    """The coupon's signed code, drawn again from the row (Ed25519 is deterministic)."""
    payload = codes.coupon_payload(
        coupon=coupon.pk,
        campaign=coupon.campaign_id,
        member=coupon.member_id,
        expires=int(coupon.expires_at.timestamp()),
        stores=coupon.store_ids,
    )
    return codes.sign_coupon(payload, signing.signing_key())


def _take_issue(campaign: Campaign, wanted: int) -> int:
    """How many of ``wanted`` coupons the cap still allows, taken (the caller holds the
    campaign's lock)."""
    room = (
        wanted if campaign.issue_cap is None else min(wanted, campaign.issue_cap - campaign.issued)
    )
    if room > 0:
        campaign.issued += room
        campaign.save(update_fields=["issued"])
    return max(0, room)


def _new_coupons(campaign: Campaign, n: int, **fields: Any) -> list[Coupon]:
    store_ids = sorted(campaign.stores.values_list("id", flat=True))
    return Coupon.objects.bulk_create(
        [
            Coupon(campaign=campaign, expires_at=campaign.ends_at, store_ids=store_ids, **fields)
            for _ in range(n)
        ]
    )


@dataclass(frozen=True)
class Segment:
    """Which members a campaign is issued to: all given conditions hold (none: every member)."""

    home_stores: Sequence[int] = ()  # location ids
    last_purchase_after: date | None = None
    last_purchase_before: date | None = None
    min_spend: Decimal | None = None  # total spend on their orders
    limit: int | None = None


@dataclass
class IssueReport:
    members: int = 0
    treated: int = 0
    holdout: int = 0
    issued: int = 0
    already_had: int = 0
    over_cap: int = 0


def segment_members(segment: Segment) -> Any:
    """The members of a segment, by id. Last purchase and spend come from their orders
    (``Order.member_id`` is the member number), cancelled and expired ones left out."""
    members = Member.objects.all()
    if segment.home_stores:
        members = members.filter(home_store_id__in=list(segment.home_stores))
    orders = Order.objects.filter(member_id=OuterRef("number")).exclude(
        status__in=(OrderStatus.CANCELLED, OrderStatus.EXPIRED)
    )
    if segment.last_purchase_after or segment.last_purchase_before:
        last = orders.values("member_id").annotate(last=Max("created_at")).values("last")
        members = members.annotate(last_purchase=Subquery(last[:1]))
        if segment.last_purchase_after:
            members = members.filter(last_purchase__date__gte=segment.last_purchase_after)
        if segment.last_purchase_before:
            members = members.filter(last_purchase__date__lt=segment.last_purchase_before)
    if segment.min_spend is not None:
        from django.db.models import DecimalField, ExpressionWrapper, F

        spend = (
            OrderLine.objects.filter(
                order__member_id=OuterRef("number"),
            )
            .exclude(order__status__in=(OrderStatus.CANCELLED, OrderStatus.EXPIRED))
            .values("order__member_id")
            .annotate(
                total=Sum(
                    ExpressionWrapper(
                        F("quantity") * F("unit_price") - F("discount"),
                        output_field=DecimalField(max_digits=14, decimal_places=2),
                    )
                )
            )
            .values("total")
        )
        members = members.annotate(spend=Coalesce(Subquery(spend[:1]), Decimal("0"))).filter(
            spend__gte=segment.min_spend
        )
    members = members.order_by("id")
    if segment.limit:
        members = members[: segment.limit]
    return members


@transaction.atomic
def campaign_issue(
    *, campaign: Campaign, segment: Segment, actor: User | None = None
) -> IssueReport:
    """Draw each member of the segment into treated or holdout; give each treated member who
    has none yet one coupon, as far as the issue cap allows. Running it again issues nothing
    new to the same members."""
    campaign = lock_campaign(campaign.pk)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.ACTIVE):
        raise CampaignNotActive(campaign)
    report = IssueReport()
    treated: list[Member] = []
    for member in segment_members(segment):
        report.members += 1
        assignment = campaign_assign(campaign=campaign, member=member)
        if assignment.group == AssignmentGroup.HOLDOUT:
            report.holdout += 1
            continue
        report.treated += 1
        treated.append(member)
    have = set(
        Coupon.objects.filter(
            campaign=campaign, member__in=treated, source=CouponSource.ISSUED
        ).values_list("member_id", flat=True)
    )
    todo = [m for m in treated if m.pk not in have]
    report.already_had = len(treated) - len(todo)
    room = _take_issue(campaign, len(todo))
    report.over_cap = len(todo) - room
    store_ids = sorted(campaign.stores.values_list("id", flat=True))
    Coupon.objects.bulk_create(
        [
            Coupon(
                campaign=campaign,
                member=m,
                source=CouponSource.ISSUED,
                expires_at=campaign.ends_at,
                store_ids=store_ids,
            )
            for m in todo[:room]
        ]
    )
    report.issued = room
    return report


@transaction.atomic
def campaign_claim(
    *, campaign: Campaign, member: Member, channel: Channel, actor: User | None = None
) -> Coupon:
    """A member claims a coupon through a channel (e.g. the mini-program's nearby-store page).
    A member in the holdout group is not offered it; no one holds more of a campaign's coupons
    than its per-member limit."""
    campaign = lock_campaign(campaign.pk)
    if not campaign_is_running(campaign):
        raise CampaignNotActive(campaign)
    if campaign.channels.exists() and not campaign.channels.filter(pk=channel.pk).exists():
        raise CouponNotApplicable(coupon=0, why="channel")
    assignment = campaign_assign(campaign=campaign, member=member)
    if assignment.group == AssignmentGroup.HOLDOUT:
        raise CampaignNotOffered(campaign)
    held = Coupon.objects.filter(campaign=campaign, member=member).exclude(status=CouponStatus.VOID)
    if held.count() >= campaign.per_member_limit:
        raise MemberLimitReached(campaign)
    if not _take_issue(campaign, 1):
        raise CampaignIssueCapReached(campaign)
    (coupon,) = _new_coupons(
        campaign, 1, member=member, source=CouponSource.CLAIMED, channel=channel
    )
    return coupon


@transaction.atomic
def campaign_print(
    *, campaign: Campaign, count: int, batch: str = "", actor: User | None = None
) -> list[Coupon]:
    """A batch of anonymous coupons to print (flyers, receipts). All or nothing against the
    issue cap."""
    if not 1 <= count <= MAX_BATCH:
        raise CampaignInvalid("count", _("a batch is 1 to %(max)s coupons"), max=MAX_BATCH)
    campaign = lock_campaign(campaign.pk)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.ACTIVE):
        raise CampaignNotActive(campaign)
    if campaign.issue_cap is not None and campaign.issued + count > campaign.issue_cap:
        raise CampaignIssueCapReached(campaign)
    _take_issue(campaign, count)
    name = batch or f"{campaign.code}-{timezone.now():%Y%m%d%H%M%S}"
    return _new_coupons(campaign, count, source=CouponSource.PRINTED, batch=name[:40])


@transaction.atomic
def coupon_void(*, coupon: Coupon, actor: User | None = None) -> Coupon:
    """Withdraw an unused coupon (a held or redeemed one stays as it is)."""
    Coupon.objects.filter(pk=coupon.pk, status=CouponStatus.ISSUED).update(status=CouponStatus.VOID)
    coupon.refresh_from_db()
    return coupon
