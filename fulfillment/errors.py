"""Error codes of picking, packing, shipping, pickup codes and returns."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from omni.errors import Conflict, InvalidInput, NotFound


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


class NothingToPick(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.NOTHING_TO_PICK


class WrongItem(InvalidInput):
    code: ClassVar[str] = FulfillmentErrorCode.WRONG_ITEM


class OverPick(InvalidInput):
    code: ClassVar[str] = FulfillmentErrorCode.OVER_PICK


class PickLineClosed(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.PICK_LINE_CLOSED


class NotPicked(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.NOT_PICKED


class PackageInvalidState(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.PACKAGE_INVALID_STATE


class NotReturnable(InvalidInput):
    code: ClassVar[str] = FulfillmentErrorCode.NOT_RETURNABLE


class UnknownPickList(NotFound):
    code: ClassVar[str] = FulfillmentErrorCode.UNKNOWN_PICK_LIST


class UnknownPackage(NotFound):
    code: ClassVar[str] = FulfillmentErrorCode.UNKNOWN_PACKAGE


class PickupNotReady(Conflict):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_NOT_READY


class PickupCodeRefused(InvalidInput):
    """Any refusal of a code shown at the counter; each subclass is one distinct reason."""


class PickupCodeMalformed(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_MALFORMED


class PickupCodeForged(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_FORGED


class PickupCodeTampered(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_TAMPERED


class PickupCodeExpired(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_EXPIRED
    http_status = 409


class PickupCodeWrongStore(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_WRONG_STORE
    http_status = 409


class PickupCodeUsed(PickupCodeRefused):
    code: ClassVar[str] = FulfillmentErrorCode.PICKUP_CODE_USED
    http_status = 409
