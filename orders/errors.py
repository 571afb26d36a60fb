"""Error codes of orders, sourcing and availability, and the errors built from the objects they
are about."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from inventory.errors import InsufficientStock, Shortage
from omni.errors import Conflict, InvalidInput, NotFound, UnknownCity

if TYPE_CHECKING:
    from inventory.models import Location
    from network.models import Channel

    from .models import Order

__all__ = [
    "ChannelNotLive",
    "ExternalIdReused",
    "ModeNotAllowed",
    "OrderErrorCode",
    "OrderInvalidState",
    "OrderShort",
    "PickupCapacityFull",
    "StoreNotLive",
    "UnknownCity",
    "UnknownOrder",
]


class OrderErrorCode(StrEnum):
    UNKNOWN_ORDER = "unknown_order"
    CHANNEL_NOT_LIVE = "channel_not_live"
    STORE_NOT_LIVE = "store_not_live"
    ORDER_INVALID_STATE = "order_invalid_state"
    EXTERNAL_ID_REUSED = "external_id_reused"
    MODE_NOT_ALLOWED = "mode_not_allowed"
    PICKUP_CAPACITY_FULL = "pickup_capacity_full"


class UnknownOrder(NotFound):
    """No order the caller may see: missing or not theirs, one body whatever the id."""

    code: ClassVar[str] = OrderErrorCode.UNKNOWN_ORDER

    def __init__(self) -> None:
        super().__init__(_("no such order"))


class ChannelNotLive(InvalidInput):
    """The channel is switched off (``detail["channel"]``), or not live for the order's mode in
    its city (``channel`` and ``city``)."""

    code: ClassVar[str] = OrderErrorCode.CHANNEL_NOT_LIVE

    def __init__(self, channel: Channel, *, order: Order | None = None) -> None:
        if order is None:
            data = {"channel": channel.code}
            super().__init__(_("channel %(channel)s is not active"), detail=data, params=data)
        else:
            super().__init__(
                _("%(channel)s is not live for %(mode)s in %(city)s"),
                detail={"channel": channel.code, "city": order.city.code},
                params={"channel": channel.code, "mode": order.mode, "city": order.city.code},
            )


class StoreNotLive(InvalidInput):
    code: ClassVar[str] = OrderErrorCode.STORE_NOT_LIVE

    def __init__(self, store: Location, *, service: str, channel: Channel) -> None:
        data = {"store": store.code, "service": str(service), "channel": channel.code}
        super().__init__(
            _("%(store)s does not offer %(service)s for %(channel)s today"),
            detail=data,
            params=data,
        )


class ModeNotAllowed(InvalidInput):
    code: ClassVar[str] = OrderErrorCode.MODE_NOT_ALLOWED

    def __init__(self, channel: Channel, mode: str) -> None:
        super().__init__(
            _("counter sales come from the store_pos channel, and only counter sales do"),
            detail={"channel": channel.code, "mode": str(mode)},
        )


class OrderInvalidState(Conflict):
    """The order's status does not allow the step; ``detail`` has ``order`` and ``status``,
    and the status it was to take (``wanted``) for a status change."""

    code: ClassVar[str] = OrderErrorCode.ORDER_INVALID_STATE

    ACTIONS: ClassVar[dict[str, Any]] = {
        "pay": _("order %(order)s is %(status)s; it cannot be paid"),
        "change": _("order %(order)s is %(status)s; only an open order can change"),
    }

    def __init__(self, order: Order, *, to: str | None = None, action: str | None = None) -> None:
        data: dict[str, Any] = {"order": order.pk, "status": order.status}
        if to is not None:
            data["wanted"] = str(to)
            message = _("order %(order)s is %(status)s; it cannot become %(wanted)s")
        else:
            assert action is not None
            message = self.ACTIONS[action]
        super().__init__(message, detail=data, params=data)


class ExternalIdReused(Conflict):
    """The channel's ``external_id`` names an order with other lines (``detail["order"]``)."""

    code: ClassVar[str] = OrderErrorCode.EXTERNAL_ID_REUSED

    def __init__(self, existing: Order, *, channel: Channel, external_id: str) -> None:
        super().__init__(
            _("%(channel)s order %(external_id)s exists with other lines"),
            detail={"order": existing.pk, "external_id": external_id},
            params={"channel": channel.code, "external_id": external_id},
        )


class PickupCapacityFull(Conflict):
    """The store has no pickup slot left in the days ahead; ``detail["alternatives"]`` lists
    nearby stores that have the goods."""

    code: ClassVar[str] = OrderErrorCode.PICKUP_CAPACITY_FULL

    def __init__(self, store: Location, *, days: int, alternatives: list[dict[str, Any]]) -> None:
        super().__init__(
            _("%(store)s has no pickup slot in the next %(days)s days"),
            detail={"store": store.code, "alternatives": alternatives},
            params={"store": store.code, "days": days},
        )


class OrderShort(InsufficientStock):
    """An order the router cannot fill from the nodes it may use: ``insufficient_stock`` with
    each short line's ``sku``, ``requested`` and ``available`` over all those nodes (no single
    ``location``), the router's ``reason`` and, for a pickup, nearby stores that have the goods
    (``alternatives``). The message names the pickup store, if any."""

    def __init__(
        self,
        shortages: Sequence[Shortage],
        *,
        store: Location | None,
        reason: str,
        alternatives: list[dict[str, Any]] | None = None,
    ) -> None:
        detail: dict[str, Any] = {"reason": reason}
        if alternatives is not None:
            detail["alternatives"] = alternatives
        super().__init__(shortages, at=store.code if store else "", detail=detail)
