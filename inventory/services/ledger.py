"""The ledger's own helpers: virtual locations, quantity checks, and the one function that
writes a move and its stock levels together (``_record_move``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import BigIntegerField, Case, F, Value, When

from omni.models import User

from ..errors import (
    DuplicateLine,
    InsufficientStock,
    NotAStockLocation,
    QuantityInvalid,
)
from ..locks import (
    ensure_stock_levels,
)
from ..models import (
    Location,
    LocationKind,
    MoveReason,
    Product,
    Reservation,
    StockLevel,
    StockMove,
)
from ..signals import announce_available
from .valuation import move_cost, move_costs_in

# Largest quantity one line may carry: far above any real line, far below integer overflow.
MAX_LINE_QUANTITY = 1_000_000

VIRTUAL_LOCATION_CODES = {
    LocationKind.SUPPLIER: "VIRTUAL-SUPPLIER",
    LocationKind.CUSTOMER: "VIRTUAL-CUSTOMER",
    LocationKind.ADJUSTMENT: "VIRTUAL-ADJUSTMENT",
    LocationKind.TRANSIT: "VIRTUAL-TRANSIT",
    LocationKind.SCRAP: "VIRTUAL-SCRAP",
}


@dataclass(frozen=True)
class StockLine:
    """A quantity of a product at a location, as services take it."""

    product: Product
    location: Location
    quantity: int


# --------------------------------------------------------------------------- helpers


def virtual_location(kind: LocationKind) -> Location:
    """The single location of a virtual kind (``supplier``, ``customer``, …)."""
    location, _ = Location.objects.get_or_create(
        code=VIRTUAL_LOCATION_CODES[kind],
        defaults={"name": kind.label, "kind": kind},
    )
    return location


def check_quantity(quantity: int, *, field: str = "quantity", allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not low <= quantity <= MAX_LINE_QUANTITY
    ):
        raise QuantityInvalid(field, quantity, low=low, high=MAX_LINE_QUANTITY)


def _check_stock_location(location: Location) -> None:
    if not location.is_physical or not location.active:
        raise NotAStockLocation(location)


def _check_distinct(keys: Iterable[tuple[int, int]], what: str) -> None:
    seen: set[tuple[int, int]] = set()
    for key in keys:
        if key in seen:
            raise DuplicateLine(what, key=key)
        seen.add(key)


def _record_move(
    *,
    product: Product,
    from_location: Location,
    to_location: Location,
    quantity: int,
    reason: MoveReason,
    reference: str = "",
    note: str = "",
    reservation: Reservation | None = None,
    actor: User | None = None,
    unit_cost: Decimal | None = None,
    revenue: Decimal | None = None,
) -> StockMove:
    """Append one ledger row and apply it to the stock levels of its physical ends and to its
    SKU's moving-average cost (``valuation.move_cost``; ``unit_cost`` is a receipt's purchase
    cost, already checked). The row records the unit cost and value it carried, and
    ``revenue``, what the customer paid (or was refunded) for a sale's (or return's) units.

    Leaving a physical location takes only unreserved stock, unless the move consumes
    ``reservation``, in which case on hand and reserved fall together. Each stock-level change
    is a conditional UPDATE, so no caller can drive a level negative whatever it locked.
    """
    if from_location.is_physical:
        levels = StockLevel.objects.filter(product=product, location=from_location)
        if reservation is not None:
            changed = levels.filter(reserved__gte=quantity, on_hand__gte=quantity).update(
                on_hand=F("on_hand") - quantity, reserved=F("reserved") - quantity
            )
        else:
            changed = levels.filter(on_hand__gte=F("reserved") + quantity).update(
                on_hand=F("on_hand") - quantity
            )
        if not changed:
            raise _insufficient(product, from_location, quantity)
    if to_location.is_physical:
        ensure_stock_levels([(to_location.pk, product.pk)])
        StockLevel.objects.filter(product=product, location=to_location).update(
            on_hand=F("on_hand") + quantity
        )
        announce_available([(to_location.pk, product.pk)])
    move_unit_cost, move_value = move_cost(
        product=product,
        from_location=from_location,
        to_location=to_location,
        quantity=quantity,
        unit_cost=unit_cost,
    )
    return StockMove.objects.create(
        product=product,
        from_location=from_location,
        to_location=to_location,
        quantity=quantity,
        reason=reason,
        reference=reference[:64],
        note=note[:255],
        reservation=reservation,
        actor=actor,
        unit_cost=move_unit_cost,
        value=move_value,
        revenue=revenue,
    )


def _record_moves_in(
    *,
    lines: Sequence[tuple[Product, int]],
    from_location: Location,
    to_location: Location,
    reason: MoveReason,
    reference: str = "",
    note: str = "",
    actor: User | None = None,
    unit_costs: Mapping[int, Decimal],
) -> list[StockMove]:
    """``_record_move`` for many SKUs coming from outside the company's stock (``from_location``
    is virtual) into one physical location, one line per SKU: the same ledger rows, stock levels
    and costs, in a fixed number of queries (one UPDATE of the levels, one of the cost rows, one
    INSERT of the moves) instead of several per line; a 520-line receipt is one round trip,
    not thousands. Expects the caller to hold those stock levels (``lock_stock_levels``)."""
    assert not from_location.is_physical and to_location.is_physical
    quantities = {product.pk: quantity for product, quantity in lines}
    # Relative, as in ``_record_move``: units come in on top of whatever the level holds.
    changed = StockLevel.objects.filter(location=to_location, product_id__in=quantities).update(
        on_hand=F("on_hand")
        + Case(
            *(When(product_id=pk, then=Value(q)) for pk, q in quantities.items()),
            output_field=BigIntegerField(),
        )
    )
    # The caller's ``lock_stock_levels`` made every row: a missing one would drop its units.
    if changed != len(quantities):
        raise RuntimeError(f"{len(quantities) - changed} stock level(s) missing; nothing booked")
    announce_available((to_location.pk, pk) for pk in quantities)
    costs = move_costs_in(lines, unit_costs)
    return StockMove.objects.bulk_create(
        StockMove(
            product=product,
            from_location=from_location,
            to_location=to_location,
            quantity=quantity,
            reason=reason,
            reference=reference[:64],
            note=note[:255],
            actor=actor,
            unit_cost=costs[product.pk][0],
            value=costs[product.pk][1],
        )
        for product, quantity in lines
    )


def _insufficient(product: Product, location: Location, requested: int) -> InsufficientStock:
    level = StockLevel.objects.filter(product=product, location=location).first()
    available = level.available if level else 0
    return InsufficientStock(
        product=product, location=location, requested=requested, available=available
    )
