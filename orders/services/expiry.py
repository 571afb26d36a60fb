"""Unpaid holds that expire."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import adjusters
from ..adjusters import OrderEvent
from ..capacity import capacity_release
from ..models import (
    OPEN_STATUSES,
    Order,
    OrderStatus,
    PaymentStatus,
)
from .changes import _release_holds

# --------------------------------------------------------------------------- expiry


def orders_expire_unpaid(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Expire unpaid orders whose hold ran out and give their stock back, batch after batch
    until none is due. Safe to run twice at once: an order changes status in one conditional
    UPDATE, and only the run whose UPDATE changed it releases its holds.

    Each order is its own transaction, ``durable`` for the reason ``order_lines_resource``
    gives: the batch must be the outermost transaction."""
    now = now or timezone.now()
    due = Q(
        payment_status=PaymentStatus.UNPAID,
        status__in=OPEN_STATUSES,
        hold_expires_at__lte=now,
    )
    expired = 0
    while True:
        ids = list(
            Order.objects.filter(due)
            .order_by("hold_expires_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        won_this_batch = 0
        for order_id in ids:
            with transaction.atomic(durable=True):
                won = Order.objects.filter(due, pk=order_id).update(
                    status=OrderStatus.EXPIRED, waiting_since=None, updated_at=now
                )
                if not won:
                    continue
                adjusters.order_event(
                    order=Order.objects.get(pk=order_id), event=OrderEvent.EXPIRED
                )
                _release_holds(Order(pk=order_id), reason="unpaid hold expired", actor=None)
                capacity_release(order=Order(pk=order_id))
                won_this_batch += 1
        expired += won_this_batch
        if len(ids) < batch_size or not won_this_batch:
            return expired
