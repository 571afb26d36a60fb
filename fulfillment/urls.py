"""The staff web pages, under ``/staff/``. Pick, pack and pickup pages come in a later step."""

from __future__ import annotations

from django.urls import path

from .views import auth, counts, home, receiving, reserve, stock

app_name = "staff"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.StaffLoginView.as_view(), name="login"),
    path("logout/", auth.StaffLogoutView.as_view(), name="logout"),
    path("stock/", stock.stock_lookup, name="stock"),
    path("reserve/", reserve.reserve, name="reserve"),
    path("reserve/<int:reservation_id>/release/", reserve.reserve_release, name="reserve-release"),
    path("receiving/", receiving.receiving, name="receiving"),
    path(
        "receiving/transfers/<int:transfer_id>/",
        receiving.transfer_receive_view,
        name="transfer-receive",
    ),
    path("receiving/receipt/", receiving.receipt, name="receipt"),
    path("count/", counts.count, name="count"),
]
