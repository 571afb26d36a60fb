from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from inventory import services
from inventory.errors import (
    CountBelowReserved,
    InsufficientStock,
    ReservationNotActive,
    TransferInvalidState,
)
from inventory.invariants import assert_invariants, check_invariants
from inventory.models import (
    MoveReason,
    ReservationStatus,
    StockLevel,
    StockMove,
    TransferStatus,
)
from omni.errors import InvalidInput
from tests.helpers import stock_level

pytestmark = pytest.mark.django_db


def test_receive_writes_ledger_and_level(dc, product, warehouse_user):
    receipt = services.stock_receive(location=dc, lines=[(product, 100)], actor=warehouse_user)
    assert stock_level(dc, product).on_hand == 100
    move = StockMove.objects.get(reference=f"receipt:{receipt.pk}")
    assert (move.from_location.code, move.to_location, move.quantity, move.reason) == (
        "VIRTUAL-SUPPLIER",
        dc,
        100,
        MoveReason.RECEIPT,
    )
    assert_invariants()


def test_reserve_never_exceeds_available(dc, product):
    services.stock_receive(location=dc, lines=[(product, 5)])
    services.stock_reserve(product=product, location=dc, quantity=3, owner_type="t", owner_id="1")
    with pytest.raises(InsufficientStock) as err:
        services.stock_reserve(
            product=product, location=dc, quantity=3, owner_type="t", owner_id="2"
        )
    assert err.value.detail["lines"][0]["available"] == 2
    assert stock_level(dc, product).reserved == 3
    assert_invariants()


def test_reserve_many_is_all_or_nothing(dc, store, product, product2):
    services.stock_receive(location=dc, lines=[(product, 5), (product2, 1)])
    with pytest.raises(InsufficientStock) as err:
        services.stock_reserve_many(
            lines=[
                services.ReserveLine(product=product, location=dc, quantity=5),
                services.ReserveLine(product=product2, location=dc, quantity=2),
            ],
            owner_type="order",
            owner_id="1",
        )
    assert [ln["sku"] for ln in err.value.detail["lines"]] == ["SKU-2"]
    assert stock_level(dc, product).reserved == 0
    assert stock_level(dc, product2).reserved == 0
    assert_invariants()


def test_release_and_consume(dc, product):
    services.stock_receive(location=dc, lines=[(product, 10)])
    a = services.stock_reserve(
        product=product, location=dc, quantity=4, owner_type="t", owner_id="a"
    )
    b = services.stock_reserve(
        product=product, location=dc, quantity=3, owner_type="t", owner_id="b"
    )
    services.reservation_release(reservation=a)
    with pytest.raises(ReservationNotActive):
        services.reservation_release(reservation=a)
    move = services.reservation_consume(reservation=b, reason=MoveReason.SALE)
    assert move.to_location.code == "VIRTUAL-CUSTOMER"
    assert (stock_level(dc, product).on_hand, stock_level(dc, product).reserved) == (7, 0)
    with pytest.raises(ReservationNotActive):
        services.reservation_consume(reservation=b)
    assert_invariants()


def test_partial_consume_splits_the_hold(dc, product):
    services.stock_receive(location=dc, lines=[(product, 10)])
    hold = services.stock_reserve(
        product=product, location=dc, quantity=5, owner_type="t", owner_id="a"
    )
    services.reservation_consume(reservation=hold, quantity=2)
    hold.refresh_from_db()
    assert (hold.status, hold.quantity) == (ReservationStatus.ACTIVE, 3)
    assert (stock_level(dc, product).on_hand, stock_level(dc, product).reserved) == (8, 3)
    assert_invariants()


def test_count_difference_becomes_an_adjustment(store, product):
    services.stock_receive(location=store, lines=[(product, 10)])
    count = services.stock_count(location=store, lines=[(product, 7)])
    line = count.lines.get()
    assert (line.expected, line.counted, line.difference) == (10, 7, -3)
    move = StockMove.objects.get(reference=f"count:{count.pk}")
    assert (move.to_location.code, move.quantity) == ("VIRTUAL-ADJUSTMENT", 3)
    assert stock_level(store, product).on_hand == 7
    assert_invariants()


