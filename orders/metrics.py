"""Order gauges read at scrape time (``omni.metrics.scrape_collector``). The counters of orders
placed, refused and parked are in ``omni.metrics``, counted by ``orders.services.placing``."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, DecimalField, F, Sum
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from .models import Order, OrderLine


def waiting_queue() -> Iterator[Metric]:
    length = GaugeMetricFamily(
        "omni_waiting_orders",
        "Orders in the waiting queue (parked or backordered), by channel.",
        labels=["channel"],
    )
    value = GaugeMetricFamily(
        "omni_waiting_orders_value",
        "Value of the orders in the waiting queue (quantity × unit price of their lines), "
        "by channel.",
        labels=["channel"],
    )
    waiting = Order.objects.filter(waiting_since__isnull=False)
    for row in waiting.values("channel__code").annotate(n=Count("id")).order_by("channel__code"):
        length.add_metric([row["channel__code"]], row["n"])
    worth = (
        OrderLine.objects.filter(order__waiting_since__isnull=False)
        .values("order__channel__code")
        .annotate(
            v=Sum(F("quantity") * F("unit_price"), output_field=DecimalField(decimal_places=2))
        )
        .order_by("order__channel__code")
    )
    for row in worth:
        value.add_metric([row["order__channel__code"]], float(row["v"] or 0))
    yield length
    yield value
