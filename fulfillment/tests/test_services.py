"""Waves, picking, short picks, packing, partial shipments, store pickup with signed codes,
no-shows and returns, each story ending with the ledger invariants."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core import mail
from django.utils import timezone

from fulfillment import pickup_codes, services
from fulfillment.errors import (
    NothingToPick,
    NotReturnable,
    OverPick,
    PickLineClosed,
    PickupCodeExpired,
    PickupCodeForged,
    PickupCodeMalformed,
    PickupCodeTampered,
    PickupCodeUsed,
    PickupCodeWrongStore,
    PickupNotReady,
    WrongItem,
)
from fulfillment.models import (
    Notification,
    PickLine,
    PickLineStatus,
    PickListStatus,
    PickupAttempt,
    ReturnDisposition,
)
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockDiscrepancy, StockMove
from inventory.services import transfer_approve, transfer_create
from inventory.valuation_selectors import Period, turnover_metrics
from network.models import Channel
from orders.models import Order, OrderLine, OrderStatus
from orders.services import LineIn, order_place
from tests.factories import NEAR_DC, OrderFactory, ReceiptFactory
from tests.helpers import level

from .fixtures import pick_all


def test_wave_pick_pack_ship(
    web: Channel, dc: Location, store: Location, goods: tuple[Product, Product], warehouse_user: Any
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 3, b: 2}, delivery=NEAR_DC, paid=True
    )
    transfer = transfer_create(source=dc, destination=store, lines=[(a, 2)])
    transfer_approve(transfer=transfer)
    wave = services.pick_wave_create(location=dc, actor=warehouse_user)
    assert sorted((ln.product.sku, ln.quantity) for ln in wave.lines.all()) == [
        ("A", 2),
        ("A", 3),
        ("B", 2),
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    with pytest.raises(NothingToPick):
        services.pick_wave_create(location=dc)  # everything is on a list already

    line_a = wave.lines.get(allocation__isnull=False, product=a)
    with pytest.raises(WrongItem):
        services.pick_line_confirm(pick_line=line_a, scanned="6900000000024")  # B's barcode
    line_a.refresh_from_db()
    assert line_a.picked == 0 and line_a.status == PickLineStatus.OPEN
    services.pick_line_confirm(pick_line=line_a, scanned="6900000000017")
    with pytest.raises(OverPick):
        services.pick_line_confirm(pick_line=line_a, scanned="A", quantity=3)
    services.pick_line_confirm(pick_line=line_a, scanned="a", quantity=2)  # SKU, any case
    with pytest.raises(PickLineClosed):
        services.pick_line_confirm(pick_line=line_a, scanned="A")
    pick_all(wave)
    wave.refresh_from_db()
    assert wave.status == PickListStatus.DONE

    package = services.package_create(order=order, location=dc, carrier="SF Express")
    services.package_ship(package=package, tracking_number="SF123")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert level(dc, a) == (10 - 3, 2)  # the transfer still holds its 2
    shipped = StockMove.objects.filter(reference=order.reference, reason="ship")
    assert sorted((m.product.sku, m.quantity, m.to_location.code) for m in shipped) == [
        ("A", 3, "VIRTUAL-CUSTOMER"),
        ("B", 2, "VIRTUAL-CUSTOMER"),
    ]
    assert Notification.objects.filter(order=order, kind="shipped").exists()
    assert_invariants()


def test_partial_shipment_then_the_rest(
    web: Channel, dc: Location, goods: tuple[Product, Product]
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 4, b: 1}, delivery=NEAR_DC, paid=True
    )
    wave = services.pick_wave_create(location=dc)
    pick_all(wave)
    first = services.package_create(
        order=order, location=dc, lines=[services.PackLine(a, 3)], carrier="ZTO"
    )
    services.package_ship(package=first)
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert level(dc, a) == (7, 1) and level(dc, b) == (10, 1)
    assert_invariants()
    # What already reached the customer can come back, the rest cannot.
    services.return_receive(order=order, location=dc, lines=[services.ReturnedLine(a, 3)])
    with pytest.raises(NotReturnable):
        services.return_receive(order=order, location=dc, lines=[services.ReturnedLine(a, 1)])
    assert level(dc, a) == (10, 1)
    rest = services.package_create(order=order, location=dc)
    assert sorted((ln.allocation.line.product.sku, ln.quantity) for ln in rest.lines.all()) == [
        ("A", 1),
        ("B", 1),
    ]
    services.package_ship(package=rest)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert level(dc, a) == (9, 0) and level(dc, b) == (9, 0)
    assert_invariants()


def test_shipments_and_returns_carry_what_was_paid_net_of_discounts(
    web: Channel, dc: Location, goods: tuple[Product, Product]
) -> None:
    """A line of 4 × 10.00 with 4.00 off is paid 9.00 a unit: its shipments book 27 and 9
    (together the line's 36), a return of 3 refunds 27, and turnover counts 18, not the list
    price."""
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 10}, unit_costs={a.pk: "5"})
    order = OrderFactory.create(
        channel=web,
        external_id="w1",
        lines={a: 4},
        unit_price=Decimal("10"),
        delivery=NEAR_DC,
        paid=True,
    )
    OrderLine.objects.filter(order=order).update(discount=Decimal("4"))
    pick_all(services.pick_wave_create(location=dc))
    first = services.package_create(order=order, location=dc, lines=[services.PackLine(a, 3)])
    services.package_ship(package=first)
    services.return_receive(order=order, location=dc, lines=[services.ReturnedLine(a, 3)])
    services.package_ship(package=services.package_create(order=order, location=dc))
    booked = list(StockMove.objects.filter(product=a).exclude(reason="receipt").order_by("id"))
    assert [(m.reason, m.quantity, m.revenue) for m in booked] == [
        ("ship", 3, Decimal("27.0000")),
        ("return", 3, Decimal("27.0000")),
        ("ship", 1, Decimal("9.0000")),
    ]
    (row,) = turnover_metrics("sku", Period.last(1))
    assert (row.units_sold, row.revenue, row.cogs) == (1, Decimal("9.00"), Decimal("5.00"))
    assert_invariants()


def test_short_pick_resources_the_rest_elsewhere(
    web: Channel,
    dc: Location,
    store: Location,
    goods: tuple[Product, Product],
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 5})
    ReceiptFactory.create(location=store, lines={"A": 9})
    # near the DC: the DC serves it
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 5}, delivery=NEAR_DC, paid=True
    )
    assert order.lines.get().allocations.get().location == dc
    wave = services.pick_wave_create(location=dc)
    line = wave.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.pick_line_short(pick_line=line, found=2)
    order.refresh_from_db()
    held = {
        (a_.location.code, a_.quantity)
        for a_ in order.lines.get().allocations.filter(reservation__status="active")
    }
    assert held == {("DC1", 2), ("S01", 3)}
    assert order.sourcing["decisions"][-1]["what"] == "re-sourced: short pick at DC1"
    flag = StockDiscrepancy.objects.get(location=dc)
    assert (flag.system_quantity, flag.observed_quantity) == (5, 2)
    assert level(dc, a) == (2, 2)
    assert order.status == OrderStatus.PROCESSING
    assert_invariants()


def test_the_rest_of_a_partly_shipped_order_is_picked_where_it_was_re_sourced(
    web: Channel,
    dc: Location,
    store: Location,
    goods: tuple[Product, Product],
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 5})
    ReceiptFactory.create(location=store, lines={"A": 9})
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 5}, delivery=NEAR_DC, paid=True
    )
    line = services.pick_wave_create(location=dc).lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.pick_line_short(pick_line=line, found=2)  # the other 3 are re-sourced to S01
    services.package_ship(package=services.package_create(order=order, location=dc))
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    wave = services.pick_wave_create(location=store)
    assert [(ln.product.sku, ln.quantity) for ln in wave.lines.all()] == [("A", 3)]
    pick_all(wave)
    services.package_ship(package=services.package_create(order=order, location=store))
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert level(store, a) == (6, 0)
    assert_invariants()


def test_short_pick_with_nowhere_else_backorders(
    web: Channel,
    dc: Location,
    goods: tuple[Product, Product],
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 4})
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 4}, delivery=NEAR_DC, paid=True
    )
    line = services.pick_wave_create(location=dc).lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.pick_line_short(pick_line=line, found=0)
    order.refresh_from_db()
    assert order.status == OrderStatus.BACKORDERED
    assert "short pick at DC1" in order.flagged
    assert level(dc, a) == (0, 0)
    assert_invariants()


def test_short_pick_on_a_transfer_ships_less(
    dc: Location, store: Location, goods: tuple[Product, Product]
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 6, "B": 6})
    transfer = transfer_approve(
        transfer=transfer_create(source=dc, destination=store, lines=[(a, 4), (b, 2)])
    )
    wave = services.pick_wave_create(location=dc)
    services.pick_line_short(pick_line=wave.lines.get(product=a), found=3)
    services.pick_line_short(pick_line=wave.lines.get(product=b), found=0)
    assert [(ln.product.sku, ln.quantity) for ln in transfer.lines.all()] == [("A", 3)]
    assert level(dc, a) == (5, 3) and level(dc, b) == (4, 0)
    assert_invariants()


def ready_pickup(web: Channel, store: Location, goods: tuple[Product, Product]) -> Order:
    a, _ = goods
    ReceiptFactory.create(location=store, lines={"A": 5})
    order, _ = order_place(
        channel=web,
        external_id="p1",
        mode="pickup",
        store=store,
        customer_phone="13800000000",
        lines=[LineIn(product=a, quantity=2)],
    )
    with pytest.raises(PickupNotReady):
        services.pickup_mark_ready(order=order)
    pick_all(services.pickup_prepare(order=order))
    return order


def test_pickup_ready_and_handed_over_once(
    web: Channel,
    store: Location,
    goods: tuple[Product, Product],
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = ready_pickup(web, store, goods)
    with django_capture_on_commit_callbacks(execute=True):
        code = services.pickup_mark_ready(order=order)
    assert len(mail.outbox) == 1 and "ready" in mail.outbox[0].subject
    token = services.pickup_token(code)
    assert services.pickup_token(code) == token  # deterministic: the QR can be drawn again
    # A store device checks it offline with the public key alone.
    payload = pickup_codes.verify(token, services.public_key())
    assert (payload.order, payload.store) == (order.pk, "S01")
    done = services.pickup_redeem(token=token, store=store)
    assert (done.status, done.payment_status) == (OrderStatus.COMPLETED, "paid")
    assert level(store, goods[0]) == (3, 0)
    handed = StockMove.objects.get(reference=order.reference, reason="pickup")
    line = order.lines.get()
    assert handed.quantity == 2 and handed.revenue == 2 * line.unit_price - line.discount
    with pytest.raises(PickupCodeUsed):
        services.pickup_redeem(token=token, store=store)
    assert list(PickupAttempt.objects.values_list("result", flat=True).order_by("id")) == [
        "redeemed",
        "pickup_code_used",
    ]
    assert_invariants()


def test_refused_codes_have_distinct_errors_and_are_logged(
    web: Channel, store: Location, store2: Location, goods: tuple[Product, Product]
) -> None:
    order = ready_pickup(web, store, goods)
    code = services.pickup_mark_ready(order=order)
    token = services.pickup_token(code)
    prefix, _body, signature = token.split(".")
    other_key = Ed25519PrivateKey.generate()
    payload = services._payload(code)
    forged = pickup_codes.sign(
        pickup_codes.Payload(payload.order, payload.store, payload.expires, "never-issued"),
        other_key,
    )
    tampered_payload = pickup_codes.Payload(
        payload.order, payload.store, payload.expires + 86400 * 30, payload.nonce
    )
    tampered = f"{prefix}.{pickup_codes._b64(tampered_payload.encode())}.{signature}"
    cases = [
        ("OMNI1.garbage", store, PickupCodeMalformed),
        ("hello", store, PickupCodeMalformed),
        (forged, store, PickupCodeForged),
        (tampered, store, PickupCodeTampered),
        (token, store2, PickupCodeWrongStore),
    ]
    for shown, where, error in cases:
        with pytest.raises(error):
            services.pickup_redeem(token=shown, store=where)
    results = list(PickupAttempt.objects.values_list("result", flat=True).order_by("id"))
    assert results == [
        "pickup_code_malformed",
        "pickup_code_malformed",
        "pickup_code_forged",
        "pickup_code_tampered",
        "pickup_code_wrong_store",
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_PICKUP  # nothing was handed over
    assert level(store, goods[0]) == (5, 2)


def test_expired_code_and_no_show_back_to_stock(
    web: Channel, store: Location, goods: tuple[Product, Product]
) -> None:
    order = ready_pickup(web, store, goods)
    code = services.pickup_mark_ready(order=order)
    code.expires_at = timezone.now() - timedelta(minutes=1)
    code.save(update_fields=["expires_at"])
    code.payload_hash = services._payload(code).digest()
    code.save(update_fields=["payload_hash"])
    with pytest.raises(PickupCodeExpired):
        services.pickup_redeem(token=services.pickup_token(code), store=store)
    assert services.pickups_expire_no_shows() == 1
    assert services.pickups_expire_no_shows() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert level(store, goods[0]) == (5, 0)
    assert Notification.objects.filter(order=order, kind="pickup_expired").exists()
    assert_invariants()


def test_returns_restock_or_scrap_no_more_than_delivered(
    web: Channel, dc: Location, store: Location, goods: tuple[Product, Product]
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 3, b: 1}, delivery=NEAR_DC, paid=True
    )
    pick_all(services.pick_wave_create(location=dc))
    services.package_ship(package=services.package_create(order=order, location=dc))
    services.return_receive(
        order=order,
        location=store,
        lines=[
            services.ReturnedLine(a, 2, ReturnDisposition.RESTOCK),
            services.ReturnedLine(b, 1, ReturnDisposition.SCRAP),
        ],
        reason="wrong size",
    )
    assert level(store, a) == (2, 0)
    assert level(store, b) == (0, 0)
    assert StockMove.objects.filter(reason="scrap", product=b).get().quantity == 1
    with pytest.raises(NotReturnable):
        services.return_receive(order=order, location=store, lines=[services.ReturnedLine(a, 2)])
    services.return_receive(order=order, location=dc, lines=[services.ReturnedLine(a, 1)])
    assert_invariants()


def test_nothing_is_picked_for_unpaid_deliveries(
    web: Channel, dc: Location, goods: tuple[Product, Product]
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 5})
    order_place(
        channel=web,
        external_id="unpaid",
        mode="delivery",
        delivery=NEAR_DC,
        lines=[LineIn(product=goods[0], quantity=1)],
    )
    with pytest.raises(NothingToPick):
        services.pick_wave_create(location=dc)
    assert not PickLine.objects.exists()
