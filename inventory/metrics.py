"""Stock gauges read at scrape time (``omni.metrics.scrape_collector``)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from .models import Reservation, ReservationStatus


def holds_active() -> Iterator[Metric]:
    count = GaugeMetricFamily(
        "omni_holds_active", "Active reservations (holds) of stock, by location kind."
    )
    units = GaugeMetricFamily(
        "omni_held_units",
        "Units held by active reservations, by location kind.",
        labels=["location_kind"],
    )
    rows = (
        Reservation.objects.filter(status=ReservationStatus.ACTIVE)
        .values("location__kind")
        .annotate(n=Count("id"), q=Sum("quantity"))
        .order_by("location__kind")
    )
    total = 0
    for row in rows:
        total += row["n"]
        units.add_metric([row["location__kind"]], row["q"] or 0)
    count.add_metric([], total)
    yield count
    yield units
