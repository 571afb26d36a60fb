"""A campaign's effect against its holdout group, as JSON and as CSV (docs/loyalty-effect.md).
Marketing, planners and administrators; others get 403. Mounted by ``loyalty.api``.

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from loyalty.effect import Effect, EffectReport, Interval
from loyalty.effect_selectors import campaign_effect_report, campaign_figures, effect_csv
from loyalty.models import Campaign
from loyalty.selectors import campaign_visible
from omni.access import current_user, require_marketing

router = Router(tags=["loyalty"])


def _campaign(request: HttpRequest, code: str) -> Campaign:
    """The campaign, for those who run campaigns (marketing, planners, admins; others 403)."""
    user = current_user(request)
    require_marketing(user)
    return campaign_visible(user, code)


class IntervalOut(Schema):
    estimate: float
    low: float | None
    high: float | None
    se: float | None
    df: float | None


class GroupOut(Schema):
    members: int
    redeemed: int
    redemption_rate: float
    revenue: float
    units: float
    revenue_per_member: float
    units_per_member: float


class EffectOut(Schema):
    slice: str  # campaign | store | channel
    label: str  # the store's or channel's code; empty for the campaign (or no home store)
    treated: GroupOut
    holdout: GroupOut
    revenue_uplift: IntervalOut
    units_uplift: IntervalOut
    incremental_revenue: IntervalOut


class CampaignEffectOut(Schema):
    campaign: str
    confidence: float
    budget: float
    granted: float
    consumed: float
    coupons_issued: int
    coupons_redeemed: int
    overall: EffectOut
    by_store: list[EffectOut]
    by_channel: list[EffectOut]


def _interval(interval: Interval) -> dict[str, float | None]:
    return {
        "estimate": interval.estimate,
        "low": interval.low,
        "high": interval.high,
        "se": interval.se,
        "df": interval.df,
    }


def _effect(kind: str, effect: Effect) -> dict[str, object]:
    def group(g: object) -> dict[str, object]:
        fields = GroupOut.model_fields
        return {f: getattr(g, f) for f in fields}

    return {
        "slice": kind,
        "label": effect.label,
        "treated": group(effect.treated),
        "holdout": group(effect.holdout),
        "revenue_uplift": _interval(effect.revenue_uplift),
        "units_uplift": _interval(effect.units_uplift),
        "incremental_revenue": _interval(effect.incremental_revenue),
    }


def effect_out(campaign: Campaign, report: EffectReport) -> dict[str, object]:
    figures = campaign_figures(campaign)
    return {
        "campaign": campaign.code,
        "confidence": report.confidence,
        "budget": float(figures.budget),
        "granted": float(figures.granted),
        "consumed": float(figures.consumed),
        "coupons_issued": figures.issued,
        "coupons_redeemed": figures.redeemed,
        "overall": _effect("campaign", report.overall),
        "by_store": [_effect("store", e) for e in report.by_store],
        "by_channel": [_effect("channel", e) for e in report.by_channel],
    }


CSV_RESPONSE = {"responses": {"200": {"content": {"text/csv": {"schema": {"type": "string"}}}}}}


@router.get("/loyalty/campaigns/{code}/effect", response=CampaignEffectOut)
def campaign_effect_get(request: HttpRequest, code: str) -> dict[str, object]:
    """Treated vs holdout: redemption rate, revenue and units per member, the uplift with its
    95 % Welch interval, for the campaign, each home store and each channel."""
    campaign = _campaign(request, code)
    return effect_out(campaign, campaign_effect_report(campaign))


@router.get(
    "/loyalty/campaigns/{code}/effect.csv",
    response={200: None},
    openapi_extra=CSV_RESPONSE,
)
def campaign_effect_csv(request: HttpRequest, code: str) -> HttpResponse:
    """The effect table as CSV, one row per slice (docs/loyalty-effect.md, "CSV")."""
    campaign = _campaign(request, code)
    response = HttpResponse(
        effect_csv(campaign_effect_report(campaign)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="effect-{campaign.code}.csv"'
    return response
