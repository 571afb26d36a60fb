"""The invariants of the discount ledger (docs/loyalty.md, "Verify"), checked in a few
aggregate queries: by ``manage.py loyalty_verify`` and by every test that redeems coupons."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum

from inventory.invariants import Violation
from orders.models import OrderLine

from .models import (
    Campaign,
    Coupon,
    CouponStatus,
    DiscountEntry,
    EntryKind,
    MemberCampaignUse,
)

INVARIANTS = {
    "granted_matches_ledger": "granted = Σ grant − Σ release per campaign (flagged rows aside)",
    "within_budget": "0 ≤ granted ≤ budget per campaign",
    "within_issue_cap": "issued = coupons of the campaign ≤ issue cap",
    "consumed_once": "each coupon consumed at most once (flagged offline discrepancies aside)",
    "coupon_status_matches_ledger": "redeemed ⇔ consumed; held ⇔ one grant not released",
    "member_uses_match": "a member's uses = coupons held or redeemed, ≤ the per-member limit",
    "lines_match_ledger": "Σ line discounts of an order = Σ grant − Σ release on it",
}

ZERO = Decimal("0")


def _net(rows: object) -> dict[object, Decimal]:
    out: dict[object, Decimal] = defaultdict(lambda: ZERO)
    for key, kind, amount in rows:  # type: ignore[attr-defined]
        out[key] += amount if kind == EntryKind.GRANT else -amount
    return out


def check_invariants() -> tuple[dict[str, int], list[Violation]]:
    checked: dict[str, int] = {}
    violations: list[Violation] = []
    ledger = DiscountEntry.objects.filter(discrepancy=False)
    moving = ledger.filter(kind__in=(EntryKind.GRANT, EntryKind.RELEASE))

    net_campaign = _net(
        moving.values("campaign_id", "kind")
        .annotate(s=Sum("amount"))
        .values_list("campaign_id", "kind", "s")
    )
    campaigns = list(Campaign.objects.annotate(n_coupons=Count("coupons")))
    for c in campaigns:
        if c.granted != net_campaign.get(c.pk, ZERO):
            violations.append(
                Violation(
                    "granted_matches_ledger",
                    f"campaign {c.code}",
                    f"granted {c.granted}, ledger {net_campaign.get(c.pk, ZERO)}",
                )
            )
        if not ZERO <= c.granted <= c.budget:
            violations.append(
                Violation("within_budget", f"campaign {c.code}", f"{c.granted} of {c.budget}")
            )
        if c.issued != c.n_coupons or (c.issue_cap is not None and c.issued > c.issue_cap):
            violations.append(
                Violation(
                    "within_issue_cap",
                    f"campaign {c.code}",
                    f"issued {c.issued}, coupons {c.n_coupons}, cap {c.issue_cap}",
                )
            )
    for name in ("granted_matches_ledger", "within_budget", "within_issue_cap"):
        checked[name] = len(campaigns)

    consumes = dict(
        ledger.filter(kind=EntryKind.CONSUME)
        .values("coupon_id")
        .annotate(n=Count("id"))
        .values_list("coupon_id", "n")
    )
    for coupon_id, n in consumes.items():
        if n > 1:
            violations.append(Violation("consumed_once", f"coupon {coupon_id}", f"consumed {n}×"))
    checked["consumed_once"] = len(consumes)

    counts = moving.values("coupon_id").annotate(
        grants=Count("id", filter=Q(kind=EntryKind.GRANT)),
        releases=Count("id", filter=Q(kind=EntryKind.RELEASE)),
    )
    open_grants = {row["coupon_id"]: row["grants"] - row["releases"] for row in counts}
    coupons = Coupon.objects.values_list("id", "status")
    n = 0
    for coupon_id, status in coupons.iterator():
        n += 1
        live = open_grants.get(coupon_id, 0)
        used = consumes.get(coupon_id, 0)
        expected = {
            CouponStatus.REDEEMED: (1, 1),
            CouponStatus.HELD: (1, 0),
            CouponStatus.ISSUED: (0, 0),
            CouponStatus.VOID: (0, 0),
        }[CouponStatus(status)]
        if (live, used) != expected:
            violations.append(
                Violation(
                    "coupon_status_matches_ledger",
                    f"coupon {coupon_id}",
                    f"{status} with {live} open grant(s), {used} consume(s)",
                )
            )
    checked["coupon_status_matches_ledger"] = n

    per_member: dict[tuple[int, int], int] = defaultdict(int)
    for campaign_id, member_id, kind, k in (
        moving.filter(member__isnull=False)
        .values("campaign_id", "member_id", "kind")
        .annotate(k=Count("id"))
        .values_list("campaign_id", "member_id", "kind", "k")
    ):
        per_member[(campaign_id, member_id)] += k if kind == EntryKind.GRANT else -k
    limits = {c.pk: c.per_member_limit for c in campaigns}
    uses = {(u.campaign_id, u.member_id): u.uses for u in MemberCampaignUse.objects.all()}
    for key in set(per_member) | set(uses):
        held = per_member.get(key, 0)
        if uses.get(key, 0) != held or held > limits.get(key[0], 0):
            violations.append(
                Violation(
                    "member_uses_match",
                    f"campaign {key[0]} member {key[1]}",
                    f"uses {uses.get(key, 0)}, ledger {held}, limit {limits.get(key[0])}",
                )
            )
    checked["member_uses_match"] = len(set(per_member) | set(uses))

    net_order = _net(
        moving.filter(order__isnull=False)
        .values("order_id", "kind")
        .annotate(s=Sum("amount"))
        .values_list("order_id", "kind", "s")
    )
    on_lines: dict[object, Decimal] = dict(
        OrderLine.objects.filter(discount__gt=0)
        .values("order_id")
        .annotate(s=Sum("discount"))
        .values_list("order_id", "s")
    )
    for order_id in set(net_order) | set(on_lines):
        if net_order.get(order_id, ZERO) != on_lines.get(order_id, ZERO):
            violations.append(
                Violation(
                    "lines_match_ledger",
                    f"order {order_id}",
                    f"lines {on_lines.get(order_id, ZERO)}, ledger {net_order.get(order_id)}",
                )
            )
    checked["lines_match_ledger"] = len(set(net_order) | set(on_lines))
    return checked, violations


def assert_invariants() -> None:
    """For tests: fail loudly, naming each bad row."""
    _, violations = check_invariants()
    if violations:
        raise AssertionError("loyalty invariants broken:\n" + "\n".join(map(str, violations)))
