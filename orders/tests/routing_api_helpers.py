"""What the routing API tests share: paths, a planner's and the web channel's clients, the goods,
an order body and the reading of where an order is held."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inventory.models import Product
from network.models import (
    Channel,
)
from omni.models import User
from tests.factories import (
    ProductFactory,
)
from tests.helpers import ApiClient

API = "/api/v1"
ORDERS = f"{API}/orders"
PROFILES = f"{API}/routing/profiles"
NEAR_DC = {"address": "by the DC", "latitude": 30.18, "longitude": 120.26}

Api = Callable[[User | None], ApiClient]


def put(client: ApiClient, path: str, body: Any = None, *, raw: str | None = None) -> Any:
    data = raw if raw is not None else json.dumps(body)
    return client.client.put(
        path, data=data, content_type="application/json", headers=client.headers
    )


def error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"code", "message", "detail"}, body
    return response.status_code, body["code"]


@pytest.fixture(name="goods")
def goods_fixture(db: Any) -> list[Product]:
    return [ProductFactory.create(sku="A", price=10), ProductFactory.create(sku="B", price=4)]


@pytest.fixture(name="planner_api")
def planner_api_fixture(planner: User, api: Api) -> ApiClient:
    return api(planner)


@pytest.fixture(name="web_api")
def web_api_fixture(web: Channel, api: Api) -> ApiClient:
    assert web.user is not None
    return api(web.user)


def order_body(ext: str, lines: dict[str, int], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": ext,
        "mode": "delivery",
        "delivery": NEAR_DC,
        "lines": [{"sku": sku, "quantity": q, "unit_price": 10} for sku, q in lines.items()],
    }
    body.update(over)
    return body


def held_at(order: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in order["lines"]:
        for a in line["allocations"]:
            if a["status"] == "active":
                out[a["location"]] = out.get(a["location"], 0) + a["quantity"]
    return out


def activate_parking_profile(client: ApiClient, rules: list[Any] | None = None) -> int:
    created = client.post(
        PROFILES, {"channel": "web", "rules": rules or ["keep_together"], "when_short": "park"}
    )
    assert created.status_code == 201, created.json()
    profile_id: int = created.json()["id"]
    assert client.post(f"{PROFILES}/{profile_id}/activate").status_code == 200
    return profile_id


def bad_rules(rules: Any) -> dict[str, Any]:
    return {"channel": "web", "rules": rules}
