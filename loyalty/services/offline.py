"""Redemptions a till accepted while its store was offline, uploaded when it is back.

The till accepted each on the signature alone (``loyalty.codes.verify_coupon``, with the
public key and its own list of coupons it took), within its store's daily offline allowance.
The sale has happened: nothing here refuses it. Each upload is recorded once per (store,
client id), whatever the retries:

- accepted: the coupon was still unused — it is redeemed now (coupon, member's use, budget,
  as online) and the ledger says ``offline``;
- a discrepancy for a person: the coupon had been used elsewhere meanwhile (the ledger keeps
  the second consume, flagged, outside the budget), or it was over the allowance, over the
  budget or the member's limit, or its code was not genuine. Never silently accepted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import Location
from omni.errors import ApplicationError
from omni.models import User

from ..errors import (
    CampaignBudgetExhausted,
    CouponAlreadyUsed,
    CouponRefused,
    DiscrepancyResolved,
    LoyaltyErrorCode,
)
from ..models import (
    Campaign,
    Coupon,
    CouponStatus,
    DiscountEntry,
    EntryKind,
    OfflineAllowanceUse,
    OfflineUpload,
    RedemptionDiscrepancy,
    StoreOfflineAllowance,
)
from .redemption import _take_coupon, _take_member_use, coupon_read

ACCEPTED = "accepted"
DISCREPANCY = "discrepancy"


@dataclass(frozen=True)
class OfflineRedemption:
    client_id: str
    code: str
    amount: Decimal
    accepted_at: datetime
    sale_reference: str = ""


@dataclass(frozen=True)
class OfflineResult:
    client_id: str
    result: str  # accepted | discrepancy
    reason: str = ""  # the error code of a discrepancy
    coupon: int | None = None
    discrepancy: int | None = None


def store_allowance(store: Location) -> tuple[int, Decimal]:
    """The store's offline allowance per day: its own, else the default setting."""
    own = StoreOfflineAllowance.objects.filter(store=store).first()
    if own is not None:
        return own.max_count_per_day, own.max_amount_per_day
    count, amount = settings.OMNI_LOYALTY_OFFLINE_ALLOWANCE
    return int(count), Decimal(str(amount))


def _local_day(store: Location, moment: datetime) -> date:
    zone = ZoneInfo(store.city.timezone) if store.city else timezone.get_current_timezone()
    return moment.astimezone(zone).date()


def _take_allowance(store: Location, day: date, amount: Decimal) -> bool:
    max_count, max_amount = store_allowance(store)
    OfflineAllowanceUse.objects.bulk_create(
        [OfflineAllowanceUse(store=store, day=day)], ignore_conflicts=True
    )
    return bool(
        OfflineAllowanceUse.objects.filter(
            store=store,
            day=day,
            count__lt=max_count,
            amount__lte=max_amount - amount,
        ).update(count=F("count") + 1, amount=F("amount") + amount)
    )


def _claim(store: Location, client_id: str) -> OfflineUpload | OfflineResult:
    """This upload's row, inserted first; or the answer an earlier upload of the same client
    id got (a racing retry waits on the insert until the first commits)."""
    earlier = OfflineUpload.objects.filter(store=store, client_id=client_id).first()
    if earlier is None:
        try:
            with transaction.atomic():
                return OfflineUpload.objects.create(store=store, client_id=client_id, result="")
        except IntegrityError:
            earlier = OfflineUpload.objects.get(store=store, client_id=client_id)
    return OfflineResult(
        client_id, earlier.result, earlier.reason, earlier.coupon_id, earlier.discrepancy_id
    )


def _flag(
    store: Location,
    item: OfflineRedemption,
    reason: str,
    coupon: Coupon | None,
    entry: DiscountEntry | None = None,
) -> OfflineResult:
    case = RedemptionDiscrepancy.objects.create(
        coupon=coupon,
        entry=entry,
        store=store,
        client_id=item.client_id,
        code=item.code[:400],
        reason=reason,
        amount=item.amount,
        sale_reference=item.sale_reference,
        accepted_at=item.accepted_at,
    )
    return OfflineResult(
        item.client_id, DISCREPANCY, reason, coupon.pk if coupon else None, case.pk
    )


@transaction.atomic
def offline_redemption_record(
    *, store: Location, item: OfflineRedemption, actor: User | None = None
) -> OfflineResult:
    """Record one redemption the till accepted offline (idempotent per store and client id)."""
    upload = _claim(store, item.client_id)
    if isinstance(upload, OfflineResult):
        return upload
    result = _record(store, item, actor)
    upload.result, upload.reason = result.result, result.reason
    upload.coupon_id, upload.discrepancy_id = result.coupon, result.discrepancy
    upload.save(update_fields=["result", "reason", "coupon", "discrepancy"])
    return result


def _record(store: Location, item: OfflineRedemption, actor: User | None) -> OfflineResult:
    try:
        coupon = coupon_read(item.code, store=store, now=item.accepted_at)
    except CouponRefused as exc:
        return _flag(store, item, str(exc.code), None)
    if not _take_allowance(store, _local_day(store, item.accepted_at), item.amount):
        return _flag(store, item, LoyaltyErrorCode.OFFLINE_ALLOWANCE_EXCEEDED, coupon)
    common = {
        "campaign_id": coupon.campaign_id,
        "coupon": coupon,
        "member": coupon.member,
        "amount": item.amount,
        "sale_reference": item.sale_reference,
        "store": store,
        "offline": True,
        "client_id": item.client_id,
        "actor": actor,
    }
    try:
        with transaction.atomic():
            _take_coupon(
                coupon,
                status=CouponStatus.REDEEMED,
                redeemed_at=item.accepted_at,
                redeemed_store=store,
            )
            _take_member_use(coupon.campaign, coupon.member)
            won = Campaign.objects.filter(
                pk=coupon.campaign_id, granted__lte=F("budget") - item.amount
            ).update(granted=F("granted") + item.amount)
            if not won:
                raise CampaignBudgetExhausted(coupon.campaign)
            DiscountEntry.objects.create(kind=EntryKind.GRANT, **common)
            DiscountEntry.objects.create(kind=EntryKind.CONSUME, **common)
    except CouponAlreadyUsed as exc:
        # Used elsewhere too: the money is gone twice. The ledger keeps this consume, flagged
        # and outside the budget; a person decides what follows.
        entry = DiscountEntry.objects.create(kind=EntryKind.CONSUME, discrepancy=True, **common)
        return _flag(store, item, str(exc.code), coupon, entry)
    except (ApplicationError, IntegrityError) as exc:
        reason = str(getattr(exc, "code", "conflict"))
        return _flag(store, item, reason, coupon)
    return OfflineResult(item.client_id, ACCEPTED, coupon=coupon.pk)


def offline_redemptions_upload(
    *, store: Location, items: list[OfflineRedemption], actor: User | None = None
) -> list[OfflineResult]:
    """A till's queue, one transaction per redemption (a failure leaves the others)."""
    return [offline_redemption_record(store=store, item=item, actor=actor) for item in items]


@transaction.atomic
def discrepancy_resolve(
    *, discrepancy: RedemptionDiscrepancy, note: str, actor: User | None = None
) -> RedemptionDiscrepancy:
    won = RedemptionDiscrepancy.objects.filter(pk=discrepancy.pk, status="open").update(
        status="resolved", note=note[:255], resolved_by=actor, resolved_at=timezone.now()
    )
    if not won:
        raise DiscrepancyResolved(discrepancy.pk)
    discrepancy.refresh_from_db()
    return discrepancy
