"""Writes of purchasing: suppliers and their items, reorder policies (set by hand, or suggested
per ABC/XYZ class), purchase orders, and receiving against them. Lock order: the PurchaseOrder
before its receiving draft and any stock level (``purchasing.locks``; docs/locking.md)."""

from __future__ import annotations

from .currency import (
    exchange_rate_on,
    exchange_rate_set,
    exchange_rates_known,
    exchange_rates_on,
)
from .orders import (
    OrderLine,
    default_arrival,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_close,
    purchase_order_lines_set,
    purchase_order_send,
)
from .policies import ClassifyResult, reorder_policies_classify, reorder_policy_revert
from .receiving import (
    ReceiveLine,
    ReceiveResult,
    allowed_total,
    purchase_order_of,
    purchase_order_receive,
    purchase_order_receiving_finish,
    purchase_order_receiving_open,
    purchase_order_receiving_scan,
)
from .suppliers import reorder_policy_set, supplier_item_save, supplier_save

__all__ = [
    "ClassifyResult",
    "OrderLine",
    "ReceiveLine",
    "ReceiveResult",
    "allowed_total",
    "default_arrival",
    "exchange_rate_on",
    "exchange_rate_set",
    "exchange_rates_known",
    "exchange_rates_on",
    "purchase_order_cancel",
    "purchase_order_create",
    "purchase_order_line_close",
    "purchase_order_lines_set",
    "purchase_order_of",
    "purchase_order_receive",
    "purchase_order_receiving_finish",
    "purchase_order_receiving_open",
    "purchase_order_receiving_scan",
    "purchase_order_send",
    "reorder_policies_classify",
    "reorder_policy_revert",
    "reorder_policy_set",
    "supplier_item_save",
    "supplier_save",
]
