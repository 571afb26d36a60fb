"""Prometheus metrics: what the processes count, what the database says at scrape time, and the
``/metrics`` page that shows both.

Counters and histograms live in ``prometheus_client``. With several processes behind one
address (gunicorn workers, a prefork Celery worker) set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory per machine and per kind of server before they start: each process then writes
its values to its own files there and a scrape sums them over every process, living or gone, so
no count is lost or shows one process only. Without it (one process: ``make demo``, the tests)
the process's own registry is shown.

Gauges of the business's state (holds, the waiting queue, forecast and allocation runs) are not
counted anywhere: each app registers a function with ``scrape_collector`` that reads the
database when ``/metrics`` is scraped, so every web process answers the same and restarts lose
nothing. Only the web's ``/metrics`` shows them; a Celery worker's exporter shows its tasks.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

HTTP_REQUESTS = Counter(
    "omni_http_requests_total",
    "HTTP requests answered, by method, URL pattern and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "omni_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL pattern.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ORDERS_PLACED = Counter(
    "omni_orders_placed_total",
    "Orders taken (created, once per channel and external id), by channel and mode.",
    ["channel", "mode"],
)
ORDERS_REFUSED = Counter(
    "omni_orders_refused_total",
    "Orders refused because the stock the rules allow could not fill them, by channel.",
    ["channel", "mode"],
)
ORDERS_PARKED = Counter(
    "omni_orders_parked_total",
    "Orders taken that wait for stock (parked or backordered when placed), by channel.",
    ["channel", "mode"],
)
TASK_DURATION = Histogram(
    "omni_task_duration_seconds",
    "Run time of Celery tasks, by task name and outcome.",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600),
)
TASK_FAILURES = Counter(
    "omni_task_failures_total", "Celery tasks that raised, by task name.", ["task"]
)
TASK_RETRIES = Counter(
    "omni_task_retries_total", "Celery tasks that asked to be retried, by task name.", ["task"]
)

ScrapeFunction = Callable[[], Iterable[Metric]]
_scrape_functions: list[ScrapeFunction] = []


def scrape_collector(function: ScrapeFunction) -> ScrapeFunction:
    """Register a function that yields metric families read from the database at scrape
    time (apps call it from their ``ready``; registering twice is harmless)."""
    if function not in _scrape_functions:
        _scrape_functions.append(function)
    return function


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for function in _scrape_functions:
            yield from function()


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition(*, with_database: bool) -> bytes:
    """The text a scrape gets: every process's counters (summed over the processes sharing
    ``PROMETHEUS_MULTIPROC_DIR`` when set) and, on the web, the database's gauges."""
    parts = []
    if multiprocess_dir():
        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed)
        parts.append(generate_latest(summed))
    else:
        parts.append(generate_latest(REGISTRY))
    if with_database:
        database = CollectorRegistry(auto_describe=False)
        database.register(DatabaseCollector())
        parts.append(generate_latest(database))
    return b"".join(parts)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics`` with ``Authorization: Bearer <OMNI_METRICS_TOKEN>``. Without the
    setting the page does not exist (404): nothing is shown to anyone by default."""
    token = settings.OMNI_METRICS_TOKEN
    if not token:
        raise Http404("metrics are off: set OMNI_METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("send Authorization: Bearer <token>\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(with_database=True), content_type=CONTENT_TYPE_LATEST)


def worker_exporter_start(port: int, address: str) -> Any:
    """Serve a Celery worker machine's task metrics on ``address:port`` (started once, in the
    worker's main process, before it forks its pool): Prometheus scrapes each worker machine
    there, from the networks allowed to reach that port."""
    from prometheus_client import start_http_server

    registry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return start_http_server(port, addr=address, registry=registry)


def gunicorn_child_exit(server: Any, worker: Any) -> None:
    """For gunicorn's ``child_exit`` hook: a dead worker's gauges stop counting (its counters
    stay in the sums)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(worker.pid)


def run_families(name: str, what: str, runs: Any) -> Iterator[Metric]:
    """For a model of background runs (``status``, ``started_at``, ``finished_at``): how many
    are in each status, and how long the latest finished one took. ``runs`` is its manager."""
    from django.db.models import Count
    from prometheus_client.core import GaugeMetricFamily

    by_status = GaugeMetricFamily(
        f"omni_{name}_runs", f"{what} runs, by status.", labels=["status"]
    )
    for row in runs.values("status").annotate(n=Count("id")).order_by("status"):
        by_status.add_metric([row["status"]], row["n"])
    yield by_status
    latest = (
        runs.filter(started_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values("status", "started_at", "finished_at")
        .first()
    )
    duration = GaugeMetricFamily(
        f"omni_{name}_run_last_duration_seconds",
        f"How long the latest finished {what.lower()} run took, by its status.",
        labels=["status"],
    )
    if latest is not None:
        seconds = (latest["finished_at"] - latest["started_at"]).total_seconds()
        duration.add_metric([latest["status"]], seconds)
    yield duration
