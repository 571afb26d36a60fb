"""Error codes of orders, sourcing and availability."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from omni.errors import Conflict, InvalidInput, NotFound


class OrderErrorCode(StrEnum):
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_ORDER = "unknown_order"
    CHANNEL_NOT_LIVE = "channel_not_live"
    STORE_NOT_LIVE = "store_not_live"
    ORDER_INVALID_STATE = "order_invalid_state"
    EXTERNAL_ID_REUSED = "external_id_reused"
    MODE_NOT_ALLOWED = "mode_not_allowed"
    PICKUP_CAPACITY_FULL = "pickup_capacity_full"
    UNKNOWN_ROUTING_PROFILE = "unknown_routing_profile"


class UnknownChannel(NotFound):
    code: ClassVar[str] = OrderErrorCode.UNKNOWN_CHANNEL


class UnknownOrder(NotFound):
    code: ClassVar[str] = OrderErrorCode.UNKNOWN_ORDER


class ChannelNotLive(InvalidInput):
    code: ClassVar[str] = OrderErrorCode.CHANNEL_NOT_LIVE


class StoreNotLive(InvalidInput):
    code: ClassVar[str] = OrderErrorCode.STORE_NOT_LIVE


class ModeNotAllowed(InvalidInput):
    code: ClassVar[str] = OrderErrorCode.MODE_NOT_ALLOWED


class OrderInvalidState(Conflict):
    code: ClassVar[str] = OrderErrorCode.ORDER_INVALID_STATE


class ExternalIdReused(Conflict):
    code: ClassVar[str] = OrderErrorCode.EXTERNAL_ID_REUSED


class PickupCapacityFull(Conflict):
    """The store has no pickup slot left in the days ahead; ``detail["alternatives"]`` lists
    nearby stores that have the goods."""

    code: ClassVar[str] = OrderErrorCode.PICKUP_CAPACITY_FULL


class UnknownRoutingProfile(NotFound):
    code: ClassVar[str] = OrderErrorCode.UNKNOWN_ROUTING_PROFILE
