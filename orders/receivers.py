"""Orders listening to inventory: stock came free, so waiting orders may be routed now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Order, OrderLine


def route_waiting_on_stock(sender: Any, *, pairs: Iterable[tuple[int, int]], **kwargs: Any) -> None:
    """Queue a routing run for the waiting orders that want the products that came free.
    Runs after the stock's transaction committed; one cheap query when nothing waits."""
    from .tasks import orders_route_waiting_task

    product_ids = sorted({product_id for _, product_id in pairs})
    waiting = Order.objects.filter(
        waiting_since__isnull=False,
        pk__in=OrderLine.objects.filter(product_id__in=product_ids).values("order_id"),
    )
    if waiting.exists():
        orders_route_waiting_task.delay(product_ids)
