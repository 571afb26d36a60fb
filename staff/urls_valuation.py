"""The planners' valuation page; the project mounts it at ``/staff/valuation/``."""

from __future__ import annotations

from django.urls import path

from .views import valuation as views

app_name = "valuation"

urlpatterns = [
    path("", views.valuation_page, name="page"),
]