def test_count_below_reserved_is_refused_unless_holds_released(store, product):
    services.stock_receive(location=store, lines=[(product, 10)])
    old = services.stock_reserve(
        product=product, location=store, quantity=2, owner_type="t", owner_id="old"
    )
    new = services.stock_reserve(
        product=product, location=store, quantity=4, owner_type="t", owner_id="new"
    )
    with pytest.raises(CountBelowReserved):
        services.stock_count(location=store, lines=[(product, 3)])
    assert stock_level(store, product).on_hand == 10
    services.stock_count(location=store, lines=[(product, 3)], release_holds=True)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (ReservationStatus.ACTIVE, ReservationStatus.RELEASED)
    assert (stock_level(store, product).on_hand, stock_level(store, product).reserved) == (3, 2)
    assert_invariants()


def test_transfer_lifecycle_with_shortfall(dc, store, product, product2):
    services.stock_receive(location=dc, lines=[(product, 20), (product2, 5)])
    transfer = services.transfer_create(
        source=dc, destination=store, lines=[(product, 12), (product2, 5)]
    )
    services.transfer_approve(transfer=transfer)
    assert stock_level(dc, product).reserved == 12
    with pytest.raises(TransferInvalidState):
        services.transfer_approve(transfer=transfer)
    services.transfer_dispatch(transfer=transfer)
    assert stock_level(dc, product).on_hand == 8
    with pytest.raises(InvalidInput):
        services.transfer_receive(
            transfer=transfer, lines=[services.ReceivedLine(product=product, received=10)]
        )
    services.transfer_receive(
        transfer=transfer,
        lines=[services.ReceivedLine(product=product, received=10, reason="2 crushed")],
    )
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED
    assert stock_level(store, product).on_hand == 10
    assert stock_level(store, product2).on_hand == 5
    shortfall = StockMove.objects.get(reason=MoveReason.ADJUSTMENT)
    assert (shortfall.from_location.code, shortfall.quantity, shortfall.note) == (
        "VIRTUAL-TRANSIT",
        2,
        "shortfall: 2 crushed",
    )
    assert_invariants()


def test_cancel_approved_transfer_releases_holds(dc, store, product):
    services.stock_receive(location=dc, lines=[(product, 20)])
    transfer = services.transfer_create(source=dc, destination=store, lines=[(product, 12)])
    services.transfer_approve(transfer=transfer)
    services.transfer_cancel(transfer=transfer)
    assert stock_level(dc, product).reserved == 0
    assert_invariants()


def test_expiry_releases_each_hold_once(dc, product):
    services.stock_receive(location=dc, lines=[(product, 10)])
    past = timezone.now() - timedelta(seconds=1)
    for i in range(3):
        services.stock_reserve(
            product=product,
            location=dc,
            quantity=2,
            owner_type="t",
            owner_id=str(i),
            expires_at=past,
        )
    services.stock_reserve(
        product=product,
        location=dc,
        quantity=1,
        owner_type="t",
        owner_id="x",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert services.reservations_expire() == 3
    assert services.reservations_expire() == 0
    assert stock_level(dc, product).reserved == 1
    assert_invariants()


def test_ledger_refuses_update_and_delete(dc, product):
    services.stock_receive(location=dc, lines=[(product, 1)])
    move = StockMove.objects.get()
    for attempt in (
        lambda: StockMove.objects.filter(pk=move.pk).update(quantity=2),
        lambda: StockMove.objects.filter(pk=move.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert StockMove.objects.get().quantity == 1


def test_verify_names_drifted_rows(dc, product):
    services.stock_receive(location=dc, lines=[(product, 5)])
    StockLevel.objects.filter(product=product, location=dc).update(on_hand=6, reserved=1)
    _, violations = check_invariants()
    kinds = {v.invariant for v in violations}
    assert {"ledger_matches_on_hand", "sku_nets_to_zero", "reserved_matches_holds"} <= kinds
    assert any(f"product={product.pk}" in v.row for v in violations)
