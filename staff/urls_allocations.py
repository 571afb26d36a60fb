"""The planners' allocation pages; the project mounts them at ``/staff/allocations/``."""

from __future__ import annotations

from django.urls import path

from .views import allocations as views

app_name = "allocation"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("<int:run_id>/", views.run_detail, name="run"),
    path("<int:run_id>/progress/", views.run_progress, name="progress"),
    path("<int:run_id>/chart.svg", views.run_chart, name="chart"),
    path("<int:run_id>/approve/", views.run_approve, name="approve"),
    path("<int:run_id>/reject/", views.run_reject, name="reject"),
]
