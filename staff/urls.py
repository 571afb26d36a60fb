"""The staff web pages, under ``/staff/``."""

from __future__ import annotations

from django.urls import path

from staff.views import (
    auth,
    counts,
    coupons,
    home,
    packing,
    pick_page,
    picking,
    pickups,
    receiving,
    receiving_po,
    reserve,
    routing,
    stock,
)

app_name = "staff"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.StaffLoginView.as_view(), name="login"),
    path("logout/", auth.StaffLogoutView.as_view(), name="logout"),
    path("stock/", stock.stock_lookup, name="stock"),
    path("reserve/", reserve.reserve, name="reserve"),
    path("reserve/add/", reserve.reserve_add, name="reserve-add"),
    path("reserve/hold/", reserve.reserve_hold, name="reserve-hold"),
    path("reserve/lines/<int:line_id>/", reserve.reserve_line, name="reserve-line"),
    path(
        "reserve/lines/<int:line_id>/transfer/", reserve.reserve_transfer, name="reserve-transfer"
    ),
    path(
        "reserve/lines/<int:line_id>/hold-there/",
        reserve.reserve_hold_there,
        name="reserve-hold-there",
    ),
    path("reserve/tickets/<int:ticket_id>/sell/", reserve.reserve_sell, name="reserve-sell"),
    path(
        "reserve/tickets/<int:ticket_id>/release/",
        reserve.reserve_release,
        name="reserve-release",
    ),
    path("receiving/", receiving.receiving, name="receiving"),
    path(
        "receiving/transfers/<int:transfer_id>/open/",
        receiving.transfer_open,
        name="receiving-transfer-open",
    ),
    path(
        "receiving/purchase-orders/<int:purchase_order_id>/open/",
        receiving_po.purchase_order_open,
        name="receiving-po-open",
    ),
    path("receiving/<int:draft_id>/", receiving.receiving_draft, name="receiving-draft"),
    path("receiving/<int:draft_id>/scan/", receiving.receiving_scan_view, name="receiving-scan"),
    path(
        "receiving/<int:draft_id>/lines/<int:product_id>/reset/",
        receiving.receiving_line_reset,
        name="receiving-line-reset",
    ),
    path(
        "receiving/<int:draft_id>/finish/", receiving.receiving_finish_view, name="receiving-finish"
    ),
    path(
        "receiving/<int:draft_id>/discard/",
        receiving.receiving_discard_view,
        name="receiving-discard",
    ),
    path("count/", counts.count, name="count"),
    path("picking/", picking.picking, name="picking"),
    path("picking/<int:pick_list_id>/", pick_page.pick_list, name="pick-list"),
    path("picking/<int:pick_list_id>/scan/", pick_page.pick_scan, name="pick-scan"),
    path(
        "picking/<int:pick_list_id>/tasks/<int:task_id>/short/",
        pick_page.pick_task_short_view,
        name="pick-task-short",
    ),
    path("picking/<int:pick_list_id>/tasks/", pick_page.pick_tasks, name="pick-tasks"),
    path("picking/<int:pick_list_id>/print/", pick_page.pick_list_print, name="pick-list-print"),
    path("packing/", packing.packing, name="packing"),
    path("packing/scan/", packing.station_scan, name="pack-station-scan"),
    path("packing/orders/<int:order_id>/", packing.pack_order, name="pack-order"),
    path("packing/orders/<int:order_id>/scan/", packing.pack_order_scan, name="pack-order-scan"),
    path("packing/orders/<int:order_id>/close/", packing.pack_order_close, name="pack-close"),
    path("packing/orders/<int:order_id>/ship/", packing.pack_order_ship, name="pack-ship"),
    path("packing/packages/<int:package_id>/ship/", packing.package_ship_view, name="package-ship"),
    path("packing/packages/<int:package_id>/slip.pdf", packing.package_slip, name="package-slip"),
    path(
        "packing/packages/<int:package_id>/label.pdf", packing.package_label, name="package-label"
    ),
    path("pickups/", pickups.pickups, name="pickups"),
    path("pickups/handover/", pickups.handover, name="pickup-handover"),
    path(
        "pickups/handover/short-code/",
        pickups.handover_short_code,
        name="pickup-handover-short",
    ),
    path("pickups/<int:order_id>/prepare/", pickups.prepare, name="pickup-prepare"),
    path("pickups/<int:order_id>/ready/", pickups.mark_ready, name="pickup-ready"),
    path("pickups/<int:order_id>/code/", pickups.pickup_code, name="pickup-code"),
    path("coupons/", coupons.coupons, name="coupons"),
    path("coupons/redeem/", coupons.coupon_redeem, name="coupon-redeem"),
    path("coupons/sync/", coupons.coupon_sync, name="coupon-sync"),
    path("routing/", routing.routing, name="routing"),
    path("routing/retry/", routing.routing_retry, name="routing-retry"),
    path(
        "routing/profiles/<int:profile_id>/activate/",
        routing.profile_activate,
        name="routing-profile-activate",
    ),
    path(
        "routing/profiles/<int:profile_id>/deactivate/",
        routing.profile_deactivate,
        name="routing-profile-deactivate",
    ),
    path("orders/<int:order_id>/routing/", routing.order_routing, name="order-routing"),
]
