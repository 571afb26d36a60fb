"""Health and readiness, /metrics, request ids in JSON log lines."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from inventory.models import Location, Product
from network.models import Channel
from omni.logs import OmniJsonFormatter, RequestIdFilter
from omni.models import User
from tests.factories import ReceiptFactory
from tests.helpers import ApiClient

TOKEN = "scrape-secret-0123456789"
NEAR_DC = {"address": "by the DC", "latitude": 30.18, "longitude": 120.26}


def order_body(ext: str, lines: dict[str, int]) -> dict[str, Any]:
    return {
        "external_id": ext,
        "mode": "delivery",
        "delivery": NEAR_DC,
        "lines": [{"sku": sku, "quantity": q, "unit_price": 10} for sku, q in lines.items()],
    }


# --------------------------------------------------------------------------- health


def test_liveness_answers_without_login(client: Client) -> None:
    response = client.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readiness_on_one_machine_checks_only_the_database(client: Client) -> None:
    assert not settings.REDIS_URL, "the unit suite runs without a broker"
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


# --------------------------------------------------------------------------- metrics


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_metrics_need_the_token(client: Client, settings: Any) -> None:
    settings.OMNI_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404  # off unless a token is set
    settings.OMNI_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert b"omni_" not in wrong.content


def test_metrics_count_an_order_placed_and_show_the_gauges(
    client: Client,
    settings: Any,
    api: Callable[[User | None], ApiClient],
    web: Channel,
    dc: Location,
    product: Product,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.OMNI_METRICS_TOKEN = TOKEN
    ReceiptFactory.create(location=dc, lines={product: 5})
    channel = api(web.user)
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        placed = channel.post("/api/v1/orders", order_body("m1", {product.sku: 2}))
    assert placed.status_code == 201, placed.content
    after = scrape(client)
    placed_now = value(after, "omni_orders_placed_total", channel=web.code, mode="delivery")
    placed_then = value(before, "omni_orders_placed_total", channel=web.code, mode="delivery")
    assert placed_now == placed_then + 1
    assert value(after, "omni_holds_active") == value(before, "omni_holds_active") + 1
    assert value(after, "omni_held_units", location_kind="warehouse") == 2

    # More than there is: refused, counted as refused and not as placed.
    with django_capture_on_commit_callbacks(execute=True):
        refused = channel.post("/api/v1/orders", order_body("m2", {product.sku: 50}))
    assert refused.status_code == 409, refused.content
    last = scrape(client)
    assert value(last, "omni_orders_refused_total", channel=web.code, mode="delivery") == (
        value(after, "omni_orders_refused_total", channel=web.code, mode="delivery") + 1
    )
    assert value(last, "omni_orders_placed_total", channel=web.code, mode="delivery") == (
        placed_now
    )
    # The gauges read from the database are there even when there is nothing to count.
    names = {name for name, _ in last}
    assert {
        "omni_holds_active",
        "omni_http_requests_total",
        "omni_http_request_duration_seconds_count",
    } <= names
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    for family in (
        "omni_waiting_orders",
        "omni_waiting_orders_value",
        "omni_forecast_runs",
        "omni_allocation_runs",
        "omni_task_duration_seconds",
        "omni_orders_parked_total",
    ):
        assert f"# TYPE {family} " in text, family
    posted = value(
        last, "omni_http_requests_total", method="POST", route="api/v1/orders", status="201"
    )
    assert posted >= 1


def test_counters_add_up_over_processes(tmp_path: Path) -> None:
    """Two processes (two gunicorn workers, say) count into one multiprocess directory; a
    scrape from a third sees the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from omni import metrics; metrics.ORDERS_PLACED.labels('web', 'pickup').inc(%d)"
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", count % n], env=env, check=True, timeout=120)
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from omni import metrics; "
            "sys.stdout.write(metrics.exposition(with_database=False).decode())",
        ],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    ).stdout
    assert 'omni_orders_placed_total{channel="web",mode="pickup"} 5.0' in shown


# --------------------------------------------------------------------------- request ids


@pytest.fixture
def json_lines() -> Iterator[list[dict[str, Any]]]:
    """The JSON lines the production formatter writes for every record of the project."""
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect()
    handler.setFormatter(OmniJsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lines
    root.removeHandler(handler)


@pytest.mark.django_db
def test_request_id_is_returned_and_on_the_request_log_line(
    client: Client, json_lines: list[dict[str, Any]]
) -> None:
    response = client.get("/health/live", headers={"X-Request-ID": "req-42.abc"})
    assert response["X-Request-ID"] == "req-42.abc"
    (line,) = [ln for ln in json_lines if ln["name"] == "omni.request"]
    assert line["request_id"] == "req-42.abc"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/health/live", 200)
    assert line["level"] == "INFO" and "time" in line

    # None sent, or one that could forge log lines: a fresh one is made.
    for sent in (None, "bad id\n{}", "x" * 200):
        headers = {"X-Request-ID": sent} if sent else {}
        made = client.get("/health/live", headers=headers)["X-Request-ID"]
        assert made != sent and len(made) == 32 and made.isalnum()
