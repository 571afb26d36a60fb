"""Reads for a campaign's effect: the per-member outcomes of its treated and holdout members
over the campaign's window, built from orders in SQL aggregates, and the effect report the pure
``loyalty.effect`` computes from them (docs/loyalty-effect.md).

What counts, per member (an order carries the member's number in ``Order.member_id``):

- orders created inside the campaign's window [``starts_at``, ``ends_at``), through any channel
  (web, app, marketplace, the stores' tills: a counter sale is an order of the store's POS
  channel);
- only orders that were paid or handed over (``payment_status = paid`` or ``status =
  completed``), and not cancelled or expired: an abandoned cart or a refunded order is no
  revenue;
- revenue = Σ over the lines of quantity × unit price − the line's discount (what the customer
  paid, after every coupon); units = Σ quantity.

A member with no such order counts with zero: leaving them out would compare buyers with
buyers and hide the campaign's main effect, making more members buy.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum

from loyalty.effect import Effect, EffectReport, MemberOutcomes, campaign_effect
from loyalty.models import (
    AssignmentGroup,
    Campaign,
    CampaignAssignment,
    Coupon,
    CouponStatus,
    DiscountEntry,
    EntryKind,
)
from orders.models import OrderLine, OrderStatus, PaymentStatus

NO_HOME_STORE = ""

LINE_REVENUE = ExpressionWrapper(
    F("quantity") * F("unit_price") - F("discount"),
    output_field=DecimalField(max_digits=16, decimal_places=2),
)


def counted_lines(campaign: Campaign) -> QuerySet[OrderLine]:
    """The order lines of the campaign's assigned members that count as its outcome."""
    numbers = CampaignAssignment.objects.filter(campaign=campaign).values("member__number")
    return OrderLine.objects.filter(
        order__member_id__in=numbers,
        order__created_at__gte=campaign.starts_at,
        order__created_at__lt=campaign.ends_at,
    ).filter(
        (Q(order__payment_status=PaymentStatus.PAID) | Q(order__status=OrderStatus.COMPLETED))
        & ~Q(order__status__in=(OrderStatus.CANCELLED, OrderStatus.EXPIRED))
    )


def campaign_member_outcomes(campaign: Campaign) -> MemberOutcomes:
    """One entry per assigned member: group, home store, revenue and units over the window (in
    total and per channel), whether they redeemed a coupon of the campaign (and through which
    channel). Three aggregate queries, whatever the number of members."""
    members = list(
        CampaignAssignment.objects.filter(campaign=campaign)
        .order_by("member_id")
        .values_list("member_id", "member__number", "group", "member__home_store__code")
    )
    index = {number: i for i, (_, number, _, _) in enumerate(members)}
    size = len(members)
    per_channel = (
        counted_lines(campaign)
        .values("order__member_id", "order__channel__code")
        .annotate(revenue=Sum(LINE_REVENUE), units=Sum("quantity"))
        .order_by()
    )
    channel_revenue: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(size))
    channel_units: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(size))
    for row in per_channel:
        at = index[row["order__member_id"]]
        channel = row["order__channel__code"]
        channel_revenue[channel][at] += float(row["revenue"] or 0)
        channel_units[channel][at] += float(row["units"] or 0)

    member_index = {member_id: i for i, (member_id, _, _, _) in enumerate(members)}
    redeemed = np.zeros(size, dtype=bool)
    channel_redeemed: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(size, dtype=bool))
    consumed = (
        DiscountEntry.objects.filter(
            campaign=campaign, kind=EntryKind.CONSUME, member__isnull=False
        )
        .values_list("member_id", "channel__code")
        .distinct()
    )
    for member_id, channel in consumed:
        drawn = member_index.get(member_id)
        if drawn is None:
            continue  # a printed coupon used by a member outside the campaign's draw
        redeemed[drawn] = True
        if channel:
            channel_redeemed[channel][drawn] = True
    channels = sorted(set(channel_revenue) | set(channel_redeemed))
    return MemberOutcomes.of(
        treated=[group == AssignmentGroup.TREATED for _, _, group, _ in members],
        revenue=sum(channel_revenue.values(), np.zeros(size)),
        units=sum(channel_units.values(), np.zeros(size)),
        redeemed=redeemed,
        home_store=[store or NO_HOME_STORE for _, _, _, store in members],
        channel_revenue={c: channel_revenue[c] for c in channels},
        channel_units={c: channel_units[c] for c in channels},
        channel_redeemed={c: channel_redeemed[c] for c in channels},
    )


