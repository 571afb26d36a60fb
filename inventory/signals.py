"""Stock becoming available, announced after commit, for whoever waits for it.

Inventory knows no orders: it only says "units of these products came free at these
locations" (goods in, a transfer received, a return restocked, a count gain, a hold released or
expired). ``orders`` listens and routes its waiting orders again. The signal is sent only once
the transaction that freed the stock has committed, so a listener always sees the stock.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# Sent with ``pairs``: a frozenset of (location id, product id).
stock_available = Signal()


def announce_available(pairs: Iterable[tuple[int, int]]) -> None:
    """Send ``stock_available`` for ``pairs`` once the current transaction commits."""
    frozen = frozenset(pairs)
    if frozen:
        transaction.on_commit(
            lambda: stock_available.send(sender=announce_available, pairs=frozen), robust=True
        )
