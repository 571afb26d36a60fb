"""Limits on guessing: failed logins lock a user name out from an address (django-axes, staff
login and admin alike), refused pickup codes are limited per user (API and counter page share
the count). The suite runs with both off (root conftest); these tests switch them on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from fulfillment import services
from fulfillment.tests.fixtures import pickup_ready
from inventory.models import Location, Product
from network.models import Channel
from omni.models import User
from tests.factories import PickupOrderFactory, ReceiptFactory
from tests.helpers import ApiClient, client_for, text

BAD_CODE = "OMNI1.bm90LWEtY29kZQ.bm8tc2lnbmF0dXJl"


@pytest.fixture
def limits_on(settings: Any) -> Iterator[None]:
    settings.AXES_ENABLED = True
    settings.RATELIMIT_ENABLE = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.OMNI_PICKUP_REDEEM_FAILURES_RATE = "10/m"
    cache.clear()  # this process's memory (no REDIS_URL in the unit suite)
    yield
    cache.clear()


def staff_login(client: Client, username: str, password: str, ip: str = "10.0.0.7") -> Any:
    return client.post(
        "/staff/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_staff_login_locks_out_after_five_failures(limits_on: None, store_user: User) -> None:
    client = Client()
    for _ in range(4):
        wrong = staff_login(client, "clerk1", "not-it")
        assert wrong.status_code == 200  # the form again, with its error
        assert "correct username and password" in text(wrong)
    locked = staff_login(client, "clerk1", "not-it")
    assert locked.status_code == 429
    page = text(locked)
    assert "Too many failed log-in attempts" in page and "15 minutes" in page
    assert locked["Retry-After"] == "900"
    # Now even the right password is refused from that address ...
    assert staff_login(client, "clerk1", "pw-clerk1").status_code == 429
    # ... while the same user from another address, and another user, still sign in.
    elsewhere = staff_login(Client(), "clerk1", "pw-clerk1", ip="10.0.0.8")
    assert (elsewhere.status_code, elsewhere["Location"]) == (302, "/staff/")


def test_a_good_login_resets_the_count(limits_on: None, store_user: User) -> None:
    client = Client()
    for _ in range(4):
        assert staff_login(client, "clerk1", "not-it").status_code == 200
    assert staff_login(client, "clerk1", "pw-clerk1").status_code == 302
    client.logout()
    for _ in range(4):
        assert staff_login(client, "clerk1", "not-it").status_code == 200


def test_admin_login_locks_out_too(limits_on: None, admin_user: User) -> None:
    client = Client()
    responses = [
        client.post(
            "/admin/login/?next=/admin/",
            {"username": "boss", "password": "wrong", "next": "/admin/"},
            REMOTE_ADDR="10.0.0.9",
        )
        for _ in range(6)
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429, 429]
    response = responses[-1]
    assert "Too many failed log-in attempts" in text(response)


def test_refused_pickup_codes_are_limited_with_429(
    limits_on: None,
    api: Callable[[User | None], ApiClient],
    store: Location,
    store_user: User,
    store2_user: User,
) -> None:
    clerk = api(store_user)
    for _ in range(10):
        refused = clerk.post("/api/v1/pickup/redeem", {"code": BAD_CODE, "store": "S01"})
        assert refused.status_code in (400, 422), refused.content
        assert refused.json()["code"].startswith("pickup_code")
    limited = clerk.post("/api/v1/pickup/redeem", {"code": BAD_CODE, "store": "S01"})
    assert limited.status_code == 429
    body = limited.json()
    assert body["code"] == "rate_limited"
    assert set(body) == {"code", "message", "detail"}
    assert body["detail"]["limit"] == "10/m"
    assert 1 <= body["detail"]["retry_after"] <= 60
    assert limited["Retry-After"] == str(body["detail"]["retry_after"])
    # An Idempotency-Key does not freeze the 429: the same request is answered anew.
    keyed = clerk.post("/api/v1/pickup/redeem", {"code": BAD_CODE, "store": "S01"}, key="k-429")
    assert keyed.status_code == 429 and keyed.get("Idempotent-Replayed") != "true"
    # The counter page of the same clerk shares the count ...
    page = client_for(store_user).post("/staff/pickups/handover/", {"code": BAD_CODE})
    assert page.status_code == 429
    assert "Too many refused tries. Wait" in text(page)  # the code only in data-result
    assert page["Retry-After"].isdigit()
    # ... and another clerk has a count of their own.
    other = api(store2_user).post("/api/v1/pickup/redeem", {"code": BAD_CODE, "store": "S02"})
    assert other.status_code in (400, 422)


def test_good_codes_never_count(
    limits_on: None,
    settings: Any,
    api: Callable[[User | None], ApiClient],
    web: Channel,
    store: Location,
    store_user: User,
    goods: tuple[Product, Product],
) -> None:
    """Only refusals count: with a limit of one refusal a minute, a clerk hands over two good
    pickups, then one bad code uses the limit up."""
    settings.OMNI_PICKUP_REDEEM_FAILURES_RATE = "1/m"
    ReceiptFactory.create(location=store, lines={"A": 5})
    tokens = []
    for n in range(2):
        order = PickupOrderFactory.create(
            channel=web, external_id=f"g{n}", store=store, lines={goods[0]: 1}
        )
        tokens.append(services.pickup_token(pickup_ready(order)))
    clerk = api(store_user)
    for token in tokens:
        assert (
            clerk.post("/api/v1/pickup/redeem", {"code": token, "store": "S01"}).status_code == 200
        )
    refused = clerk.post("/api/v1/pickup/redeem", {"code": BAD_CODE, "store": "S01"})
    assert refused.status_code in (400, 422)
    again = clerk.post("/api/v1/pickup/redeem", {"code": BAD_CODE, "store": "S01"})
    assert (again.status_code, again.json()["code"]) == (429, "rate_limited")
