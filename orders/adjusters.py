"""Order adjusters: apps above orders (loyalty) that change an order's price while it is placed
and follow it as it is paid, handed over, cancelled or expires — without orders importing them.

An adjuster registers itself (``register``, from its ``AppConfig.ready``). Orders calls every
adjuster inside its own transaction, with the order's row locked, before it touches stock, so
the adjuster's rows come in the global lock order (Order → Campaign / Coupon → StockLevel) and
a refusal rolls the whole order back. A registry rather than Django signals: signals swallow
nothing but cannot answer either, and here the adjuster must be able to refuse the order (an
exception) and orders must know whether anyone takes the codes it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from omni.models import User

    from .models import Order, OrderLine


class OrderEvent(StrEnum):
    PAID = "paid"  # payment arrived
    HANDED_OVER = "handed_over"  # completed: collected, sold at the counter
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # an unpaid hold ran out


class OrderAdjuster(Protocol):
    def order_placed(
        self,
        *,
        order: Order,
        lines: Sequence[OrderLine],
        codes: Sequence[str],
        actor: User | None,
    ) -> None:
        """The order and its lines exist, nothing is sourced yet: apply ``codes`` (may be
        empty) to the lines (``OrderLine.discount``) or raise an ``ApplicationError``."""

    def order_event(self, *, order: Order, event: OrderEvent, actor: User | None) -> None:
        """``order`` (locked by the caller) was paid, handed over, cancelled or expired."""


_adjusters: list[OrderAdjuster] = []


def register(adjuster: OrderAdjuster) -> None:
    if adjuster not in _adjusters:
        _adjusters.append(adjuster)


def registered() -> tuple[OrderAdjuster, ...]:
    return tuple(_adjusters)


def order_placed(
    *, order: Order, lines: Sequence[OrderLine], codes: Sequence[str], actor: User | None
) -> None:
    for adjuster in _adjusters:
        adjuster.order_placed(order=order, lines=lines, codes=codes, actor=actor)


def order_event(*, order: Order, event: OrderEvent, actor: User | None = None) -> None:
    for adjuster in _adjusters:
        adjuster.order_event(order=order, event=event, actor=actor)
