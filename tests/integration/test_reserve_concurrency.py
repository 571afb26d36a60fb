"""Reservations under real contention: many threads, each with its own PostgreSQL connection,
hammer the same stock levels. Nothing may oversell and no deadlock may surface."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.db import DatabaseError

from inventory import services
from inventory.errors import InsufficientStock
from inventory.models import Location, Product, Reservation, ReservationStatus
from tests.factories import ProductFactory
from tests.helpers import stock_level

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 16
ATTEMPTS = 400
ON_HAND = 100


def test_single_line_reservations_never_oversell(dc: Location, product: Product) -> None:
    services.stock_receive(location=dc, lines=[(product, ON_HAND)])

    def work(thread: int) -> list[str]:
        outcomes = []
        for attempt in range(ATTEMPTS // THREADS):
            try:
                services.stock_reserve(
                    product=product,
                    location=dc,
                    quantity=1,
                    owner_type="order_line",
                    owner_id=f"{thread}-{attempt}",
                )
                outcomes.append("reserved")
            except InsufficientStock as exc:
                outcomes.append(str(exc.code))
        return outcomes

    outcomes = Counter(o for per_thread in run_together(work, threads=THREADS) for o in per_thread)

    assert outcomes == {"reserved": ON_HAND, "insufficient_stock": ATTEMPTS - ON_HAND}
    assert stock_level(dc, product).reserved == ON_HAND
    assert stock_level(dc, product).on_hand == ON_HAND
    assert Reservation.objects.filter(status=ReservationStatus.ACTIVE).count() == ON_HAND


def reserve_shuffled(lines: list[services.ReserveLine], rng: random.Random, owner_id: str) -> str:
    """One all-or-nothing reservation with the lines in a random order; returns the outcome.
    A database error (a deadlock, a serialisation failure) is returned, not raised, so the
    test can show every one of them."""
    lines = list(lines)
    rng.shuffle(lines)
    try:
        services.stock_reserve_many(lines=lines, owner_type="order", owner_id=owner_id)
    except InsufficientStock as exc:
        return str(exc.code)
    except DatabaseError as exc:
        return f"database error: {exc!r}"
    return "reserved"


@pytest.fixture
def three_skus(dc: Location) -> list[Product]:
    products = [ProductFactory.create(sku=f"MULTI-{n}") for n in range(3)]
    services.stock_receive(location=dc, lines=[(p, ON_HAND) for p in products])
    return products


def test_multi_line_reservations_in_any_order_never_deadlock_or_oversell(
    dc: Location, three_skus: list[Product]
) -> None:
    lines = [services.ReserveLine(product=p, location=dc, quantity=1) for p in three_skus]

    def work(thread: int) -> list[str]:
        rng = random.Random(thread)
        return [
            reserve_shuffled(lines, rng, f"{thread}-{attempt}")
            for attempt in range(ATTEMPTS // THREADS)
        ]

    outcomes = Counter(o for per_thread in run_together(work, threads=THREADS) for o in per_thread)

    assert outcomes == {"reserved": ON_HAND, "insufficient_stock": ATTEMPTS - ON_HAND}
    for product in three_skus:
        assert stock_level(dc, product).reserved == ON_HAND
    assert Reservation.objects.filter(status=ReservationStatus.ACTIVE).count() == 3 * ON_HAND


def test_reserving_releasing_and_consuming_at_once(dc: Location, three_skus: list[Product]) -> None:
    """Reservers race releasers and consumers of earlier holds on the same three levels."""
    held_per_sku = 20
    holds = [
        services.stock_reserve(
            product=p, location=dc, quantity=1, owner_type="order_line", owner_id=f"old-{n}"
        )
        for p in three_skus
        for n in range(held_per_sku)
    ]
    random.Random(0).shuffle(holds)
    to_release, to_consume = holds[: len(holds) // 2], holds[len(holds) // 2 :]
    releasers = consumers = 3
    reservers = THREADS - releasers - consumers
    lines = [services.ReserveLine(product=p, location=dc, quantity=1) for p in three_skus]

    def work(thread: int) -> list[str]:
        if thread < releasers:
            for hold in to_release[thread::releasers]:
                services.reservation_release(reservation=hold, reason="customer cancelled")
            return []
        if thread < releasers + consumers:
            for hold in to_consume[thread - releasers :: consumers]:
                services.reservation_consume(reservation=hold, reference="sale")
            return []
        rng = random.Random(thread)
        return [
            reserve_shuffled(lines, rng, f"{thread}-{attempt}")
            for attempt in range(ATTEMPTS // reservers)
        ]

    outcomes = Counter(o for per_thread in run_together(work, threads=THREADS) for o in per_thread)

    assert set(outcomes) <= {"reserved", "insufficient_stock"}, outcomes
    released = Counter(h.product_id for h in to_release)
    consumed = Counter(h.product_id for h in to_consume)
    # Each SKU started with 100 - 20 = 80 available; releases can only add to that.
    succeeded = outcomes["reserved"]
    first_available = ON_HAND - held_per_sku
    assert first_available <= succeeded <= first_available + min(released.values())
    for product in three_skus:
        lvl = stock_level(dc, product)
        assert lvl.on_hand == ON_HAND - consumed[product.pk]
        still_held = held_per_sku - released[product.pk] - consumed[product.pk]
        assert lvl.reserved == still_held + succeeded
    assert Reservation.objects.filter(status=ReservationStatus.RELEASED).count() == len(to_release)
    assert Reservation.objects.filter(status=ReservationStatus.CONSUMED).count() == len(to_consume)


def test_receipts_in_any_line_order_never_deadlock(dc: Location, three_skus: list[Product]) -> None:
    """Multi-line receipts with their lines in random order, beside multi-line reservations:
    every receipt lands, and reservations take exactly what was there."""
    receipts_per_thread = 10
    receivers = THREADS // 2

    def work(thread: int) -> list[str]:
        rng = random.Random(thread)
        if thread < receivers:
            outcomes = []
            for _ in range(receipts_per_thread):
                receipt = [(p, 1) for p in three_skus]
                rng.shuffle(receipt)
                try:
                    services.stock_receive(location=dc, lines=receipt)
                    outcomes.append("received")
                except DatabaseError as exc:
                    outcomes.append(f"database error: {exc!r}")
            return outcomes
        lines = [services.ReserveLine(product=p, location=dc, quantity=1) for p in three_skus]
        return [reserve_shuffled(lines, rng, f"{thread}-{n}") for n in range(25)]

    outcomes = Counter(o for per_thread in run_together(work, threads=THREADS) for o in per_thread)

    assert set(outcomes) <= {"received", "reserved", "insufficient_stock"}, outcomes
    assert outcomes["received"] == receivers * receipts_per_thread
    for product in three_skus:
        lvl = stock_level(dc, product)
        assert lvl.on_hand == ON_HAND + receivers * receipts_per_thread
        assert lvl.reserved == outcomes["reserved"]
