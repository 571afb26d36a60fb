"""A campaign's effect against its holdout group, as JSON and as CSV (docs/loyalty-effect.md).
Marketing, planners and administrators; others get 403. Mounted by ``loyalty.api``.

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from loyalty.effect import Effect, EffectReport, Interval
from loyalty.effect_selectors import campaign_effect_report, campaign_figures, effect_csv
from loyalty.models import Campaign
from omni.access import current_user, reads_everything, visible_one
from omni.errors import NotFound, RoleNotAllowed
from omni.models import Role, User

router = Router(tags=["loyalty"])


def can_read_effect(user: User) -> bool:
    return reads_everything(user) or user.role == Role.MARKETING


def _marketer(request: HttpRequest) -> User:
    user = current_user(request)
    if not can_read_effect(user):
        raise RoleNotAllowed(user, _("a campaign's effect is for marketing, planners and admins"))
    return user


def _campaign(campaign_id: int) -> Campaign:
    return visible_one(
        Campaign.objects.all(), lambda: NotFound(_("no such campaign")), pk=campaign_id
    )


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


@router.get("/loyalty/campaigns/{campaign_id}/effect", response=CampaignEffectOut)
def campaign_effect_get(request: HttpRequest, campaign_id: int) -> dict[str, object]:
    """Treated vs holdout: redemption rate, revenue and units per member, the uplift with its
    95 % Welch interval, for the campaign, each home store and each channel."""
    _marketer(request)
    campaign = _campaign(campaign_id)
    return effect_out(campaign, campaign_effect_report(campaign))


@router.get(
    "/loyalty/campaigns/{campaign_id}/effect.csv",
    response={200: None},
    openapi_extra=CSV_RESPONSE,
)
def campaign_effect_csv(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The effect table as CSV, one row per slice (docs/loyalty-effect.md, "CSV")."""
    _marketer(request)
    campaign = _campaign(campaign_id)
    response = HttpResponse(
        effect_csv(campaign_effect_report(campaign)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="effect-{campaign.code}.csv"'
    return response
