from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import path, re_path

from .api import api
from .errors import CommonErrorCode


def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return JsonResponse(
        {"code": CommonErrorCode.NOT_FOUND, "message": f"no endpoint {request.path}", "detail": {}},
        status=404,
    )


def home(request: HttpRequest) -> HttpResponse:
    return redirect("/admin/" if request.user.is_authenticated else "/api/docs")


urlpatterns = [
    path("", home),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
]
