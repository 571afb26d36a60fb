"""The planners' forecast pages; the project mounts them at ``/staff/forecasts/``."""

from __future__ import annotations

from django.urls import path

from staff.views import forecasts as views

app_name = "forecasting"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("<int:run_id>/", views.run_detail, name="run"),
    path("<int:run_id>/progress/", views.run_progress, name="progress"),
    path("<int:run_id>/chart.svg", views.run_chart, name="chart"),
    path("<int:run_id>/rerun/", views.run_rerun, name="rerun"),
    path("<int:run_id>/cancel/", views.run_cancel, name="cancel"),
]
