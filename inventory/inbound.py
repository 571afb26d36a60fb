"""Stock expected in: units on their way to a location that are not on its shelf yet.

Inventory knows the transfers (approved or dispatched, not received). Other apps that owe
stock to a location register a source here (purchasing: the open quantities of purchase orders
sent to their suppliers), so a planner's position — on hand − reserved + inbound — counts them
without importing the app that knows them (inventory imports no app above it; allocation and
purchasing are siblings and import neither each other). Sources are registered in an app's
``AppConfig.ready``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection

from django.db.models import Sum

from .models import TransferLine, TransferStatus

# (location ids, product ids or None for every product) → {(product id, location id): units}
InboundSource = Callable[[Collection[int], Collection[int] | None], dict[tuple[int, int], int]]

_sources: dict[str, InboundSource] = {}


def register_inbound_source(name: str, source: InboundSource) -> None:
    """Count ``source`` in ``expected_inbound`` (once per ``name``: registering again
    replaces it)."""
    _sources[name] = source


def inbound_sources() -> list[str]:
    return ["transfers", *sorted(_sources)]


def transfers_inbound(
    location_ids: Collection[int], product_ids: Collection[int] | None = None
) -> dict[tuple[int, int], int]:
    """Units on approved or dispatched transfers to the locations, not yet received."""
    lines = TransferLine.objects.filter(
        transfer__destination_id__in=list(location_ids),
        transfer__status__in=(TransferStatus.APPROVED, TransferStatus.DISPATCHED),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    rows = lines.values("product_id", "transfer__destination_id").annotate(total=Sum("quantity"))
    return {(r["product_id"], r["transfer__destination_id"]): r["total"] for r in rows}


def expected_inbound(
    *, location_ids: Collection[int], product_ids: Collection[int] | None = None
) -> dict[tuple[int, int], int]:
    """(product id, location id) → units expected in at the locations: inbound transfers plus
    every registered source (open purchase orders)."""
    total: dict[tuple[int, int], int] = defaultdict(int)
    sources: list[InboundSource] = [transfers_inbound]
    sources += [_sources[name] for name in sorted(_sources)]
    for source in sources:
        for key, units in source(location_ids, product_ids).items():
            total[key] += units
    return dict(total)
