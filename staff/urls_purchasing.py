"""The planners' purchasing pages; the project mounts them at ``/staff/purchasing/``."""

from __future__ import annotations

from django.urls import path

from .views import policies, proposals, purchase_orders

app_name = "purchasing"

urlpatterns = [
    path("proposals/", proposals.run_list, name="proposals"),
    path("proposals/<int:run_id>/", proposals.run_detail, name="proposal"),
    path(
        "proposals/<int:run_id>/lines/<int:line_id>/",
        proposals.line_edit,
        name="proposal-line",
    ),
    path("proposals/<int:run_id>/approve/", proposals.run_approve, name="proposal-approve"),
    path("proposals/<int:run_id>/reject/", proposals.run_reject, name="proposal-reject"),
    path("policies/", policies.policy_list, name="policies"),
    path("policies/classify/", policies.policies_classify, name="policies-classify"),
    path("policies/<str:location>/<str:sku>/", policies.policy_edit, name="policy"),
    path(
        "policies/<str:location>/<str:sku>/revert/",
        policies.policy_revert,
        name="policy-revert",
    ),
    path("orders/", purchase_orders.order_list, name="orders"),
    path("orders/<int:order_id>/", purchase_orders.order_detail, name="order"),
    path("orders/<int:order_id>/send/", purchase_orders.order_send, name="order-send"),
    path("orders/<int:order_id>/cancel/", purchase_orders.order_cancel, name="order-cancel"),
    path("suppliers/", purchase_orders.supplier_list, name="suppliers"),
    path("suppliers/<str:code>/", purchase_orders.supplier_detail, name="supplier"),
]
