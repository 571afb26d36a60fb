"""The waiting queue: parked and backordered orders routed again, oldest first, when stock
comes in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import (
    PHYSICAL_KINDS,
    Reservation,
    ReservationStatus,
    StockMove,
)
from omni.errors import ApplicationError
from omni.models import City

from ..locks import lock_city_queue, lock_order
from ..models import (
    Order,
    OrderLine,
    OrderStatus,
)
from .common import _settle, logger
from .sourcing import _source

# --------------------------------------------------------------------------- the waiting queue


# How often one routing run walks the queue again from its head because stock came in.
WAITING_RESTARTS = 5


@dataclass(frozen=True)
class _Mark:
    move_id: int
    at: datetime


def _walk_start(queue: QuerySet[Order]) -> tuple[list[tuple[int, int]], list[int], _Mark]:
    """The queue as it stands, its products, and a mark to tell later arrivals by."""
    mark = _Mark(
        move_id=StockMove.objects.aggregate(last=Max("id"))["last"] or 0, at=timezone.now()
    )
    rows = list(queue.values_list("id", "city_id"))
    products = sorted(
        set(
            OrderLine.objects.filter(order_id__in=[r[0] for r in rows]).values_list(
                "product_id", flat=True
            )
        )
    )
    return rows, products, mark


def _arrived_since(mark: _Mark, products: Sequence[int]) -> bool:
    """Did stock of ``products`` come in (goods in, a hold given back) after ``mark``?"""
    if not products:
        return False
    came_in = StockMove.objects.filter(
        pk__gt=mark.move_id,
        product_id__in=products,
        to_location__kind__in=PHYSICAL_KINDS,
    ).exists()
    return (
        came_in
        or Reservation.objects.filter(
            product_id__in=products,
            status__in=(ReservationStatus.RELEASED, ReservationStatus.EXPIRED),
            closed_at__gte=mark.at,
        ).exists()
    )


@dataclass
class WaitingReport:
    tried: int = 0
    filled: int = 0  # every unit now held
    partly: int = 0  # got some units, still waits for the rest
    still_waiting: int = 0
    failed: int = 0  # an error left the order as it was (logged)


def waiting_queue(
    *, product_ids: Sequence[int] | None = None, city: City | None = None
) -> QuerySet[Order]:
    """Orders with units waiting for stock, first served first: by promised date, else by when
    they were placed."""
    queue = Order.objects.filter(waiting_since__isnull=False)
    if product_ids is not None:
        queue = queue.filter(
            pk__in=OrderLine.objects.filter(product_id__in=list(product_ids)).values("order_id")
        )
    if city is not None:
        queue = queue.filter(city=city)
    return queue.annotate(served_by=Coalesce("promised_at", "created_at")).order_by(
        "served_by", "id"
    )


def orders_route_waiting(
    *, product_ids: Sequence[int] | None = None, city: City | None = None
) -> WaitingReport:
    """Route again the orders waiting for stock (of ``product_ids``, or any), in queue order.

    Each order is one transaction taken under its city's queue mutex
    (``locks.lock_city_queue``), so concurrent runs (two receipts at once) take turns order by
    order; each order is locked and its missing units counted afresh, so a unit is never routed
    twice. A parked order is routed whole or stays parked; a backordered one takes what there
    is. The transactions are ``durable``: the run must be the outermost transaction, or its
    next city and order locks would come after the previous order's stock levels.

    The queue is served in order: if stock of the queue's products came in since this run
    started its walk, it walks again from the head before routing the next order, so a newer
    order never takes units an older one passed over a moment before they arrived (at most
    ``WAITING_RESTARTS`` times; the run the arrival queued serves it after that)."""
    report = WaitingReport()
    queue = waiting_queue(product_ids=product_ids, city=city)
    rows, products, mark = _walk_start(queue)
    restarts = 0
    position = 0
    while position < len(rows):
        order_id, city_id = rows[position]
        position += 1
        report.tried += 1
        try:
            with transaction.atomic(durable=True):
                lock_city_queue(city_id)
                if restarts < WAITING_RESTARTS and position > 1 and _arrived_since(mark, products):
                    restarts += 1
                    report.tried -= 1
                    rows, products, mark = _walk_start(queue)
                    position = 0
                    continue
                order = lock_order(order_id)
                if order.waiting_since is None:
                    continue
                lines = list(order.lines.select_related("product"))
                missing = {line: line.units_missing for line in lines}
                parked = order.status == OrderStatus.PARKED
                plan = _source(
                    order,
                    missing,
                    what="retried: stock arrived",
                    when_short="park" if parked else "backorder",
                    record_idle=False,
                )
                _settle(order, plan)
                order.save()
        except ApplicationError as exc:
            report.failed += 1
            logger.warning("waiting order %s could not be routed: %s", order_id, exc)
            continue
        if order.waiting_since is None:
            report.filled += 1
        elif plan.picks:
            report.partly += 1
        else:
            report.still_waiting += 1
    return report
