"""The campaign pages (under ``/staff/loyalty/``): the list of campaigns, and a campaign's rule,
budget, coupons and its effect against the holdout group — the table treated vs holdout with
the uplift and its 95 % interval for the campaign, each home store and each channel, an SVG
chart of the uplifts, the table as CSV (docs/loyalty-effect.md).

Marketing, planners and administrators (``marketing_page``); other roles get the 403 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.effect import Effect, EffectReport, Interval
from loyalty.effect_selectors import (
    NO_HOME_STORE,
    campaign_effect_report,
    campaign_figures,
    effect_csv,
)
from loyalty.models import Campaign, CampaignKind, CouponStatus
from staff.charts.campaign import UpliftRow, uplift_chart_svg
from staff.views.common import Staff, marketing_page

CAMPAIGNS_SHOWN = 100

# What the loyalty models store in English, for ``{% translate campaign.get_status_display %}``.
STORED_WORDS = (
    _("Draft"),
    _("Active"),
    _("Paused"),
    _("Ended"),
    _("Percent off"),
    _("Amount off"),
    _("A free item"),
    _("Issued: can be used"),
    _("Held on an open order"),
    _("Redeemed"),
    _("Void"),
)


@dataclass(frozen=True)
class EffectRow:
    """One row of the effect table: a slice's name, in words, and its effect."""

    kind: str  # campaign | store | channel
    name: str
    effect: Effect

    @property
    def revenue(self) -> Interval:
        return self.effect.revenue_uplift

    @property
    def units(self) -> Interval:
        return self.effect.units_uplift

    @property
    def verdict(self) -> str:
        """``up``/``down`` when the revenue interval lies wholly above/below zero, ``none`` when
        it holds zero, ``unknown`` when a group is too small for an interval."""
        interval = self.revenue
        if not interval.known:
            return "unknown"
        if interval.excludes_zero:
            return "up" if interval.estimate > 0 else "down"
        return "none"


def effect_table(report: EffectReport) -> list[EffectRow]:
    rows = [EffectRow("campaign", gettext("Whole campaign"), report.overall)]
    for e in report.by_store:
        name = e.label if e.label != NO_HOME_STORE else gettext("No home store")
        rows.append(EffectRow("store", gettext("Store %(code)s") % {"code": name}, e))
    for e in report.by_channel:
        rows.append(EffectRow("channel", gettext("Channel %(code)s") % {"code": e.label}, e))
    return rows


def rule_words(campaign: Campaign) -> str:
    if campaign.kind == CampaignKind.PERCENT_OFF:
        percent = (campaign.percent_off or Decimal("0")).normalize()
        return gettext("%(percent)s %% off") % {"percent": f"{percent:f}"}
    if campaign.kind == CampaignKind.AMOUNT_OFF:
        return gettext("%(amount)s off") % {"amount": campaign.amount_off}
    product = campaign.free_product
    return gettext("%(sku)s free") % {"sku": product.sku if product else "—"}


def _campaign(campaign_id: int) -> Campaign:
    campaign = (
        Campaign.objects.select_related("free_product")
        .prefetch_related("channels", "cities", "stores", "products")
        .filter(pk=campaign_id)
        .first()
    )
    if campaign is None:
        raise Http404("no such campaign")
    return campaign


@marketing_page("campaigns")
def campaign_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    campaigns = Campaign.objects.annotate(
        coupon_count=Count("coupons"),
        redeemed_count=Count("coupons", filter=Q(coupons__status=CouponStatus.REDEEMED)),
    ).order_by("-starts_at", "-id")[:CAMPAIGNS_SHOWN]
    rows = [
        {
            "campaign": c,
            "rule": rule_words(c),
            "budget_percent": f"{(c.granted / c.budget * 100) if c.budget else 0:.0f}%",
        }
        for c in campaigns
    ]
    return render(request, "loyalty/campaigns.html", {"staff": staff, "rows": rows})


@marketing_page("campaigns")
def campaign_detail(request: HttpRequest, staff: Staff, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    report = campaign_effect_report(campaign)
    figures = campaign_figures(campaign)
    table = effect_table(report)
    context = {
        "staff": staff,
        "campaign": campaign,
        "rule": rule_words(campaign),
        "figures": figures,
        "budget_percent": f"{figures.budget_used_share * 100:.0f}%",
        "rows": table,
        "overall": report.overall,
        "chart": _chart(table),
        "confidence_percent": f"{report.confidence * 100:.0f}",
    }
    return render(request, "loyalty/campaign.html", context)


def _chart(table: list[EffectRow]) -> str:
    return uplift_chart_svg(
        title=gettext("Revenue per member: treated − holdout, with its %(percent)s%% interval")
        % {"percent": 95},
        x_label=gettext("uplift in revenue per member"),
        rows=[UpliftRow(r.name, r.revenue.estimate, r.revenue.low, r.revenue.high) for r in table],
    )


@marketing_page("campaigns")
def campaign_chart(request: HttpRequest, staff: Staff, campaign_id: int) -> HttpResponse:
    table = effect_table(campaign_effect_report(_campaign(campaign_id)))
    return HttpResponse(_chart(table), content_type="image/svg+xml")


@marketing_page("campaigns")
def campaign_effect_csv(request: HttpRequest, staff: Staff, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    response = HttpResponse(
        effect_csv(campaign_effect_report(campaign)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="effect-{campaign.code}.csv"'
    return response
