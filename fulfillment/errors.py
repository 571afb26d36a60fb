"""Error codes of picking, packing, shipping, pickup codes and returns, and the errors built
from the objects they are about."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import Conflict, InvalidInput, NotFound
from omni.limits import RateLimited

if TYPE_CHECKING:
    from inventory.models import Location, Product
    from orders.models import Order, OrderLine

    from .models import Package, PickLine, PickList, PickTask


class FulfillmentErrorCode(StrEnum):
    NOTHING_TO_PICK = "nothing_to_pick"
    WRONG_ITEM = "wrong_item"
    OVER_PICK = "over_pick"
    PICK_LINE_CLOSED = "pick_line_closed"
    NOT_PICKED = "not_picked"
    PACKAGE_INVALID_STATE = "package_invalid_state"
    NOT_RETURNABLE = "not_returnable"
    UNKNOWN_PICK_LIST = "unknown_pick_list"
    UNKNOWN_PACKAGE = "unknown_package"
    PICKUP_CODE_MALFORMED = "pickup_code_malformed"
    PICKUP_CODE_FORGED = "pickup_code_forged"
    PICKUP_CODE_TAMPERED = "pickup_code_tampered"
    PICKUP_CODE_EXPIRED = "pickup_code_expired"
    PICKUP_CODE_WRONG_STORE = "pickup_code_wrong_store"
    PICKUP_CODE_USED = "pickup_code_used"
    PICKUP_NOT_READY = "pickup_not_ready"
    PICKUP_SHORT_CODE_INVALID = "pickup_short_code_invalid"
    PICKUP_SHORT_CODE_WRONG = "pickup_short_code_wrong"
    PICKUP_SHORT_CODES_PAUSED = "pickup_short_codes_paused"
    PICK_LIST_DONE = "pick_list_done"
    PICK_TASK_CLOSED = "pick_task_closed"
    UNKNOWN_PICK_TASK = "unknown_pick_task"
    NOT_FULLY_PICKED = "not_fully_picked"
    NOT_IN_ORDER = "not_in_order"
    OVER_PACK = "over_pack"
    NOTHING_TO_SORT = "nothing_to_sort"


class NothingToPick(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.NOTHING_TO_PICK

    def __init__(self, location: Location) -> None:
        data = {"location": location.code}
        super().__init__(_("nothing waits to be picked at %(location)s"), detail=data, params=data)


class WrongItem(InvalidInput):
    """A scan that no line wants. On a line: ``detail`` has the ``expected`` SKU and what was
    ``scanned``; on a whole pick list: ``scanned`` and the ``pick_list``, and the message says
    whether the item was on the list and is picked already (``done``: its SKU)."""

    code: ClassVar[str] = FulfillmentErrorCode.WRONG_ITEM

    def __init__(
        self,
        scanned: str,
        *,
        line: PickLine | None = None,
        pick_list: PickList | None = None,
        done: str | None = None,
        task: PickTask | None = None,
    ) -> None:
        scanned = scanned.strip()[:64]
        if task is not None:
            data = {"expected": task.product.sku, "scanned": scanned, "bin": task.bin_code}
            super().__init__(
                _("Scanned %(scanned)s, but this stop wants %(sku)s: scan %(sku)s or skip it."),
                detail=data,
                params={"scanned": scanned, "sku": task.product.sku},
            )
            return
        if line is not None:
            super().__init__(
                _("scanned %(scanned)r, this line wants %(sku)s"),
                detail={"expected": line.product.sku, "scanned": scanned},
                params={"scanned": scanned, "sku": line.product.sku},
            )
            return
        assert pick_list is not None
        if done is not None:
            message = _("Every %(sku)s on this list is picked already.")
        else:
            message = _("Scanned %(scanned)s: nothing on this list wants it.")
        super().__init__(
            message,
            detail={"scanned": scanned, "pick_list": pick_list.pk},
            params={"scanned": scanned, "sku": done},
        )


class OverPick(InvalidInput):
    code: ClassVar[str] = FulfillmentErrorCode.OVER_PICK

    def __init__(self, line: PickLine, quantity: int) -> None:
        super().__init__(
            _("%(picked)s of %(wanted)s picked; %(quantity)s more is too many"),
            detail={"picked": line.picked, "wanted": line.quantity},
            params={"picked": line.picked, "wanted": line.quantity, "quantity": quantity},
        )


class ShortPickInvalid(InvalidInput):
    """A short pick's ``found`` outside what is picked already and less than the line wants;
    ``detail`` has ``picked`` and ``wanted``, as ``OverPick``'s."""

    def __init__(self, line: PickLine) -> None:
        super().__init__(
            _("found must be between %(picked)s (picked already) and %(most)s"),
            detail={"picked": line.picked, "wanted": line.quantity},
            params={"picked": line.picked, "most": line.quantity - 1},
        )


