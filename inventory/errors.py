"""Error codes of the stock model."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from omni.errors import ApplicationError, Conflict, InvalidInput, NotFound


class InventoryErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    COUNT_BELOW_RESERVED = "count_below_reserved"
    RESERVATION_NOT_ACTIVE = "reservation_not_active"
    TRANSFER_INVALID_STATE = "transfer_invalid_state"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_LOCATION = "unknown_location"
    NOT_A_STOCK_LOCATION = "not_a_stock_location"
    INACTIVE_PRODUCT = "inactive_product"
    DUPLICATE_LINE = "duplicate_line"


class InsufficientStock(ApplicationError):
    code: ClassVar[str] = InventoryErrorCode.INSUFFICIENT_STOCK
    http_status = 409


class CountBelowReserved(ApplicationError):
    code: ClassVar[str] = InventoryErrorCode.COUNT_BELOW_RESERVED
    http_status = 409


class ReservationNotActive(Conflict):
    code: ClassVar[str] = InventoryErrorCode.RESERVATION_NOT_ACTIVE


class TransferInvalidState(Conflict):
    code: ClassVar[str] = InventoryErrorCode.TRANSFER_INVALID_STATE


class UnknownProduct(NotFound):
    code: ClassVar[str] = InventoryErrorCode.UNKNOWN_PRODUCT


class UnknownLocation(NotFound):
    code: ClassVar[str] = InventoryErrorCode.UNKNOWN_LOCATION


class NotAStockLocation(InvalidInput):
    code: ClassVar[str] = InventoryErrorCode.NOT_A_STOCK_LOCATION


class InactiveProduct(InvalidInput):
    code: ClassVar[str] = InventoryErrorCode.INACTIVE_PRODUCT


class DuplicateLine(InvalidInput):
    code: ClassVar[str] = InventoryErrorCode.DUPLICATE_LINE
