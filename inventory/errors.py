"""Error codes of the stock model, and the errors built from the objects they are about."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import ApplicationError, Conflict, InvalidInput, NotFound, OneOf

if TYPE_CHECKING:
    from .models import Bin, Location, Product, ReceivingDraft, Reservation, Transfer


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
    RECEIVING_CLOSED = "receiving_closed"
    RECEIVING_REASON_MISSING = "receiving_reason_missing"
    RECEIVING_BOOKED_ELSEWHERE = "receiving_booked_elsewhere"
    BIN_OTHER_LOCATION = "bin_other_location"
    BIN_TAKEN = "bin_taken"


@dataclass(frozen=True)
class Shortage:
    """One line that cannot be held: the SKU, where (None when the router looked at every node
    it may use), how many units were asked for and how many were there."""

    sku: str
    requested: int
    available: int
    location: str | None = None

    @classmethod
    def at(
        cls, location: Location, product: Product, *, requested: int, available: int
    ) -> Shortage:
        return cls(
            sku=product.sku, location=location.code, requested=requested, available=available
        )

    def as_detail(self) -> dict[str, Any]:
        row: dict[str, Any] = {"sku": self.sku}
        if self.location is not None:
            row["location"] = self.location
        row["requested"] = self.requested
        row["available"] = self.available
        return row


class InsufficientStock(ApplicationError):
    """Not enough available stock. ``detail["lines"]`` has one ``Shortage`` per short line
    (``sku``, ``location``, ``requested``, ``available``); the message names the first.

    ``InsufficientStock(product=p, location=loc, requested=q, available=a)`` for one line,
    ``InsufficientStock(shortages)`` for several (Saleor's ``InsufficientStock(items)``)."""

    code: ClassVar[str] = InventoryErrorCode.INSUFFICIENT_STOCK
    http_status = 409

    def __init__(
        self,
        shortages: Sequence[Shortage] | None = None,
        *,
        product: Product | None = None,
        location: Location | None = None,
        requested: int = 0,
        available: int = 0,
        at: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if shortages is None:
            assert product is not None and location is not None
            shortages = [Shortage.at(location, product, requested=requested, available=available)]
        self.shortages = list(shortages)
        first = self.shortages[0]
        where = at if at is not None else first.location
        params = {"sku": first.sku, "requested": first.requested, "available": first.available}
        if where:
            message = _(
                "only %(available)s of %(sku)s available at %(location)s, %(requested)s requested"
            )
            params["location"] = where
        else:
            message = _("only %(available)s of %(sku)s available, %(requested)s requested")
        super().__init__(
            message,
            detail={"lines": [s.as_detail() for s in self.shortages], **(detail or {})},
            params=params,
        )


class CountBelowReserved(ApplicationError):
    """A count below what is held; ``detail["lines"]`` has ``sku``, ``counted`` and
    ``reserved`` of each such line."""

    code: ClassVar[str] = InventoryErrorCode.COUNT_BELOW_RESERVED
    http_status = 409

    def __init__(self, lines: Iterable[tuple[Product, int, int]]) -> None:
        super().__init__(
            _(
                "counted below what is reserved; release the holds first or count with"
                " release_holds"
            ),
            detail={
                "lines": [
                    {"sku": product.sku, "counted": counted, "reserved": reserved}
                    for product, counted, reserved in lines
                ]
            },
        )


class ReservationNotActive(Conflict):
    code: ClassVar[str] = InventoryErrorCode.RESERVATION_NOT_ACTIVE

    def __init__(self, reservation: Reservation) -> None:
        data = {"reservation": reservation.pk, "status": reservation.status}
        super().__init__(
            _("reservation %(reservation)s is %(status)s, not active"), detail=data, params=data
        )


class TransferInvalidState(Conflict):
    """The transfer is not in a status the step needs; ``detail`` has ``transfer`` and
    ``status``. ``action`` words the message for the steps that have their own; otherwise it
    names the ``expected`` statuses."""

    code: ClassVar[str] = InventoryErrorCode.TRANSFER_INVALID_STATE

    ACTIONS: ClassVar[dict[str, Any]] = {
        "change": _("transfer %(transfer)s is %(status)s; only an approved one can change"),
        "approve": _("transfer %(transfer)s is %(status)s; only a draft can be approved"),
        "receive": _("transfer %(transfer)s is %(status)s; only a dispatched one can be received"),
    }

    def __init__(
        self, transfer: Transfer, *, expected: Iterable[str] = (), action: str | None = None
    ) -> None:
        data = {"transfer": transfer.pk, "status": transfer.status}
        if action is not None:
            message = self.ACTIONS[action]
            params: dict[str, Any] = data
        else:
            message = _("transfer %(transfer)s is %(status)s; this needs it %(expected)s")
            params = {**data, "expected": OneOf(expected)}
        super().__init__(message, detail=data, params=params)


class UnknownProduct(NotFound):
    """No such product. Three lookups, three shapes (kept: callers read them): one SKU
    (``detail["sku"]``), a batch of SKUs (``detail["skus"]``, every unknown one), a scanned
    SKU-or-barcode (``detail["code"]``)."""

    code: ClassVar[str] = InventoryErrorCode.UNKNOWN_PRODUCT

    def __init__(
        self,
        sku: str | None = None,
        *,
        skus: Sequence[str] | None = None,
        scanned: str | None = None,
    ) -> None:
        if scanned is not None:
            super().__init__(
                _("no product with SKU or barcode %(code)r"),
                detail={"code": scanned},
                params={"code": scanned},
            )
        elif skus is not None:
            if len(skus) > 1:
                message = _("no product with SKU %(sku)r (and %(more)s more)")
            else:
                message = _("no product with SKU %(sku)r")
            super().__init__(
                message,
                detail={"skus": list(skus)},
                params={"sku": skus[0], "more": len(skus) - 1},
            )
        else:
            assert sku is not None
            super().__init__(
                _("no product with SKU %(sku)r"), detail={"sku": sku}, params={"sku": sku}
            )


class UnknownLocation(NotFound):
    """No location the caller may see: missing or not theirs, one body whatever the code."""

    code: ClassVar[str] = InventoryErrorCode.UNKNOWN_LOCATION

    def __init__(self) -> None:
        super().__init__(_("no such location"))


class UnknownReservation(NotFound):
    """No hold the caller may see, one body whatever the id."""

    def __init__(self) -> None:
        super().__init__(_("no such reservation"))


class UnknownTransfer(NotFound):
    """No transfer the caller may see (staff: one with neither end at their locations), one
    body whatever the id."""

    def __init__(self) -> None:
        super().__init__(_("no such transfer"))


class NotAStockLocation(InvalidInput):
    """A virtual or inactive location where stock was to be held or moved."""

    code: ClassVar[str] = InventoryErrorCode.NOT_A_STOCK_LOCATION

    def __init__(self, location: Location) -> None:
        data = {"location": location.code}
        if not location.is_physical:
            message = _("%(location)s is a virtual location and holds no stock")
        else:
            message = _("%(location)s is not active")
        super().__init__(message, detail=data, params=data)


class InactiveProduct(InvalidInput):
    code: ClassVar[str] = InventoryErrorCode.INACTIVE_PRODUCT

    def __init__(self, product: Product) -> None:
        data = {"sku": product.sku}
        super().__init__(_("%(sku)s is not active"), detail=data, params=data)


class DuplicateLine(InvalidInput):
    """The same SKU twice in one document. The detail names the line the way the caller knows
    it (kept: three shapes): a stock level ``key`` (``location_id``, ``product_id``), the
    request's ``skus``, or the ``product`` of an order line (``sku``)."""

    code: ClassVar[str] = InventoryErrorCode.DUPLICATE_LINE

    IN: ClassVar[dict[str, Any]] = {
        "receipt": _("the same SKU appears twice in one receipt"),
        "count": _("the same SKU appears twice in one count"),
        "transfer": _("the same SKU appears twice in one transfer"),
        "receipt of a transfer": _("the same SKU appears twice in one receipt of a transfer"),
        "reservation": _("the same SKU appears twice in one reservation"),
    }

    def __init__(
        self,
        document: str = "order",
        *,
        key: tuple[int, int] | None = None,
        skus: Sequence[str] | None = None,
        product: Product | None = None,
    ) -> None:
        if product is not None:
            data = {"sku": product.sku}
            super().__init__(_("%(sku)s appears twice in the order"), detail=data, params=data)
            return
        detail: dict[str, Any]
        if key is not None:
            detail = {"location_id": key[0], "product_id": key[1]}
        else:
            detail = {"skus": list(skus or [])}
        super().__init__(self.IN[document], detail=detail)


class QuantityInvalid(InvalidInput):
    """A quantity that is not a whole number, or out of range; ``detail["field"]`` names it
    (with the ``value`` when it was a number out of range)."""

    def __init__(self, field: str, value: object, *, low: int, high: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            super().__init__(
                _("%(field)s must be a whole number"),
                detail={"field": field},
                params={"field": field},
            )
        else:
            super().__init__(
                _("%(field)s must be between %(low)s and %(high)s"),
                detail={"field": field, "value": value},
                params={"field": field, "low": low, "high": high},
            )


class UnitCostInvalid(InvalidInput):
    """A unit cost that is not a number, negative, or too large; ``detail["field"]`` names it
    (with the ``sku`` of the line when there is one)."""

    def __init__(self, field: str, value: object, *, sku: str | None = None) -> None:
        detail: dict[str, Any] = {"field": field, "value": str(value)}
        if sku is not None:
            detail["sku"] = sku
        super().__init__(
            _("%(field)s must be a number from 0 to %(high)s"),
            detail=detail,
            params={"field": field, "high": "99999999"},
        )


class NoLines(InvalidInput):
    """A document without lines. An order's says which field (``detail["field"]``); the
    others have no detail (kept as they were)."""

    DOCUMENTS: ClassVar[dict[str, Any]] = {
        "receipt": _("a receipt needs at least one line"),
        "count": _("a count needs at least one line"),
        "reservation": _("a reservation needs at least one line"),
        "transfer": _("a transfer needs at least one line"),
        "return": _("a return needs at least one line"),
        "order": _("an order needs at least one line"),
    }

    def __init__(self, document: str) -> None:
        detail = {"field": "lines"} if document == "order" else None
        super().__init__(self.DOCUMENTS[document], detail=detail)


class NotOnDocument(InvalidInput):
    """A product the transfer being received does not list; ``detail`` has ``sku`` and
    ``transfer``. Its code stays the API's ``validation_error``, as before it had a class."""

    def __init__(self, product: Product, transfer: Transfer) -> None:
        data = {"sku": product.sku, "transfer": transfer.pk}
        super().__init__(_("%(sku)s is not on transfer %(transfer)s"), detail=data, params=data)


class ReceivingBookedElsewhere(Conflict):
    """A count another document books (``ReceivingDraft.booked_by``, e.g. a purchase order's
    receipt, which checks the count against the order's lines) cannot be booked as a free
    receipt; ``detail`` has ``draft`` and ``document``."""

    code: ClassVar[str] = InventoryErrorCode.RECEIVING_BOOKED_ELSEWHERE

    def __init__(self, draft: ReceivingDraft) -> None:
        data = {"draft": draft.pk, "document": draft.booked_by}
        super().__init__(
            _("receiving %(draft)s is booked by its %(document)s, not as a free receipt"),
            detail=data,
            params=data,
        )


class ReceivingClosed(Conflict):
    """The receiving draft was finished or discarded (by another clerk, or a second click);
    ``detail`` has ``draft`` and ``status``."""

    code: ClassVar[str] = InventoryErrorCode.RECEIVING_CLOSED

    def __init__(self, draft: ReceivingDraft) -> None:
        data = {"draft": draft.pk, "status": draft.status}
        super().__init__(
            _("receiving %(draft)s is %(status)s; it takes no more scans"), detail=data, params=data
        )


class ReceivingReasonMissing(InvalidInput):
    """Lines counted differently from what was expected with no (or a wrong) reason;
    ``detail["lines"]`` has ``sku``, ``expected`` and ``counted`` of each."""

    code: ClassVar[str] = InventoryErrorCode.RECEIVING_REASON_MISSING

    def __init__(self, lines: Iterable[tuple[Product, int, int]]) -> None:
        rows = [
            {"sku": product.sku, "expected": expected, "counted": counted}
            for product, expected, counted in lines
        ]
        super().__init__(
            _("say why %(sku)s was counted as %(counted)s instead of %(expected)s"),
            detail={"lines": rows},
            params=rows[0],
        )


class UnknownBin(NotFound):
    """No bin with that code (or id) at the location."""

    def __init__(self, location: Location, code: str) -> None:
        data = {"location": location.code, "bin": code}
        super().__init__(_("no bin %(bin)r at %(location)s"), detail=data, params=data)


class BinOtherLocation(InvalidInput):
    """A home bin must be a bin of the SKU's own location."""

    code: ClassVar[str] = InventoryErrorCode.BIN_OTHER_LOCATION

    def __init__(self, bin: Bin, location: Location) -> None:
        data = {"bin": bin.code, "location": location.code}
        super().__init__(
            _("bin %(bin)s is not at %(location)s; choose one of its own bins"),
            detail=data,
            params=data,
        )


class BinTaken(Conflict):
    """Another bin of the location already has that code or that place in the walk."""

    code: ClassVar[str] = InventoryErrorCode.BIN_TAKEN

    def __init__(self, location: Location, *, code: str, sequence: int, other: str) -> None:
        data = {"location": location.code, "bin": code, "sequence": sequence, "other": other}
        super().__init__(
            _(
                "bin %(other)s at %(location)s already has code %(bin)s or walking position "
                "%(sequence)s; choose another"
            ),
            detail=data,
            params=data,
        )