class PickLineClosed(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.PICK_LINE_CLOSED

    def __init__(self, line: PickLine) -> None:
        super().__init__(
            _("this line is %(status)s already"),
            detail={"pick_line": line.pk, "status": line.status},
            params={"status": line.status},
        )


class NotPicked(Conflict):
    """Packing what is not picked: one SKU of a package (``detail``: ``sku``, ``requested``),
    or nothing of the order at that location (``order``, ``location``)."""

    code: ClassVar[str] = FulfillmentErrorCode.NOT_PICKED

    def __init__(
        self,
        order: Order,
        location: Location,
        *,
        product: Product | None = None,
        requested: int = 0,
        ready: int = 0,
    ) -> None:
        if product is not None:
            super().__init__(
                _("only %(ready)s of %(sku)s are picked and unpacked"),
                detail={"sku": product.sku, "requested": requested},
                params={"ready": ready, "sku": product.sku},
            )
        else:
            data = {"order": order.pk, "location": location.code}
            super().__init__(
                _("nothing of order %(order)s is picked and waiting at %(location)s"),
                detail=data,
                params=data,
            )


class PackageInvalidState(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.PACKAGE_INVALID_STATE

    def __init__(self, package: Package) -> None:
        data = {"package": package.pk, "status": package.status}
        super().__init__(_("package %(package)s is %(status)s"), detail=data, params=data)


class NotReturnable(InvalidInput):
    """A return the order does not allow: ``detail["sku"]``, and ``returnable`` (how many may
    come back) when it is too many."""

    code: ClassVar[str] = FulfillmentErrorCode.NOT_RETURNABLE

    def __init__(
        self,
        product: Product,
        order: Order,
        *,
        returnable: int | None = None,
        quantity: int = 0,
    ) -> None:
        if returnable is None:
            super().__init__(
                _("%(sku)s is not on order %(order)s"),
                detail={"sku": product.sku},
                params={"sku": product.sku, "order": order.pk},
            )
        else:
            super().__init__(
                _("%(returnable)s of %(sku)s can come back, not %(quantity)s"),
                detail={"sku": product.sku, "returnable": returnable},
                params={"returnable": returnable, "sku": product.sku, "quantity": quantity},
            )


class UnknownPickList(NotFound):
    """No pick list the caller may see, or (``line``) no such line on one they may; one body
    whatever the ids."""

    code: ClassVar[str] = FulfillmentErrorCode.UNKNOWN_PICK_LIST

    def __init__(self, *, line: bool = False) -> None:
        super().__init__(_("no such line on this pick list") if line else _("no such pick list"))


class UnknownPackage(NotFound):
    """No package the caller may see, one body whatever the id."""

    code: ClassVar[str] = FulfillmentErrorCode.UNKNOWN_PACKAGE

    def __init__(self) -> None:
        super().__init__(_("no such package"))


class PickupNotReady(Conflict):
    """Not everything is picked; ``detail["lines"]`` has each short ``line`` and its units
    ``picked``."""

    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_NOT_READY

    def __init__(
        self, order: Order, store: Location, short: Sequence[OrderLine], picked: dict[int, int]
    ) -> None:
        super().__init__(
            _("order %(order)s is not fully picked at %(store)s"),
            detail={"lines": [{"line": ln.pk, "picked": picked.get(ln.pk, 0)} for ln in short]},
            params={"order": order.pk, "store": store.code},
        )


class PickupCodeRefused(InvalidInput):
    """Any refusal of a code shown at the counter; each subclass is one distinct reason.
    ``pickup_code_id`` is the issued code it names, if any (for the attempt log, never shown)."""

    pickup_code_id: int | None = None

    def __init__(
        self,
        message: Any,
        *,
        detail: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        pickup_code_id: int | None = None,
    ) -> None:
        super().__init__(message, detail=detail, params=params)
        self.pickup_code_id = pickup_code_id


class PickupCodeMalformed(PickupCodeRefused):
    """Not a pickup code at all; ``why`` is what ``pickup_codes.parse`` found."""

    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_MALFORMED

    WHY: ClassVar[dict[str, Any]] = {
        "not a pickup code": _("not a pickup code"),
        "the code does not decode": _("the code does not decode"),
        "the code carries the wrong fields": _("the code carries the wrong fields"),
        "the code's fields have the wrong types": _("the code's fields have the wrong types"),
    }

    def __init__(self, why: str) -> None:
        super().__init__(self.WHY.get(why, why))


class PickupCodeForged(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_FORGED

    def __init__(self) -> None:
        super().__init__(_("this code was not issued by Omni"))


class PickupCodeTampered(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_TAMPERED

    def __init__(self, *, pickup_code_id: int) -> None:
        super().__init__(
            _("this code was altered after it was issued"), pickup_code_id=pickup_code_id
        )


class PickupCodeExpired(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_EXPIRED
    http_status = 409

    def __init__(self, *, expired_at: int, pickup_code_id: int) -> None:
        super().__init__(
            _("this code has expired"),
            detail={"expired_at": expired_at},
            pickup_code_id=pickup_code_id,
        )


class PickupCodeWrongStore(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_WRONG_STORE
    http_status = 409

    def __init__(self, *, for_store: str, here: Location, pickup_code_id: int) -> None:
        super().__init__(
            _("this code is for pickup at %(store)s, not %(here)s"),
            detail={"store": for_store},
            params={"store": for_store, "here": here.code},
            pickup_code_id=pickup_code_id,
        )


class PickupCodeUsed(PickupCodeRefused):
    """Used already, or its order is no longer ready for pickup (``detail["order_status"]``)."""

    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_USED
    http_status = 409

    def __init__(self, order: Order, *, used: bool, pickup_code_id: int) -> None:
        super().__init__(
            _("this code has been used") if used else _("order %(order)s is %(status)s"),
            detail={"order_status": order.status},
            params=None if used else {"order": order.pk, "status": order.status},
            pickup_code_id=pickup_code_id,
        )


class PickupShortCodeInvalid(PickupCodeRefused):
    """A short code hand-over typed wrongly: ``field`` says what (the six digits, the order
    number or phone digits, both given or neither). Not a guess: it does not count."""

    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_SHORT_CODE_INVALID

    WHY: ClassVar[dict[str, Any]] = {
        "short_code": _("The short code is six digits. Ask the customer to read it out again."),
        "which": _(
            "Type the order number or the last four digits of the customer's phone, not both."
        ),
        "phone_last4": _("Type exactly the last four digits of the customer's phone."),
        "order": _("Type the order number as it is on the customer's message."),
    }

    def __init__(self, field: str) -> None:
        super().__init__(self.WHY[field], detail={"field": field})


class PickupShortCodeWrong(PickupCodeRefused):
    """No pickup ready at this store has this short code with this order number (``order``) or
    phone ending (``phone_last4``). One answer whether the order exists or not: the refusal
    tells nothing to someone guessing."""

    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_SHORT_CODE_WRONG

    def __init__(
        self, *, order: str = "", phone_last4: str = "", pickup_code_id: int | None = None
    ) -> None:
        if order:
            message = _(
                "No pickup for order %(order)s here has this short code. Check the digits and the"
                " order number with the customer, or scan their QR code."
            )
        else:
            message = _(
                "No pickup here for a phone ending in %(phone)s has this short code. Check the"
                " digits with the customer, or scan their QR code."
            )
        detail = {"order": order} if order else {"phone_last4": phone_last4}
        super().__init__(
            message,
            detail=detail,
            params={"order": order, "phone": phone_last4},
            pickup_code_id=pickup_code_id,
        )


class PickupShortCodesPaused(RateLimited):
    """Too many wrong short codes at this store in the window: short codes are refused there
    until ``retry_after`` seconds have passed (QR codes still work)."""

    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_SHORT_CODES_PAUSED

    def __init__(self, store: Location, *, limit: str, retry_after: int) -> None:
        super().__init__(limit=limit, retry_after=retry_after)
        minutes = max(1, -(-self.retry_after // 60))
        self.template = _(
            "Too many wrong short codes at %(store)s: typing short codes is paused for"
            " %(minutes)s minutes so nobody can guess them. Scan the customer's QR code instead."
        )
        self.params = {"store": store.code, "minutes": minutes}
        self.detail = {**self.detail, "store": store.code}


class PickListDone(Conflict):
    """A scan on a pick list with no open task left."""

    code: ClassVar[str] = FulfillmentErrorCode.PICK_LIST_DONE

    def __init__(self, pick_list: PickList) -> None:
        data = {"pick_list": pick_list.pk}
        super().__init__(
            _("Pick list %(pick_list)s is picked already; nothing is left to scan."),
            detail=data,
            params=data,
        )


class PickTaskClosed(Conflict):
    """A scan or a short aimed at a task that is picked or short already."""

    code: ClassVar[str] = FulfillmentErrorCode.PICK_TASK_CLOSED

    def __init__(self, task: PickTask) -> None:
        data = {"task": task.pk, "status": task.status}
        super().__init__(
            _("This stop is closed already (%(status)s); go on to the next one."),
            detail=data,
            params=data,
        )


class UnknownPickTask(NotFound):
    code: ClassVar[str] = FulfillmentErrorCode.UNKNOWN_PICK_TASK

    def __init__(self) -> None:
        super().__init__(_("no such task on this pick list"))


# --------------------------------------------------------------------------- pack by scanning


class NotFullyPicked(Conflict):
    """An order offered for packing before its units at this location are all picked (or
    recorded short); ``detail``: ``order``, ``picked``, ``wanted`` (units)."""

    code: ClassVar[str] = FulfillmentErrorCode.NOT_FULLY_PICKED

    def __init__(self, order: Order, *, picked: int, wanted: int) -> None:
        data = {"order": order.pk, "picked": picked, "wanted": wanted}
        super().__init__(
            _(
                "Order %(order)s is not fully picked here: %(picked)s of %(wanted)s units."
                " Pack it when the rest is picked, or choose to ship what is picked now."
            ),
            detail=data,
            params=data,
        )


class NotInOrder(InvalidInput):
    """A scan packing an order that does not want that item; ``detail``: ``scanned``,
    ``order``, and ``belongs_to`` (the order and tote that want it, when one does)."""

    code: ClassVar[str] = FulfillmentErrorCode.NOT_IN_ORDER

    def __init__(
        self,
        scanned: str,
        order: Order,
        *,
        other_order: int | None = None,
        other_tote: int | None = None,
    ) -> None:
        scanned = scanned.strip()[:64]
        params = {"scanned": scanned, "order": order.pk, "other": other_order, "tote": other_tote}
        if other_order is None:
            message = _(
                "%(scanned)s is not in order %(order)s and no other order here waits for it."
                " Put it aside and tell your supervisor."
            )
        elif other_tote is None:
            message = _(
                "%(scanned)s is not in order %(order)s: it belongs to order %(other)s."
                " Put it with that order."
            )
        else:
            message = _(
                "%(scanned)s is not in order %(order)s: it belongs to order %(other)s, tote"
                " %(tote)s. Put it in that tote."
            )
        super().__init__(
            message,
            detail={
                "scanned": scanned,
                "order": order.pk,
                "belongs_to": (
                    None if other_order is None else {"order": other_order, "tote": other_tote}
                ),
            },
            params=params,
        )


class OverPack(Conflict):
    """One unit more of an item than the order has picked and unpacked here; ``detail``:
    ``sku``, ``order``, ``packed``, ``picked``, ``ordered``."""

    code: ClassVar[str] = FulfillmentErrorCode.OVER_PACK

    def __init__(
        self, order: Order, product: Product, *, packed: int, picked: int, ordered: int
    ) -> None:
        data = {
            "sku": product.sku,
            "order": order.pk,
            "packed": packed,
            "picked": picked,
            "ordered": ordered,
        }
        if picked < ordered:
            message = _(
                "Every picked %(sku)s of order %(order)s is packed already (%(packed)s of"
                " %(ordered)s ordered; the rest is not picked yet). Put this one aside."
            )
        else:
            message = _(
                "Order %(order)s needs no more %(sku)s: all %(packed)s are packed."
                " Put this one aside."
            )
        super().__init__(message, detail=data, params=data)


class NothingToSort(InvalidInput):
    """A scan at the packing station that no order here waits for; ``detail``: ``scanned``."""

    code: ClassVar[str] = FulfillmentErrorCode.NOTHING_TO_SORT

    def __init__(self, scanned: str) -> None:
        scanned = scanned.strip()[:64]
        super().__init__(
            _(
                "No order here waits for %(scanned)s: it is not picked for any order, or every"
                " unit is packed already. Check the code and scan again."
            ),
            detail={"scanned": scanned},
            params={"scanned": scanned},
        )