def campaign_effect_report(campaign: Campaign) -> EffectReport:
    return campaign_effect(campaign_member_outcomes(campaign))


@dataclass(frozen=True)
class CampaignFigures:
    """What the campaign page shows beside the effect: coupons and budget."""

    issued: int
    held: int
    redeemed: int
    void: int
    granted: Decimal
    budget: Decimal
    consumed: Decimal
    treated: int
    holdout: int

    @property
    def budget_used_share(self) -> float:
        return float(self.granted / self.budget) if self.budget else 0.0


def campaign_figures(campaign: Campaign) -> CampaignFigures:
    """Coupons by status, the groups' sizes and the ledger's consumed total; the budget and
    what is granted as ``campaign`` holds them (read it fresh)."""
    statuses = dict(
        Coupon.objects.filter(campaign=campaign)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )
    groups = dict(
        CampaignAssignment.objects.filter(campaign=campaign)
        .values("group")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("group", "n")
    )
    consumed = DiscountEntry.objects.filter(campaign=campaign, kind=EntryKind.CONSUME).aggregate(
        total=Sum("amount")
    )["total"]
    return CampaignFigures(
        issued=sum(statuses.values()),
        held=statuses.get(CouponStatus.HELD, 0),
        redeemed=statuses.get(CouponStatus.REDEEMED, 0),
        void=statuses.get(CouponStatus.VOID, 0),
        granted=campaign.granted,
        budget=campaign.budget,
        consumed=consumed or Decimal("0"),
        treated=groups.get(AssignmentGroup.TREATED, 0),
        holdout=groups.get(AssignmentGroup.HOLDOUT, 0),
    )


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = [
    "slice",
    "label",
    "treated_members",
    "holdout_members",
    "treated_redemption_rate",
    "holdout_redemption_rate",
    "treated_revenue_per_member",
    "holdout_revenue_per_member",
    "revenue_uplift",
    "revenue_uplift_low",
    "revenue_uplift_high",
    "treated_units_per_member",
    "holdout_units_per_member",
    "units_uplift",
    "units_uplift_low",
    "units_uplift_high",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
]


def _number(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def effect_rows(report: EffectReport) -> list[tuple[str, Effect]]:
    """Every slice of the report in the order the page and the CSV show them."""
    rows: list[tuple[str, Effect]] = [("campaign", report.overall)]
    rows += [("store", e) for e in report.by_store]
    rows += [("channel", e) for e in report.by_channel]
    return rows


def effect_csv(report: EffectReport) -> str:
    """The effect table as CSV: one row per slice, the interval's bounds in their own columns
    (empty where a group is too small for one)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for kind, e in effect_rows(report):
        incremental = e.incremental_revenue
        writer.writerow(
            [
                kind,
                e.label,
                e.treated.members,
                e.holdout.members,
                _number(e.treated.redemption_rate),
                _number(e.holdout.redemption_rate),
                _number(e.treated.revenue_per_member),
                _number(e.holdout.revenue_per_member),
                _number(e.revenue_uplift.estimate),
                _number(e.revenue_uplift.low),
                _number(e.revenue_uplift.high),
                _number(e.treated.units_per_member),
                _number(e.holdout.units_per_member),
                _number(e.units_uplift.estimate),
                _number(e.units_uplift.low),
                _number(e.units_uplift.high),
                _number(incremental.estimate, 2),
                _number(incremental.low, 2),
                _number(incremental.high, 2),
            ]
        )
    return out.getvalue()
