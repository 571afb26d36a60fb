"""Every list of the API at its largest page over about a thousand rows, on the database the
suite runs on (SQLite by default; the same test runs on PostgreSQL with ``DATABASE_URL``).

A page must answer 200 with a full page, in a number of queries that does not grow with the
page (no query per row) and without a query whose size grows with it: Django 5.2 prefetches a
forward key with one ``OR`` per key on SQLite, and SQLite refuses an expression of more than
1,000 terms (``GET /orders?page_size=500`` was a 500 once a channel had ~700 orders).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forecasting.models import ForecastRun, ForecastSeries, RunStatus
from fulfillment.models import PickLine, PickList
from inventory import services as stock
from inventory.models import Location, LocationKind, Product
from inventory.services import ReserveLine
from network.models import Channel, ConfigChange, RoutingProfile
from omni.models import City, User
from purchasing.models import ReorderPolicy
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

ROWS = 1_000
PAGE = 500  # the largest page of every list
ORDERS = PAGE + 20  # two lines each: over a thousand holds on a full page
# A query may name a handful of things with OR (a scope, a filter); never one per row.
MAX_ORS = 20


@pytest.fixture
def crowd(
    city: City, dc: Location, store: Location, web: Channel, admin_user: User
) -> dict[str, Any]:
    """About a thousand rows behind every list."""
    products = Product.objects.bulk_create(
        Product(sku=f"P{i:04}", name=f"Product {i}", price=1) for i in range(ROWS)
    )
    Location.objects.bulk_create(
        Location(code=f"X{i:04}", name=f"Store {i}", kind=LocationKind.STORE, city=city)
        for i in range(ROWS)
    )
    stock.stock_receive(location=dc, lines=[(p, 100) for p in products])  # ROWS moves, levels
    stock.stock_reserve_many(
        lines=[ReserveLine(product=p, location=dc, quantity=1) for p in products],
        owner_type="manual",
        owner_id="crowd",
    )
    transfers = []
    for i in range(ROWS):  # two lines each, so a page names every product
        pair = (products[i], products[(i + PAGE) % ROWS])
        transfers.append(
            stock.transfer_create(source=dc, destination=store, lines=[(p, 1) for p in pair])
        )
    stock.stock_receive(location=dc, lines=[(products[0], ORDERS), (products[1], ORDERS)])
    for _ in range(ORDERS):
        OrderFactory.create(channel=web, lines={products[0]: 1, products[1]: 1})
    pick_lists = PickList.objects.bulk_create(PickList(location=dc) for _ in range(ROWS))
    PickLine.objects.bulk_create(
        PickLine(pick_list=pick_list, product=line.product, quantity=1, transfer=transfer)
        for pick_list, transfer in zip(pick_lists, transfers, strict=True)
        for line in transfer.lines.all()
    )
    RoutingProfile.objects.bulk_create(
        RoutingProfile(channel=web, version=i + 1, rules=["keep_together"]) for i in range(ROWS)
    )
    ConfigChange.objects.bulk_create(
        ConfigChange(source="api", kind="capacity", target=f"S01/{i}") for i in range(ROWS)
    )
    runs = ForecastRun.objects.bulk_create(
        ForecastRun(city=city, scope=city.code, status=RunStatus.SUCCEEDED, horizon=7)
        for _ in range(ROWS)
    )
    ForecastSeries.objects.bulk_create(
        ForecastSeries(
            run=runs[-1],
            product=product,
            location=dc,
            start=date(2030, 1, 1),
            values=[1.0] * 7,
            quantiles={},
        )
        for product in products
    )
    ReorderPolicy.objects.bulk_create(
        ReorderPolicy(
            product=p, location=dc, kind="service_level", service_level=0.95, set_by=admin_user
        )
        for p in products
    )
    return {"run": runs[-1].pk}


LISTS = [
    "/products",
    "/locations",
    "/stock-levels",
    "/moves",
    "/reservations",
    "/transfers",
    "/orders",
    "/pick-lists",
    "/routing/profiles",
    "/forecast-runs",
    "/forecast-runs/{run}/series",
    "/forecasts",
    "/purchasing/policies",
]


def fetch(client: Any, path: str, size: int) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1" + path, page_size=size)
    return response, [q["sql"] for q in queries.captured_queries]


def test_every_list_at_its_largest_page(crowd: dict[str, Any], admin_user: User, api: Any) -> None:
    client = api(admin_user)
    client.get("/api/v1/products")  # the token's first use is written once, not per list
    failures = []
    for template in LISTS:
        path = template.format(**crowd)
        response, queries = fetch(client, path, PAGE)
        if response.status_code != 200:
            failures.append(f"{path}: {response.status_code} {response.content[:300]!r}")
            continue
        if len(response.json()["results"]) != PAGE:
            failures.append(f"{path}: {len(response.json()['results'])} rows, not {PAGE}")
        ors = max(sql.count(" OR ") for sql in queries)
        if ors > MAX_ORS:
            failures.append(f"{path}: a query with {ors} ORs")
        _, few = fetch(client, path, 5)
        if len(queries) != len(few):
            failures.append(f"{path}: {len(queries)} queries for {PAGE} rows, {len(few)} for 5")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("path", "limit"), [("/routing/changes", 500), ("/orders/waiting", 500)])
def test_limited_lists_at_their_largest(
    crowd: dict[str, Any], admin_user: User, api: Any, path: str, limit: int
) -> None:
    response = api(admin_user).get("/api/v1" + path, limit=limit)
    assert response.status_code == 200, response.content[:300]
