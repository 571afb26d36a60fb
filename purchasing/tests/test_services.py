"""Suppliers, supplier items, reorder policies and purchase orders: saved whole or refused with
the field named and nothing written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Location, Product
from omni.models import User
from purchasing import services
from purchasing.errors import (
    PurchaseOrderInvalidState,
    PurchaseOrderLineInvalid,
    PurchasingErrorCode,
    ReorderPolicyInvalid,
    SupplierDoesNotDeliver,
    SupplierInactive,
    SupplierInvalid,
    SupplierItemInvalid,
)
from purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReorderPolicy,
    Supplier,
    SupplierItem,
)
from purchasing.policy.rounding import round_to_pack
from tests.factories import ProductFactory, SupplierFactory, SupplierItemFactory

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("quantity", "moq", "multiple", "expected"),
    [(0, 10, 6, 0), (-3, 1, 1, 0), (7, 10, 6, 12), (13, 1, 6, 18), (12, 12, 6, 12), (1, 1, 1, 1)],
)
def test_round_to_pack(quantity: int, moq: int, multiple: int, expected: int) -> None:
    assert round_to_pack(quantity, moq, multiple) == expected


def test_round_to_pack_refuses_a_zero_moq_or_multiple() -> None:
    with pytest.raises(ValueError, match="moq"):
        round_to_pack(5, 0, 1)
    with pytest.raises(ValueError, match="multiple"):
        round_to_pack(5, 1, 0)


# --------------------------------------------------------------------------- suppliers


def test_supplier_save_creates_and_updates() -> None:
    supplier = services.supplier_save(code="ACME", name="Acme", delivers_to_stores=True)
    assert supplier.delivers_to_dc and supplier.delivers_to_stores
    services.supplier_save(supplier=supplier, code="ACME", name="Acme Ltd", active=False)
    supplier.refresh_from_db()
    assert supplier.name == "Acme Ltd" and not supplier.active


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "has space"}, "code"),
        ({"name": " "}, "name"),
        ({"currency": "yuan"}, "currency"),
        ({"delivers_to_dc": False}, "delivers_to_dc"),
        ({"over_receipt_tolerance": "-1"}, "over_receipt_tolerance"),
        ({"over_receipt_tolerance": "101"}, "over_receipt_tolerance"),
    ],
)
def test_bad_supplier_names_the_field_and_writes_nothing(fields: dict, field: str) -> None:
    with pytest.raises(SupplierInvalid) as refused:
        services.supplier_save(**{"code": "ACME", "name": "Acme", **fields})
    assert refused.value.code == PurchasingErrorCode.SUPPLIER_INVALID
    assert refused.value.detail["field"] == field
    assert field in refused.value.message
    assert not Supplier.objects.exists()


def test_a_supplier_code_is_taken_once(supplier: Supplier) -> None:
    with pytest.raises(SupplierInvalid) as refused:
        services.supplier_save(code="ACME", name="Another")
    assert refused.value.detail["field"] == "code"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"moq": 0}, "moq"),
        ({"order_multiple": 0}, "order_multiple"),
        ({"lead_time_days": -1}, "lead_time_days"),
        ({"cost": "-0.01"}, "cost"),
        ({"cost": "NaN"}, "cost"),
        ({"moq": True}, "moq"),
    ],
)
def test_bad_supplier_item_names_the_field_and_writes_nothing(
    supplier: Supplier, product: Product, fields: dict, field: str
) -> None:
    with pytest.raises(SupplierItemInvalid) as refused:
        services.supplier_item_save(
            **{"supplier": supplier, "product": product, "cost": "5", "lead_time_days": 7, **fields}
        )
    assert refused.value.code == PurchasingErrorCode.SUPPLIER_ITEM_INVALID
    assert refused.value.detail["field"] == field
    assert refused.value.detail["sku"] == product.sku
    assert field in refused.value.message
    assert not SupplierItem.objects.exists()


def test_the_database_refuses_a_zero_moq_too(supplier: Supplier, product: Product) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierItem.objects.create(
            supplier=supplier, product=product, cost=1, moq=0, lead_time_days=1
        )


def test_one_preferred_supplier_per_product(supplier: Supplier, product: Product) -> None:
    other = SupplierFactory.create(code="OTHER")
    first = services.supplier_item_save(
        supplier=supplier, product=product, cost="5", lead_time_days=7, preferred=True
    )
    second = services.supplier_item_save(
        supplier=other, product=product, cost="4.5", lead_time_days=9, preferred=True
    )
    first.refresh_from_db()
    assert second.preferred and not first.preferred
    # the database holds the rule whoever writes
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierItem.objects.filter(pk=first.pk).update(preferred=True)


def test_reorder_policy_kinds(product: Product, dc: Location, planner: User) -> None:
    policy = services.reorder_policy_set(
        product=product,
        location=dc,
        kind="min_max",
        min_quantity=10,
        max_quantity=40,
        actor=planner,
    )
    assert (policy.min_quantity, policy.max_quantity, policy.set_by) == (10, 40, planner)
    policy = services.reorder_policy_set(
        product=product, location=dc, kind="service_level", service_level="0.95"
    )
    assert policy.service_level == Decimal("0.9500") and policy.min_quantity is None
    assert ReorderPolicy.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "lucky"}, "kind"),
        ({"kind": "min_max", "min_quantity": 5}, "max_quantity"),
        ({"kind": "min_max", "min_quantity": 50, "max_quantity": 10}, "max_quantity"),
        ({"kind": "min_max", "min_quantity": -1, "max_quantity": 10}, "min_quantity"),
        ({"kind": "service_level", "service_level": "1"}, "service_level"),
        ({"kind": "service_level", "service_level": None}, "service_level"),
        ({"kind": "service_level", "service_level": "0.9", "review_days": -2}, "review_days"),
    ],
)
def test_bad_reorder_policy_names_the_field(
    product: Product, dc: Location, fields: dict, field: str
) -> None:
    with pytest.raises(ReorderPolicyInvalid) as refused:
        services.reorder_policy_set(product=product, location=dc, **fields)
    assert refused.value.detail["field"] == field
    assert not ReorderPolicy.objects.exists()


# --------------------------------------------------------------------------- purchase orders


def test_create_rounds_to_moq_and_case_pack(
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product: Product,
    product2: Product,
) -> None:
    order = services.purchase_order_create(
        supplier=supplier_items[0].supplier,
        ship_to=dc,
        lines=[
            services.OrderLine(product=product, quantity=7),
            services.OrderLine(product=product2, quantity=3, unit_cost=Decimal("2.1")),
        ],
    )
    assert order.number == f"PO{order.pk:06d}" and order.status == PurchaseOrderStatus.DRAFT
    lines = {ln.product_id: ln for ln in order.lines.all()}
    assert lines[product.pk].quantity_ordered == 12  # MOQ 12, cases of 6
    assert lines[product.pk].unit_cost == Decimal("6.0000")  # the supplier item's cost
    assert lines[product2.pk].quantity_ordered == 3
    assert lines[product2.pk].unit_cost == Decimal("2.1000")


def test_without_rounding_a_broken_case_is_refused(
    supplier_items: tuple[SupplierItem, SupplierItem], dc: Location, product: Product
) -> None:
    with pytest.raises(PurchaseOrderLineInvalid) as refused:
        services.purchase_order_create(
            supplier=supplier_items[0].supplier,
            ship_to=dc,
            lines=[services.OrderLine(product=product, quantity=13)],
            rounding=False,
        )
    assert refused.value.detail == {"line": 1, "sku": "SKU-1", "field": "quantity", "value": 13}


def test_a_po_for_an_inactive_sku_is_refused_naming_the_line(
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product: Product,
    product2: Product,
) -> None:
    Product.objects.filter(pk=product2.pk).update(active=False)
    product2.refresh_from_db()
    with pytest.raises(PurchaseOrderLineInvalid) as refused:
        services.purchase_order_create(
            supplier=supplier_items[0].supplier,
            ship_to=dc,
            lines=[
                services.OrderLine(product=product, quantity=12),
                services.OrderLine(product=product2, quantity=5),
            ],
        )
    assert refused.value.code == PurchasingErrorCode.PURCHASE_ORDER_LINE_INVALID
    assert refused.value.detail == {"line": 2, "sku": "SKU-2", "field": "sku", "value": "SKU-2"}
    assert "SKU-2" in refused.value.message and "not active" in refused.value.message
    assert not PurchaseOrder.objects.exists() and not PurchaseOrderLine.objects.exists()


def test_lines_the_supplier_does_not_sell_or_twice_are_refused(
    supplier_items: tuple[SupplierItem, SupplierItem], dc: Location, product: Product
) -> None:
    stranger = ProductFactory.create(sku="NOT-SOLD")
    supplier = supplier_items[0].supplier
    for lines, number in (
        ([services.OrderLine(product=stranger, quantity=1)], 1),
        (
            [
                services.OrderLine(product=product, quantity=12),
                services.OrderLine(product=product, quantity=12),
            ],
            2,
        ),
        ([services.OrderLine(product=product, quantity=0)], 1),
    ):
        with pytest.raises(PurchaseOrderLineInvalid) as refused:
            services.purchase_order_create(supplier=supplier, ship_to=dc, lines=lines)
        assert refused.value.detail["line"] == number
    assert not PurchaseOrder.objects.exists()


def test_supplier_must_be_active_and_deliver_there(
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    store: Location,
    product: Product,
) -> None:
    supplier = supplier_items[0].supplier
    lines = [services.OrderLine(product=product, quantity=12)]
    with pytest.raises(SupplierDoesNotDeliver) as refused:
        services.purchase_order_create(supplier=supplier, ship_to=store, lines=lines)
    assert refused.value.detail["field"] == "ship_to"
    Supplier.objects.filter(pk=supplier.pk).update(active=False)
    supplier.refresh_from_db()
    with pytest.raises(SupplierInactive):
        services.purchase_order_create(supplier=supplier, ship_to=dc, lines=lines)
    assert not PurchaseOrder.objects.exists()


def test_send_sets_the_promised_arrival_and_edits_stop(
    sent_order: PurchaseOrder, product: Product
) -> None:
    today = timezone.localdate()
    assert sent_order.status == PurchaseOrderStatus.SENT and sent_order.sent_at
    assert sent_order.expected_arrival == today + datetime.timedelta(days=7)  # longest lead
    with pytest.raises(PurchaseOrderInvalidState) as refused:
        services.purchase_order_lines_set(
            purchase_order=sent_order, lines=[services.OrderLine(product=product, quantity=6)]
        )
    assert refused.value.detail["expected"] == ["draft"]
    with pytest.raises(PurchaseOrderInvalidState):
        services.purchase_order_send(purchase_order=sent_order)


def test_send_refuses_an_arrival_in_the_past(
    supplier_items: tuple[SupplierItem, SupplierItem], dc: Location, product: Product
) -> None:
    order = services.purchase_order_create(
        supplier=supplier_items[0].supplier,
        ship_to=dc,
        lines=[services.OrderLine(product=product, quantity=12)],
    )
    with pytest.raises(SupplierInvalid) as refused:
        services.purchase_order_send(
            purchase_order=order, expected_arrival=timezone.localdate() - datetime.timedelta(1)
        )
    assert refused.value.detail["field"] == "expected_arrival"
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.DRAFT and order.sent_at is None


def test_edit_lines_of_a_draft(
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product: Product,
    product2: Product,
) -> None:
    order = services.purchase_order_create(
        supplier=supplier_items[0].supplier,
        ship_to=dc,
        lines=[services.OrderLine(product=product, quantity=12)],
    )
    services.purchase_order_lines_set(
        purchase_order=order, lines=[services.OrderLine(product=product2, quantity=4)]
    )
    assert [(ln.product_id, ln.quantity_ordered) for ln in order.lines.all()] == [(product2.pk, 4)]


def test_cancel_a_sent_order(sent_order: PurchaseOrder) -> None:
    order = services.purchase_order_cancel(purchase_order=sent_order, reason="price changed")
    assert order.status == PurchaseOrderStatus.CANCELLED and order.closed_at
    assert all(ln.open_quantity == 0 for ln in order.lines.all())
    with pytest.raises(PurchaseOrderInvalidState):
        services.purchase_order_cancel(purchase_order=order)


def test_a_supplier_item_factory_default_is_valid(supplier: Supplier) -> None:
    item = SupplierItemFactory.create(supplier=supplier)
    assert item.moq == 1 and item.order_multiple == 1 and item.lead_time_days == 7
