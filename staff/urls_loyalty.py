"""The campaign and member pages; the project mounts them at ``/staff/loyalty/``."""

from __future__ import annotations

from django.urls import path

from .views import campaigns, members

app_name = "loyalty"

urlpatterns = [
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/<int:campaign_id>/", campaigns.campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_id>/chart.svg", campaigns.campaign_chart, name="chart"),
    path(
        "campaigns/<int:campaign_id>/effect.csv",
        campaigns.campaign_effect_csv,
        name="effect-csv",
    ),
    path("members/", members.member_lookup, name="members"),
]
