"""Goods in: supplier receipts and customer returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy

from omni.errors import InvalidInput
from omni.models import User

from ..errors import (
    NoLines,
)
from ..locks import (
    lock_stock_levels,
)
from ..models import (
    Location,
    LocationKind,
    MoveReason,
    Product,
    Receipt,
    ReceiptLine,
    StockMove,
)
from .ledger import (
    _check_distinct,
    _check_stock_location,
    _record_move,
    _record_moves_in,
    check_quantity,
    virtual_location,
)
from .valuation import check_unit_cost

# --------------------------------------------------------------------------- receipts


@transaction.atomic
def stock_receive(
    *,
    location: Location,
    lines: Sequence[tuple[Product, int]],
    supplier: str = "",
    supplier_reference: str = "",
    actor: User | None = None,
    unit_costs: Mapping[int, Decimal | str | int] | None = None,
) -> Receipt:
    """Goods in from a supplier: one ``receipt`` move per line, supplier → location.

    ``unit_costs`` (product id → what the supplier charged per unit) values the lines it names
    and moves each SKU's moving-average cost in the same transaction (docs/valuation.md); a
    line without one comes in at the SKU's current average. A bad cost refuses the whole
    receipt before anything is written (``UnitCostInvalid``, naming the field and SKU)."""
    _check_stock_location(location)
    if not lines:
        raise NoLines("receipt")
    _check_distinct(((location.pk, p.pk) for p, _ in lines), "receipt")
    for _, quantity in lines:
        check_quantity(quantity)
    costs = _checked_costs(lines, unit_costs or {})
    # Several stock levels change: lock them in the global order first, or two receipts
    # listing the same SKUs in another order deadlock.
    lock_stock_levels((location.pk, p.pk) for p, _ in lines)
    receipt = Receipt.objects.create(
        location=location, supplier=supplier, supplier_reference=supplier_reference, actor=actor
    )
    supplier_location = virtual_location(LocationKind.SUPPLIER)
    ReceiptLine.objects.bulk_create(
        [
            ReceiptLine(receipt=receipt, product=p, quantity=q, unit_cost=costs.get(p.pk))
            for p, q in lines
        ]
    )
    _record_moves_in(
        lines=lines,
        from_location=supplier_location,
        to_location=location,
        reason=MoveReason.RECEIPT,
        reference=f"receipt:{receipt.pk}",
        note=supplier_reference,
        actor=actor,
        unit_costs=costs,
    )
    return receipt


def _checked_costs(
    lines: Sequence[tuple[Product, int]], unit_costs: Mapping[int, Decimal | str | int]
) -> dict[int, Decimal]:
    by_id = {p.pk: p for p, _ in lines}
    checked: dict[int, Decimal] = {}
    for product_id, cost in unit_costs.items():
        product = by_id.get(product_id)
        if product is None:
            raise InvalidInput(
                gettext_lazy("%(field)s names a product that is not on the receipt"),
                detail={"field": f"unit_costs[{product_id}]"},
                params={"field": f"unit_costs[{product_id}]"},
            )
        checked[product_id] = check_unit_cost(cost, sku=product.sku)
    return checked


@transaction.atomic
def stock_return(
    *,
    product: Product,
    location: Location,
    quantity: int,
    scrap: bool = False,
    reference: str = "",
    note: str = "",
    actor: User | None = None,
    revenue: Decimal | None = None,
) -> list[StockMove]:
    """Goods back from a customer: ``customer`` → location (``return``), and on to ``scrap``
    when they cannot be sold again. ``revenue``: what the customer is refunded for them."""
    _check_stock_location(location)
    check_quantity(quantity)
    lock_stock_levels([(location.pk, product.pk)])
    moves = [
        _record_move(
            product=product,
            from_location=virtual_location(LocationKind.CUSTOMER),
            to_location=location,
            quantity=quantity,
            reason=MoveReason.RETURN,
            reference=reference,
            note=note,
            actor=actor,
            revenue=revenue,
        )
    ]
    if scrap:
        moves.append(
            _record_move(
                product=product,
                from_location=location,
                to_location=virtual_location(LocationKind.SCRAP),
                quantity=quantity,
                reason=MoveReason.SCRAP,
                reference=reference,
                note=note,
                actor=actor,
            )
        )
    return moves
