"""Error codes of purchasing, and the errors built from the objects they are about."""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import Conflict, InvalidInput, NotFound, OneOf

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from inventory.models import Location, Product

    from .models import PurchaseOrder, Supplier


class PurchasingErrorCode(StrEnum):
    SUPPLIER_INVALID = "supplier_invalid"
    SUPPLIER_ITEM_INVALID = "supplier_item_invalid"
    SUPPLIER_INACTIVE = "supplier_inactive"
    SUPPLIER_DOES_NOT_DELIVER = "supplier_does_not_deliver"
    REORDER_POLICY_INVALID = "reorder_policy_invalid"
    REORDER_POLICY_NOT_CLASSIFIED = "reorder_policy_not_classified"
    POLICY_CLASSIFICATION_INVALID = "policy_classification_invalid"
    PURCHASE_ORDER_LINE_INVALID = "purchase_order_line_invalid"
    PURCHASE_ORDER_INVALID_STATE = "purchase_order_invalid_state"
    NOT_ON_PURCHASE_ORDER = "not_on_purchase_order"
    OVER_RECEIPT = "over_receipt"
    RECEIPT_REASON_MISSING = "receipt_reason_missing"
    EXCHANGE_RATE_INVALID = "exchange_rate_invalid"
    EXCHANGE_RATE_MISSING = "exchange_rate_missing"


class UnknownSupplier(NotFound):
    def __init__(self, code: str | None = None) -> None:
        data = {"supplier": code} if code else None
        super().__init__(_("no such supplier"), detail=data)


class UnknownPurchaseOrder(NotFound):
    """No such purchase order, or one shipping to a location the user does not work at."""

    def __init__(self) -> None:
        super().__init__(_("no such purchase order"))


class UnknownReorderPolicy(NotFound):
    """The SKU has no reorder policy at the location."""

    def __init__(self) -> None:
        super().__init__(_("no reorder policy for this SKU at this location"))


class FieldInvalid(InvalidInput):
    """A field of a purchasing record with a value it cannot have; ``detail`` names the
    ``field`` and the ``value`` (and whatever identifies the record)."""

    def __init__(self, field: str, value: Any, message: StrOrPromise, **identity: Any) -> None:
        data = {"field": field, "value": value, **identity}
        super().__init__(message, detail=data, params=data)


class SupplierInvalid(FieldInvalid):
    code: ClassVar[str] = PurchasingErrorCode.SUPPLIER_INVALID


class SupplierItemInvalid(FieldInvalid):
    code: ClassVar[str] = PurchasingErrorCode.SUPPLIER_ITEM_INVALID


class ReorderPolicyInvalid(FieldInvalid):
    code: ClassVar[str] = PurchasingErrorCode.REORDER_POLICY_INVALID


class ExchangeRateInvalid(FieldInvalid):
    code: ClassVar[str] = PurchasingErrorCode.EXCHANGE_RATE_INVALID


class ExchangeRateMissing(Conflict):
    """No rate of ``detail["currency"]`` in force on ``detail["date"]``: what is bought in it
    cannot be valued or counted against a budget until one is set."""

    code: ClassVar[str] = PurchasingErrorCode.EXCHANGE_RATE_MISSING

    def __init__(self, currency: str, day: datetime.date) -> None:
        data = {"currency": currency, "date": day.isoformat()}
        super().__init__(
            _("no exchange rate for %(currency)s on %(date)s: set one before buying in it"),
            detail=data,
            params=data,
        )


class PolicyClassificationInvalid(FieldInvalid):
    """What to classify is not something that buys: ``detail`` names the ``field`` (``city``,
    ``location``) and its ``value``."""

    code: ClassVar[str] = PurchasingErrorCode.POLICY_CLASSIFICATION_INVALID


class ReorderPolicyNotClassified(Conflict):
    """A policy reverted to its class's suggestion before its SKU was ever classified."""

    code: ClassVar[str] = PurchasingErrorCode.REORDER_POLICY_NOT_CLASSIFIED

    def __init__(self, product: Product, location: Location) -> None:
        data = {"sku": product.sku, "location": location.code}
        super().__init__(
            _(
                "%(sku)s has no class at %(location)s yet, so there is no suggestion to go back"
                " to: classify %(location)s first"
            ),
            detail=data,
            params=data,
        )


