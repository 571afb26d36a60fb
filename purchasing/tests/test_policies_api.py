"""The reorder policies API: classify, list with filters, a planner's override, revert; planners
and admins only; bad input answered with a code, a message and the field, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from inventory.models import Location
from omni.models import City, User
from purchasing.models import ReorderPolicy
from purchasing.tests.fixtures import PolicySkus
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db

Api = Callable[[User | None], ApiClient]
POLICIES = "/api/v1/purchasing/policies"


def put(client: ApiClient, path: str, body: Any) -> Any:
    return client.client.put(
        path, data=body, content_type="application/json", headers=client.headers
    )


def test_classify_list_override_and_revert(
    api: Api, planner: User, city: City, dc: Location, policy_skus: PolicySkus
) -> None:
    client = api(planner)
    done = client.post(f"{POLICIES}/classify", {"city": city.code})
    assert done.status_code == 200, done.json()
    assert done.json()["locations"] == ["DC1"]
    assert done.json()["created"] == 4 and done.json()["kept"] == 0
    assert done.json()["counts"]["AX"] == 1 and done.json()["counts"]["CZ"] == 2

    listed = client.get(POLICIES, location="DC1", abc="C").json()["results"]
    assert sorted(row["sku"] for row in listed) == ["CL-LOW", "CL-NONE"]
    low = next(row for row in listed if row["sku"] == "CL-LOW")
    assert low["xyz_class"] == "Z" and low["kind"] == "min_max"
    assert low["suggested"] == {"kind": "min_max", "service_level": None}
    assert low["overridden"] is False and low["set_by"] is None
    assert [r["sku"] for r in client.get(POLICIES, xyz="Y").json()["results"]] == ["CL-MID"]
    assert [r["sku"] for r in client.get(POLICIES, sku="CL-HIGH").json()["results"]] == ["CL-HIGH"]
    assert len(client.get(POLICIES, kind="min_max").json()["results"]) == 2

    changed = put(
        client,
        f"{POLICIES}/DC1/CL-HIGH",
        {"kind": "min_max", "min_quantity": 50, "max_quantity": 120, "note": "promotion"},
    )
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["kind"], body["min_quantity"], body["max_quantity"]) == ("min_max", 50, 120)
    assert body["overridden"] is True and body["set_by"] == planner.get_username()
    assert body["abc_class"] == "A"  # its class stays: the page shows what it overrides
    mine = client.get(POLICIES, overridden="true").json()["results"]
    assert [r["sku"] for r in mine] == ["CL-HIGH"]

    again = client.post(f"{POLICIES}/classify", {"location": "DC1"}).json()
    assert (again["updated"], again["kept"]) == (3, 1)
    assert ReorderPolicy.objects.get(product=policy_skus.high).min_quantity == 50

    back = client.post(f"{POLICIES}/DC1/CL-HIGH/revert")
    assert back.status_code == 200, back.json()
    assert (back.json()["kind"], back.json()["service_level"]) == ("service_level", "0.9700")
    assert back.json()["overridden"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "lucky"}, "kind"),
        ({"kind": "min_max", "min_quantity": 5, "max_quantity": 2}, "max_quantity"),
        ({"kind": "min_max", "min_quantity": -1, "max_quantity": 2}, "min_quantity"),
        ({"kind": "min_max", "max_quantity": 2}, "min_quantity"),
        ({"kind": "service_level", "service_level": 1.5}, "service_level"),
        ({"kind": "service_level"}, "service_level"),
        ({"kind": "service_level", "service_level": 0.9, "review_days": -3}, "review_days"),
    ],
)
def test_a_bad_policy_names_the_field_and_changes_nothing(
    api: Api, planner: User, dc: Location, policy_skus: PolicySkus, body: Any, field: str
) -> None:
    answer = put(api(planner), f"{POLICIES}/DC1/CL-HIGH", body)
    assert answer.status_code == 422, answer.json()
    assert answer.json()["code"] == "reorder_policy_invalid"
    assert answer.json()["detail"]["field"] == field
    assert not ReorderPolicy.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/classify", {}, 422, "policy_classification_invalid"),
        ("post", "/classify", {"city": "nowhere"}, 404, "unknown_city"),
        ("post", "/classify", {"location": "NOPE"}, 404, "unknown_location"),
        ("post", "/classify", {"city": "x" * 40}, 422, "validation_error"),
        ("post", "/DC1/CL-HIGH/revert", None, 404, "not_found"),
        ("post", "/DC1/NOPE/revert", None, 404, "unknown_product"),
        ("put", "/NOPE/CL-HIGH", {"kind": "min_max"}, 404, "unknown_location"),
        ("put", "/DC1/CL-HIGH", {"kind": "min_max", "min_quantity": "many"}, 422, None),
        ("get", "?abc=Q", None, 422, "validation_error"),
        ("get", "?location=NOPE", None, 404, "unknown_location"),
        ("get", "?cursor=garbage", None, 422, "validation_error"),
    ],
)
def test_bad_requests_get_a_code_and_a_message_never_a_500(
    api: Api,
    planner: User,
    dc: Location,
    policy_skus: PolicySkus,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str | None,
) -> None:
    client = api(planner)
    if method == "get":
        answer = client.client.get(POLICIES + path, headers=client.headers)
    elif method == "put":
        answer = put(client, POLICIES + path, body)
    else:
        answer = client.post(POLICIES + path, body)
    assert answer.status_code == status, answer.json()
    assert {"code", "message", "detail"} <= set(answer.json())
    if code is not None:
        assert answer.json()["code"] == code


def test_revert_before_classifying_is_a_conflict(
    api: Api, planner: User, dc: Location, policy_skus: PolicySkus
) -> None:
    client = api(planner)
    put(client, f"{POLICIES}/DC1/CL-HIGH", {"kind": "service_level", "service_level": 0.9})
    answer = client.post(f"{POLICIES}/DC1/CL-HIGH/revert")
    assert answer.status_code == 409
    assert answer.json()["code"] == "reorder_policy_not_classified"


@pytest.mark.parametrize("who", ["store_user", "warehouse_user", None])
def test_only_planners_and_admins(
    api: Api, request: pytest.FixtureRequest, dc: Location, policy_skus: PolicySkus, who: str | None
) -> None:
    user = request.getfixturevalue(who) if who else None
    client = api(user)
    expected = 401 if user is None else 403
    assert client.get(POLICIES).status_code == expected
    assert client.post(f"{POLICIES}/classify", {"location": "DC1"}).status_code == expected
    assert put(client, f"{POLICIES}/DC1/CL-HIGH", {"kind": "min_max"}).status_code == expected
    assert not ReorderPolicy.objects.exists()


def test_an_admin_classifies_too(
    api: Api, admin_user: User, dc: Location, policy_skus: PolicySkus
) -> None:
    answer = api(admin_user).post(f"{POLICIES}/classify", {"location": "DC1"})
    assert answer.status_code == 200 and answer.json()["created"] == 4
