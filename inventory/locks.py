"""Row locks of the stock model: every ``select_for_update`` of inventory is one of these.

The one lock order of the whole system (DESIGN.md, "Lock order"; docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → ProductCost (by product id)
         → Reservation

A receiving draft stands right after its transfer (docs/locking.md, the smaller rows).

Coarse before fine, parent before child. A transaction may skip any step but never goes back
up: holding a stock level, it takes no Transfer; holding a Transfer, no PickList or Order. A
path that finds it needs a coarser lock it did not take takes that lock up front instead (as
``fulfillment.services.pick_line_short`` takes the Transfer before the stock level), or ends
its transaction and starts a new one. Each helper says where its rows stand in the order; a
function that expects its caller to hold a lock says so in its docstring.

The single-line hold (``services.stock_reserve``) and the closing of a reservation are
conditional UPDATEs, not ``select_for_update``; they lock the same rows in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import Product, ProductCost, ReceivingDraft, Reservation, StockLevel, Transfer


def ensure_stock_levels(pairs: Iterable[tuple[int, int]]) -> None:
    """Create missing (location id, product id) stock levels at zero; safe under concurrency."""
    # Sorted, so two transactions inserting overlapping sets queue instead of deadlocking.
    StockLevel.objects.bulk_create(
        [StockLevel(location_id=loc, product_id=prod) for loc, prod in sorted(set(pairs))],
        ignore_conflicts=True,
    )


def lock_stock_levels(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock levels of (location id, product id) pairs, creating missing ones, in the
    one global order (location id, product id). Must run inside a transaction.

    The products' moving-average cost rows (``ProductCost``) are locked right after the levels,
    in product id order: every move that changes a SKU's cost happens under a stock-level lock,
    so whoever holds the levels holds the costs too, and no path takes a cost row before a
    stock level.

    A transaction that locks stock levels in several calls must ask for them in ascending order
    across the calls too (or lock them all in the first call): the second call only waits on
    rows after the first call's; the same holds for the products across calls."""
    keys = sorted(set(pairs))
    if not keys:
        return {}
    ensure_stock_levels(keys)
    locations = {loc for loc, _ in keys}
    products = {prod for _, prod in keys}
    rows = (
        StockLevel.objects.select_for_update()
        .filter(location_id__in=locations, product_id__in=products)
        .order_by("location_id", "product_id")
    )
    wanted = set(keys)
    locked = {
        (row.location_id, row.product_id): row
        for row in rows
        if (row.location_id, row.product_id) in wanted
    }
    lock_product_costs(products)
    return locked


def lock_reservation(reservation_id: int) -> Reservation:
    """Lock one reservation, the finest lock there is. Expects the caller to hold the stock
    level of its (location, product) already: the level comes first."""
    return Reservation.objects.select_for_update().get(pk=reservation_id)


def lock_transfer(transfer_id: int) -> Transfer:
    """Lock one transfer. It comes before any stock level: a caller holding a stock-level lock
    must not call this (take the transfer first)."""
    return Transfer.objects.select_for_update().get(pk=transfer_id)


def lock_transfers(transfer_ids: Iterable[int]) -> list[Transfer]:
    """Lock several transfers in id order (the same order for everyone), before any stock
    level."""
    ids = sorted(set(transfer_ids))
    if not ids:
        return []
    return list(Transfer.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def lock_receiving_draft(draft_id: int) -> ReceivingDraft:
    """Lock one receiving draft: its scans queue behind each other and behind finishing it.
    It comes after its transfer (finishing locks the transfer, then the draft) and before any
    stock level; a caller holding a draft must not take a Transfer."""
    return (
        ReceivingDraft.objects.select_related("transfer")
        .select_for_update(of=("self",))
        .get(pk=draft_id)
    )


def ensure_product_costs(product_ids: Iterable[int]) -> None:
    """Create missing cost rows at the product's standard cost; safe under concurrency."""
    ids = sorted(set(product_ids))
    missing = set(ids) - set(
        ProductCost.objects.filter(product_id__in=ids).values_list("product_id", flat=True)
    )
    if not missing:
        return
    standard = dict(Product.objects.filter(pk__in=missing).values_list("pk", "cost"))
    ProductCost.objects.bulk_create(
        [ProductCost(product_id=pk, average_cost=standard[pk]) for pk in sorted(standard)],
        ignore_conflicts=True,
    )


def lock_product_costs(product_ids: Iterable[int]) -> dict[int, ProductCost]:
    """Lock the moving-average cost rows of products (creating missing ones), in product id
    order. Their place in the lock order is right after the stock levels: ``lock_stock_levels``
    takes them for its products itself, so any path that locked its stock levels already holds
    them and a second call here is a no-op. Must run inside a transaction."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    ensure_product_costs(ids)
    rows = ProductCost.objects.select_for_update().filter(product_id__in=ids).order_by("product_id")
    return {row.product_id: row for row in rows}
