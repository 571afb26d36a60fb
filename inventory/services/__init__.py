"""Writes to the stock model. Every change of stock is a ledger move plus the matching change
of the stock levels, in one transaction.

Locking rule (DESIGN.md, "Concurrency rule"; docs/locking.md): a single-line reservation is one
conditional UPDATE; anything touching several stock levels locks them first with
``locks.lock_stock_levels`` (ordered by location id, product id), then touches reservations.
A transfer's row comes before its stock levels (``locks.lock_transfer``), and a reservation's
after its level. Every row lock of this app is a helper in ``inventory.locks``; holding their
one order everywhere is what keeps concurrent writers free of deadlocks.
"""

from __future__ import annotations

from .bins import bin_save, bins_lay_out, home_bin_set, home_bins_assign
from .counts import stock_count, stock_discrepancy_record
from .ledger import (
    MAX_LINE_QUANTITY,
    VIRTUAL_LOCATION_CODES,
    StockLine,
    check_quantity,
    virtual_location,
)
from .master_data import location_save, product_create
from .receipts import stock_receive, stock_return
from .receiving import (
    LineReason,
    ScanResult,
    counted_by_product,
    receiving_discard,
    receiving_finish,
    receiving_line_set,
    receiving_mark_booked,
    receiving_open_supplier,
    receiving_open_transfer,
    receiving_scan,
)
from .reservations import (
    ReserveLine,
    reservation_consume,
    reservation_release,
    reservation_shrink,
    reservations_expire,
    stock_reserve,
    stock_reserve_many,
)
from .transfers import (
    ReceivedLine,
    transfer_approve,
    transfer_cancel,
    transfer_create,
    transfer_dispatch,
    transfer_line_reduce,
    transfer_receive,
)

__all__ = [
    "MAX_LINE_QUANTITY",
    "VIRTUAL_LOCATION_CODES",
    "LineReason",
    "ReceivedLine",
    "ReserveLine",
    "ScanResult",
    "StockLine",
    "bin_save",
    "bins_lay_out",
    "check_quantity",
    "counted_by_product",
    "home_bin_set",
    "home_bins_assign",
    "location_save",
    "product_create",
    "receiving_discard",
    "receiving_finish",
    "receiving_line_set",
    "receiving_mark_booked",
    "receiving_open_supplier",
    "receiving_open_transfer",
    "receiving_scan",
    "reservation_consume",
    "reservation_release",
    "reservation_shrink",
    "reservations_expire",
    "stock_count",
    "stock_discrepancy_record",
    "stock_receive",
    "stock_reserve",
    "stock_reserve_many",
    "stock_return",
    "transfer_approve",
    "transfer_cancel",
    "transfer_create",
    "transfer_dispatch",
    "transfer_line_reduce",
    "transfer_receive",
    "virtual_location",
]
