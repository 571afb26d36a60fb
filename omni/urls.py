from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import include, path, re_path

from . import health
from .api import api
from .errors import CommonErrorCode
from .metrics import metrics_view
from .models import Role


def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return JsonResponse(
        {"code": CommonErrorCode.NOT_FOUND, "message": f"no endpoint {request.path}", "detail": {}},
        status=404,
    )


def home(request: HttpRequest) -> HttpResponse:
    """Staff land on their pages; a channel integration's account has none, only the API."""
    if not request.user.is_authenticated:
        return redirect("staff:login")
    if getattr(request.user, "role", None) == Role.CHANNEL:
        return redirect("/api/docs")
    return redirect("staff:home")


urlpatterns = [
    path("", home),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("staff/forecasts/", include("staff.urls_forecasts")),
    path("staff/allocations/", include("staff.urls_allocations")),
    path("staff/valuation/", include("staff.urls_valuation")),
    path("staff/", include("staff.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
]
