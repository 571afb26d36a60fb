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

    from .models import HoldTicket, Order

__all__ = [
    "ChannelNotLive",
    "CounterNotLive",
    "ExternalIdReused",
    "HoldTicketClosed",
    "HoldTicketEmpty",
    "HoldTicketInvalid",
    "HoldTicketShort",
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
    HOLD_TICKET_CLOSED = "hold_ticket_closed"
    HOLD_TICKET_EMPTY = "hold_ticket_empty"
    HOLD_TICKET_INVALID = "hold_ticket_invalid"
    HOLD_TICKET_SHORT = "hold_ticket_short"
    COUNTER_NOT_LIVE = "counter_not_live"


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
        "discounted": _(
            "order %(order)s carries a coupon discount; cancel it and place it again to change "
            "its lines"
        ),
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


# --------------------------------------------------------------------------- walk-in hold tickets


class HoldTicketClosed(Conflict):
    """The ticket is not in the state the action needs (``detail``: ``ticket``, ``status``):
    holding a ticket that is held already, selling one sold or released."""

    code: ClassVar[str] = OrderErrorCode.HOLD_TICKET_CLOSED

    MESSAGES: ClassVar[dict[str, Any]] = {
        "draft": _("Ticket %(ticket)s is not held yet: reserve it first."),
        "held": _("Ticket %(ticket)s is held already: sell it or release it from the list."),
        "sold": _("Ticket %(ticket)s was sold already. Nothing was changed."),
        "released": _("Ticket %(ticket)s was released already: its items are back in stock."),
    }

    def __init__(self, ticket: HoldTicket) -> None:
        super().__init__(
            self.MESSAGES[ticket.status],
            detail={"ticket": ticket.number, "status": ticket.status},
            params={"ticket": ticket.number},
        )


class HoldTicketEmpty(InvalidInput):
    code: ClassVar[str] = OrderErrorCode.HOLD_TICKET_EMPTY

    def __init__(self, *, selling: bool = False) -> None:
        if selling:
            message = _("Nothing to sell: give at least one item a quantity above zero.")
        else:
            message = _(
                "The ticket has no items yet. Look an item up in stock and press"
                " “Hold for a customer”, or scan it here."
            )
        super().__init__(message)


class HoldTicketInvalid(InvalidInput):
    """A ticket's input the clerk must correct; ``detail["field"]`` names it."""

    code: ClassVar[str] = OrderErrorCode.HOLD_TICKET_INVALID

    WHY: ClassVar[dict[str, Any]] = {
        "customer": _("Enter the customer's name or phone, so the ticket can be found again."),
        "hold_until": _(
            "A hold lasts from half an hour to seven days: choose a time in that range."
        ),
        "quantity": _("A quantity is a whole number from 0 up to what the line holds."),
        "line": _("That line is not on this ticket. Reload the page and try again."),
        "store": _("Choose another store than this one."),
    }

    def __init__(self, field: str) -> None:
        super().__init__(self.WHY[field], detail={"field": field})


class HoldTicketShort(InsufficientStock):
    """Holding a ticket found a line short (``detail["items"]`` as ``InsufficientStock``'s),
    said for the counter: what is missing, and where else to look."""

    code: ClassVar[str] = OrderErrorCode.HOLD_TICKET_SHORT

    def __init__(self, ticket: HoldTicket, shortages: Sequence[Shortage]) -> None:
        super().__init__(list(shortages))
        first = shortages[0]
        self.template = _(
            "Nothing was held: only %(available)s × %(sku)s is free at %(store)s and the ticket"
            " asks for %(requested)s. Lower the quantity, or get it from a nearby store below."
        )
        self.params = {
            "available": first.available,
            "sku": first.sku,
            "store": first.location,
            "requested": first.requested,
        }
        self.detail = {**self.detail, "ticket": ticket.number}


class CounterNotLive(Conflict):
    """No active counter-sales (``store_pos``) channel serving the store is live there today
    (rollout): a ticket cannot become a sale there yet."""

    code: ClassVar[str] = OrderErrorCode.COUNTER_NOT_LIVE

    def __init__(self, store: Location) -> None:
        super().__init__(
            _(
                "%(store)s cannot record counter sales today: no counter channel is live there."
                " Ask an administrator (the rollout sets when a store's counter goes live); the"
                " ticket stays held meanwhile."
            ),
            detail={"store": store.code},
            params={"store": store.code},
        )
