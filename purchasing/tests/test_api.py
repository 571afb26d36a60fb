"""The purchasing API: roles and scope, the error shape of bad input, and receiving once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from inventory.models import Location, Product, StockMove
from omni.models import User
from purchasing.models import PurchaseOrder, Supplier, SupplierItem
from tests.factories import SupplierFactory
from tests.helpers import ApiClient, level

pytestmark = pytest.mark.django_db

Api = Callable[[User | None], ApiClient]


def put(client: ApiClient, path: str, body: Any) -> Any:
    return client.client.put(
        path, data=body, content_type="application/json", headers=client.headers
    )


def test_supplier_and_items_over_the_api(api: Api, planner: User, product: Product) -> None:
    client = api(planner)
    made = client.post("/api/v1/purchasing/suppliers", {"code": "ACME", "name": "Acme"})
    assert made.status_code == 201, made.json()
    assert made.json()["delivers_to_dc"] is True
    item = put(
        client,
        "/api/v1/purchasing/suppliers/ACME/items/SKU-1",
        {"cost": 6.5, "lead_time_days": 7, "moq": 12, "order_multiple": 6, "preferred": True},
    )
    assert item.status_code == 200, item.json()
    assert item.json()["sku"] == "SKU-1" and item.json()["moq"] == 12
    listed = client.get("/api/v1/purchasing/suppliers/ACME/items").json()
    assert [row["sku"] for row in listed["results"]] == ["SKU-1"]
    assert client.get("/api/v1/purchasing/suppliers/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cost": 1, "lead_time_days": 3, "moq": 0}, "moq"),
        ({"cost": 1, "lead_time_days": -1}, "lead_time_days"),
        ({"cost": 1, "lead_time_days": 3, "order_multiple": 0}, "order_multiple"),
    ],
)
def test_bad_supplier_item_is_a_422_naming_the_field(
    api: Api, planner: User, supplier: Supplier, product: Product, body: dict, field: str
) -> None:
    answer = put(api(planner), "/api/v1/purchasing/suppliers/ACME/items/SKU-1", body)
    assert answer.status_code == 422
    error = answer.json()
    assert error["code"] == "supplier_item_invalid"
    assert error["detail"]["field"] == field and field in error["message"]
    assert not SupplierItem.objects.exists()


def test_unknown_fields_are_refused(api: Api, planner: User) -> None:
    answer = api(planner).post(
        "/api/v1/purchasing/suppliers", {"code": "X", "name": "X", "moqq": 1}
    )
    assert answer.status_code == 422 and answer.json()["code"] == "validation_error"
    assert not Supplier.objects.exists()


def test_store_and_warehouse_staff_do_not_manage_suppliers(api: Api, warehouse_user: User) -> None:
    answer = api(warehouse_user).get("/api/v1/purchasing/suppliers")
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"


def test_po_for_an_inactive_sku_is_refused_naming_the_line(
    api: Api,
    planner: User,
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product2: Product,
) -> None:
    Product.objects.filter(pk=product2.pk).update(active=False)
    answer = api(planner).post(
        "/api/v1/purchasing/orders",
        {
            "supplier": "ACME",
            "ship_to": dc.code,
            "lines": [{"sku": "SKU-1", "quantity": 12}, {"sku": "SKU-2", "quantity": 1}],
        },
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "purchase_order_line_invalid"
    assert answer.json()["detail"] == {"line": 2, "sku": "SKU-2", "field": "sku", "value": "SKU-2"}
    assert not PurchaseOrder.objects.exists()


def test_order_send_receive_over_the_api(
    api: Api,
    planner: User,
    warehouse_user: User,
    store_user: User,
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product: Product,
) -> None:
    client = api(planner)
    made = client.post(
        "/api/v1/purchasing/orders",
        {"supplier": "ACME", "ship_to": dc.code, "lines": [{"sku": "SKU-1", "quantity": 10}]},
        key="po-1",
    )
    assert made.status_code == 201, made.json()
    number = made.json()["number"]
    assert made.json()["lines"][0]["quantity_ordered"] == 12  # MOQ
    sent = client.post(f"/api/v1/purchasing/orders/{number}/send", {})
    assert sent.status_code == 200 and sent.json()["status"] == "sent"

    # a planner does not move stock; a clerk of another location does not see the PO
    body = {"key": "delivery-1", "lines": [{"sku": "SKU-1", "quantity": 12}]}
    assert client.post(f"/api/v1/purchasing/orders/{number}/receipts", body).status_code == 403
    hidden = api(store_user).post(f"/api/v1/purchasing/orders/{number}/receipts", body)
    assert hidden.status_code == 404
    assert api(store_user).get(f"/api/v1/purchasing/orders/{number}").status_code == 404

    clerk = api(warehouse_user)
    assert clerk.get(f"/api/v1/purchasing/orders/{number}").status_code == 200
    first = clerk.post(f"/api/v1/purchasing/orders/{number}/receipts", body)
    assert first.status_code == 201, first.json()
    assert first.json()["purchase_order"]["status"] == "received"
    assert first.json()["receipt"]["units"] == 12 and first.json()["repeated"] is False
    again = clerk.post(f"/api/v1/purchasing/orders/{number}/receipts", body)
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert level(dc, product) == (12, 0) and StockMove.objects.count() == 1

    more = clerk.post(
        f"/api/v1/purchasing/orders/{number}/receipts",
        {"key": "delivery-2", "lines": [{"sku": "SKU-1", "quantity": 1}]},
    )
    assert more.status_code == 409
    assert more.json()["code"] == "purchase_order_invalid_state"

    listed = clerk.get("/api/v1/purchasing/orders").json()["results"]
    assert [(o["number"], o["supplier"], o["ship_to"]) for o in listed] == [
        (number, "ACME", dc.code)
    ]
    assert api(store_user).get("/api/v1/purchasing/orders").json()["results"] == []
    performance = client.get("/api/v1/purchasing/suppliers/ACME/performance").json()
    assert performance["deliveries"] == 1 and performance["fill_rate"] == 1.0


def test_over_receipt_is_a_409_with_the_figures(
    api: Api, warehouse_user: User, sent_order: PurchaseOrder, dc: Location, product: Product
) -> None:
    answer = api(warehouse_user).post(
        f"/api/v1/purchasing/orders/{sent_order.number}/receipts",
        {"key": "k", "lines": [{"sku": "SKU-1", "quantity": 30}]},
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "over_receipt"
    assert answer.json()["detail"]["allowed"] == 24
    assert level(dc, product) == (0, 0)


def test_cancel_and_close_line_over_the_api(
    api: Api, planner: User, sent_order: PurchaseOrder
) -> None:
    client = api(planner)
    closed = client.post(
        f"/api/v1/purchasing/orders/{sent_order.number}/lines/SKU-2/close", {"reason": "gone"}
    )
    assert closed.status_code == 200
    line = next(ln for ln in closed.json()["lines"] if ln["sku"] == "SKU-2")
    assert line["open_quantity"] == 0 and line["quantity_cancelled"] == 10
    cancelled = client.post(f"/api/v1/purchasing/orders/{sent_order.number}/cancel", {})
    assert cancelled.json()["status"] == "cancelled"
    twice = client.post(f"/api/v1/purchasing/orders/{sent_order.number}/cancel", {})
    assert twice.status_code == 409
    assert set(twice.json()) == {"code", "message", "detail"}


def test_an_inactive_supplier_cannot_be_ordered_from(
    api: Api, planner: User, dc: Location, product: Product
) -> None:
    SupplierFactory.create(code="OLD", active=False)
    answer = api(planner).post(
        "/api/v1/purchasing/orders",
        {"supplier": "OLD", "ship_to": dc.code, "lines": [{"sku": "SKU-1", "quantity": 1}]},
    )
    assert answer.status_code == 409 and answer.json()["code"] == "supplier_inactive"
