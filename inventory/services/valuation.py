"""Valuation: the moving-average cost of each SKU, company-wide, kept by the ledger's moves
(docs/valuation.md).

The company owns the units on hand at its physical locations plus those in transit. A move
that brings units into that stock from outside (a supplier receipt, a customer return, a count
gain) adds their value: a receipt at the cost it was given, anything else at the current
average. A move that takes units out (a sale, a shipment, a pickup, a count loss, scrap) takes
``quantity × average`` out; the last units out take whatever value remains, so value and
quantity reach zero together. Moves inside the company's stock (transfers, dispatch into
transit) carry the average for the record and change nothing.

After every change the average is ``value / quantity`` rounded half-even to four places, so
``|value − quantity × average| ≤ quantity × 0.00005`` always holds, and the value stored on
the cost row equals the opening value plus the ledger's values in, minus its values out.

The cost row (``ProductCost``) is locked with the stock levels (``locks.lock_stock_levels``);
``_apply`` locks it again, a no-op for every path that locked its levels first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from ..errors import UnitCostInvalid
from ..locks import lock_product_costs
from ..models import Location, LocationKind, Product, ProductCost

COST_PLACES = Decimal("0.0001")
MAX_UNIT_COST = Decimal("99999999")


def check_unit_cost(value: object, *, field: str = "unit_cost", sku: str | None = None) -> Decimal:
    """A unit cost as stored: a finite number from 0 to ``MAX_UNIT_COST``, rounded half-even to
    four places. Strings, ints and Decimals are taken; floats and bools are refused (a float
    cannot carry a price exactly)."""
    if isinstance(value, (bool, float)):
        raise UnitCostInvalid(field, value, sku=sku)
    try:
        cost = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise UnitCostInvalid(field, value, sku=sku) from None
    if not cost.is_finite() or cost < 0 or cost > MAX_UNIT_COST:
        raise UnitCostInvalid(field, value, sku=sku)
    return cost.quantize(COST_PLACES, rounding=ROUND_HALF_EVEN)


def is_owned(location: Location) -> bool:
    """Units here belong to the company's stock: a store, a DC, or in transit between them."""
    return location.is_physical or location.kind == LocationKind.TRANSIT


@dataclass(frozen=True)
class CostState:
    """Quantity owned, its value and the average cost of one SKU."""

    quantity: int
    value: Decimal
    average: Decimal


def _average(value: Decimal, quantity: int, fallback: Decimal) -> Decimal:
    if quantity <= 0:
        return fallback
    return (value / quantity).quantize(COST_PLACES, rounding=ROUND_HALF_EVEN)


def cost_in(state: CostState, quantity: int, unit_cost: Decimal) -> tuple[CostState, Decimal]:
    """``quantity`` units come in at ``unit_cost``: A' = (Q·A + q·c) / (Q + q), computed from
    the stored value (so rounding never accumulates). Returns the new state and the value
    added. Negative stock before (Q < 0, which the CHECKs rule out) is written off: the new
    units alone set the average."""
    added = quantity * unit_cost
    if state.quantity < 0:
        new_quantity = state.quantity + quantity
        value = max(new_quantity, 0) * unit_cost
        return CostState(max(new_quantity, 0), value, unit_cost), added
    new_quantity = state.quantity + quantity
    value = state.value + added
    return CostState(new_quantity, value, _average(value, new_quantity, unit_cost)), added


def cost_out(state: CostState, quantity: int) -> tuple[CostState, Decimal]:
    """``quantity`` units go out at the average. Returns the new state and the cost of goods
    taken: ``quantity × average``, never more than the value left, and all of it with the last
    unit."""
    remaining = state.quantity - quantity
    if remaining <= 0:
        taken = state.value
        return CostState(max(remaining, 0), Decimal("0.0000"), state.average), taken
    taken = min(quantity * state.average, state.value)
    value = state.value - taken
    return CostState(remaining, value, _average(value, remaining, state.average)), taken


def _state(row: ProductCost) -> CostState:
    return CostState(row.quantity, Decimal(row.value), Decimal(row.average_cost))


def _store(row: ProductCost, state: CostState) -> None:
    ProductCost.objects.filter(pk=row.pk).update(
        quantity=state.quantity, value=state.value, average_cost=state.average
    )


def move_cost(
    *,
    product: Product,
    from_location: Location,
    to_location: Location,
    quantity: int,
    unit_cost: Decimal | None = None,
) -> tuple[Decimal | None, Decimal | None]:
    """Apply one move to its SKU's cost row; returns the (unit cost, value) the ledger row
    records. ``unit_cost`` is the purchase cost of a receipt (checked by the caller); every other
    move, and a receipt without one, goes at the current average."""
    owned_from, owned_to = is_owned(from_location), is_owned(to_location)
    if not owned_from and not owned_to:
        return None, None
    row = lock_product_costs([product.pk])[product.pk]
    state = _state(row)
    if owned_from and owned_to:
        # Inside the company's stock: value moves at the average, nothing changes.
        return state.average, quantity * state.average
    if owned_to:
        cost = state.average if unit_cost is None else unit_cost
        new_state, value = cost_in(state, quantity, cost)
        _store(row, new_state)
        return cost, value
    new_state, value = cost_out(state, quantity)
    _store(row, new_state)
    return state.average, value


def move_costs_in(
    lines: Sequence[tuple[Product, int]], unit_costs: Mapping[int, Decimal]
) -> dict[int, tuple[Decimal, Decimal]]:
    """``move_cost`` for many SKUs coming into the company's stock from outside at once (a
    receipt's lines, one per SKU): each cost row moves as one move of its line would move it,
    and all of them are written in one UPDATE instead of one per line. Returns, per product
    id, the (unit cost, value) its ledger row records. The cost rows are locked here, a no-op
    for a caller that locked the stock levels first, as every caller must."""
    rows = lock_product_costs(p.pk for p, _ in lines)
    recorded: dict[int, tuple[Decimal, Decimal]] = {}
    for product, quantity in lines:
        row = rows[product.pk]
        state = _state(row)
        cost = unit_costs.get(product.pk, state.average)
        new_state, value = cost_in(state, quantity, cost)
        row.quantity, row.value, row.average_cost = (
            new_state.quantity,
            new_state.value,
            new_state.average,
        )
        recorded[product.pk] = (cost, value)
    ProductCost.objects.bulk_update(rows.values(), ["quantity", "value", "average_cost"])
    return recorded
