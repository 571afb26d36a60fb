"""The valuation API: figures scoped to the caller's locations, bad periods named, receipts
with unit costs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from inventory.models import ProductCost, Receipt
from tests.factories import PlannerFactory
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(dc, store, store2, product):
    services.stock_receive(location=dc, lines=[(product, 10)], unit_costs={product.pk: "2"})
    services.stock_receive(location=store, lines=[(product, 5)], unit_costs={product.pk: "2"})
    services.stock_receive(location=store2, lines=[(product, 1)], unit_costs={product.pk: "2"})


def test_a_planner_sees_every_location_a_clerk_their_own(stocked, store_user, dc, store):
    planner = ApiClient(PlannerFactory.create())
    rows = planner.get("/api/v1/valuation/stock").json()["items"]
    assert [(r["code"], r["units"], r["value"]) for r in rows] == [
        (dc.code, 10, "20.00"),
        (store.code, 5, "10.00"),
        ("S02", 1, "2.00"),
    ]
    clerk = ApiClient(store_user)
    assert [r["code"] for r in clerk.get("/api/v1/valuation/stock").json()["items"]] == ["S01"]
    turnover = clerk.get("/api/v1/valuation/turnover", grain="city").json()["items"]
    assert len(turnover) == 1 and turnover[0]["stock_value"] == "10.00"
    skus = planner.get("/api/v1/valuation/turnover", grain="sku", days=7).json()
    assert skus["count"] == 1 and skus["items"][0]["key"] == "SKU-1"
    assert skus["items"][0]["stock_value"] == "32.00"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-01-10", "end": "2026-01-01"}, "end"),
        ({"start": "2026-01-10"}, "end"),
        ({"end": "2026-01-10"}, "start"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "end"),
        ({"city": "nowhere"}, "city"),
    ],
)
def test_a_bad_period_or_city_names_the_field(stocked, params, field):
    response = ApiClient(PlannerFactory.create()).get("/api/v1/valuation/turnover", **params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error" and body["detail"]["field"] == field


def test_unknown_grain_is_refused(stocked):
    response = ApiClient(PlannerFactory.create()).get("/api/v1/valuation/turnover", grain="x")
    assert response.status_code == 422


def test_receipt_with_unit_costs_through_the_api(warehouse_user, dc, product):
    client = ApiClient(warehouse_user)
    body = {"location": dc.code, "lines": [{"sku": product.sku, "quantity": 4, "unit_cost": 2.5}]}
    response = client.post("/api/v1/receipts", body, key="r-1")
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["unit_cost"] == "2.5000"
    assert ProductCost.objects.get(product=product).average_cost == Decimal("2.5")
    bad = {"location": dc.code, "lines": [{"sku": product.sku, "quantity": 4, "unit_cost": -1}]}
    response = client.post("/api/v1/receipts", bad, key="r-2")
    assert response.status_code == 422 and Receipt.objects.count() == 1