class PurchaseOrderLineInvalid(InvalidInput):
    """A line of a purchase order that cannot be ordered: ``detail`` has the ``line`` (its
    position, from 1), the ``sku``, the ``field`` and the ``value``."""

    code: ClassVar[str] = PurchasingErrorCode.PURCHASE_ORDER_LINE_INVALID

    def __init__(
        self, *, line: int, sku: str, field: str, value: Any, message: StrOrPromise
    ) -> None:
        data = {"line": line, "sku": sku, "field": field, "value": value}
        super().__init__(message, detail=data, params=data)


class SupplierInactive(Conflict):
    code: ClassVar[str] = PurchasingErrorCode.SUPPLIER_INACTIVE

    def __init__(self, supplier: Supplier) -> None:
        data = {"supplier": supplier.code}
        super().__init__(_("supplier %(supplier)s is not active"), detail=data, params=data)


class SupplierDoesNotDeliver(InvalidInput):
    """The supplier does not deliver to this kind of location (a store, or the DC)."""

    code: ClassVar[str] = PurchasingErrorCode.SUPPLIER_DOES_NOT_DELIVER

    def __init__(self, supplier: Supplier, location: Location) -> None:
        data = {"supplier": supplier.code, "location": location.code, "kind": location.kind}
        super().__init__(
            _("supplier %(supplier)s does not deliver to %(location)s (a %(kind)s)"),
            detail={**data, "field": "ship_to"},
            params=data,
        )


class PurchaseOrderInvalidState(Conflict):
    """The PO is not in a status that allows ``action``; ``detail`` has ``purchase_order``,
    ``status`` and ``expected``."""

    code: ClassVar[str] = PurchasingErrorCode.PURCHASE_ORDER_INVALID_STATE

    def __init__(self, purchase_order: PurchaseOrder, *, action: str, expected: list[str]) -> None:
        data = {
            "purchase_order": purchase_order.number,
            "status": purchase_order.status,
            "expected": expected,
            "action": action,
        }
        super().__init__(
            _(
                "purchase order %(purchase_order)s is %(status)s; to %(action)s it must be"
                " %(one_of)s"
            ),
            detail=data,
            params={**data, "one_of": OneOf(expected)},
        )


class NotOnPurchaseOrder(InvalidInput):
    """A product the purchase order does not list; ``detail`` has ``sku`` and
    ``purchase_order``."""

    code: ClassVar[str] = PurchasingErrorCode.NOT_ON_PURCHASE_ORDER

    def __init__(self, product: Product, purchase_order: PurchaseOrder) -> None:
        data = {"sku": product.sku, "purchase_order": purchase_order.number}
        super().__init__(
            _("%(sku)s is not on purchase order %(purchase_order)s"), detail=data, params=data
        )


class OverReceipt(Conflict):
    """More received than the supplier's tolerance allows; ``detail`` has the ``sku``, what
    was ``ordered``, ``received`` before, ``counted`` now and the most ``allowed`` now."""

    code: ClassVar[str] = PurchasingErrorCode.OVER_RECEIPT

    def __init__(
        self, *, product: Product, ordered: int, received: int, counted: int, allowed: int
    ) -> None:
        data = {
            "sku": product.sku,
            "ordered": ordered,
            "received": received,
            "counted": counted,
            "allowed": allowed,
        }
        super().__init__(
            _(
                "%(counted)s× %(sku)s is more than the order allows: %(ordered)s ordered,"
                " %(received)s received already, at most %(allowed)s more"
            ),
            detail=data,
            params=data,
        )


class ReceiptReasonMissing(InvalidInput):
    """Lines received over the ordered quantity, or closed short, need a reason;
    ``detail["lines"]`` has the ``sku``, ``open`` and ``counted`` of each."""

    code: ClassVar[str] = PurchasingErrorCode.RECEIPT_REASON_MISSING

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        data = {"sku": lines[0]["sku"], "count": len(lines)}
        super().__init__(
            _("say why %(sku)s differs from the order (%(count)s line(s) need a reason)"),
            detail={"lines": lines},
            params=data,
        )


# Replenishment proposals keep their errors in their own module; re-exported so every code of
# purchasing is found here.
from .proposals.errors import (  # noqa: E402, F401
    ProposalAlreadyDecided,
    ProposalErrorCode,
    ProposalNotReady,
    ProposalParameterInvalid,
    ProposalQuantityNotOrderable,
    UnknownProposalLine,
    UnknownProposalRun,
)
