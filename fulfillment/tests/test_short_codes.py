"""Short pickup codes: six digits issued with every pickup code, kept only as a keyed hash,
handed over with the order number or the phone's last four digits, once, and limited per store
so they cannot be guessed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from fulfillment import services, short_codes
from fulfillment.errors import (
    PickupCodeExpired,
    PickupCodeUsed,
    PickupCodeWrongStore,
    PickupShortCodeInvalid,
    PickupShortCodesPaused,
    PickupShortCodeWrong,
)
from fulfillment.models import Notification, PickupAttempt, PickupCode
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockMove
from network.models import Channel
from omni.models import User
from orders.models import Order, OrderStatus
from orders.services import LineIn, order_place
from tests.factories import ReceiptFactory
from tests.helpers import ApiClient, level

from .fixtures import pickup_ready


@pytest.fixture
def ready(web: Channel, store: Location, goods: tuple[Product, Product]) -> PickupCode:
    ReceiptFactory.create(location=store, lines={"A": 5})
    order, _ = order_place(
        channel=web,
        external_id="web-77",
        mode="pickup",
        store=store,
        customer_phone="13800001234",
        lines=[LineIn(product=goods[0], quantity=2)],
    )
    return pickup_ready(order)


def wrong(digits: str) -> str:
    return str((int(digits) + 1) % short_codes.SPACE).zfill(6)


@pytest.fixture
def store_limit(settings: Any) -> Iterator[None]:
    settings.RATELIMIT_ENABLE = True
    settings.OMNI_PICKUP_SHORT_CODE_STORE_RATE = "3/h"
    cache.clear()
    yield
    cache.clear()


def test_a_short_code_is_issued_hashed_shown_and_told_to_the_customer(ready: PickupCode) -> None:
    digits = services.pickup_short_code(ready)
    assert len(digits) == 6 and digits.isdigit()
    assert services.pickup_short_code(ready) == digits  # drawn again, the same
    ready.refresh_from_db()
    assert digits not in ready.short_code_hash and len(ready.short_code_hash) == 64
    note = Notification.objects.get(kind="ready_for_pickup")
    assert short_codes.spaced(digits) in note.body and f"order number {ready.order_id}" in note.body


def test_hand_over_by_short_code_with_the_order_number_or_the_phone(
    ready: PickupCode, store: Location, goods: tuple[Product, Product]
) -> None:
    digits = services.pickup_short_code(ready)
    with pytest.raises(PickupShortCodeWrong):
        services.pickup_redeem_short_code(short_code=wrong(digits), store=store, phone_last4="1234")
    with pytest.raises(PickupShortCodeWrong):  # right digits, someone else's phone
        services.pickup_redeem_short_code(short_code=digits, store=store, phone_last4="9999")
    assert level(store, goods[0]) == (5, 2)  # nothing moved
    spaced = f" {digits[:3]}-{digits[3:]} "  # as people type it
    order = services.pickup_redeem_short_code(short_code=spaced, store=store, phone_last4="1234")
    assert (order.status, order.payment_status) == (OrderStatus.COMPLETED, "paid")
    assert level(store, goods[0]) == (3, 0)
    assert StockMove.objects.get(reason="pickup").quantity == 2
    # The code is used, by either path.
    with pytest.raises(PickupCodeUsed):
        services.pickup_redeem_short_code(short_code=digits, store=store, order=str(order.pk))
    with pytest.raises(PickupCodeUsed):
        services.pickup_redeem(token=services.pickup_token(ready), store=store)
    attempts = list(PickupAttempt.objects.order_by("id").values_list("result", "method"))
    assert attempts == [
        ("pickup_short_code_wrong", "short_code"),
        ("pickup_short_code_wrong", "short_code"),
        ("redeemed", "short_code"),
        ("pickup_code_used", "short_code"),
        ("pickup_code_used", "qr"),
    ]
    # The log never keeps the digits.
    assert not PickupAttempt.objects.filter(token_excerpt__contains=digits).exists()
    assert_invariants()


def test_the_channels_order_number_works_too(ready: PickupCode, store: Location) -> None:
    digits = services.pickup_short_code(ready)
    order = services.pickup_redeem_short_code(short_code=digits, store=store, order="web-77")
    assert order.pk == ready.order_id and order.status == OrderStatus.COMPLETED


@pytest.mark.parametrize(
    ("short_code", "order", "phone", "field"),
    [
        ("12345", "1", "", "short_code"),
        ("12345a", "1", "", "short_code"),
        ("１２３４５６", "1", "", "short_code"),  # full-width digits are not ASCII digits
        ("123456", "", "", "which"),
        ("123456", "1", "1234", "which"),
        ("123456", "", "123", "phone_last4"),
        ("123456", "x" * 65, "", "order"),
    ],
)
def test_badly_typed_input_is_refused_with_what_to_fix(
    ready: PickupCode, store: Location, short_code: str, order: str, phone: str, field: str
) -> None:
    with pytest.raises(PickupShortCodeInvalid) as refused:
        services.pickup_redeem_short_code(
            short_code=short_code, store=store, order=order, phone_last4=phone
        )
    assert refused.value.detail == {"field": field}
    assert Order.objects.get(pk=ready.order_id).status == OrderStatus.READY_FOR_PICKUP


def test_the_right_code_at_another_store_or_too_late_says_so(
    ready: PickupCode, store2: Location
) -> None:
    digits = services.pickup_short_code(ready)
    with pytest.raises(PickupCodeWrongStore):
        services.pickup_redeem_short_code(
            short_code=digits, store=store2, order=str(ready.order_id)
        )
    PickupCode.objects.filter(pk=ready.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(PickupCodeExpired):
        services.pickup_redeem_short_code(
            short_code=digits, store=ready.store, order=str(ready.order_id)
        )


def test_a_code_issued_before_short_codes_has_none(ready: PickupCode, store: Location) -> None:
    digits = services.pickup_short_code(ready)
    PickupCode.objects.filter(pk=ready.pk).update(short_code_hash="")
    ready.refresh_from_db()
    assert services.pickup_short_code(ready) == ""
    with pytest.raises(PickupShortCodeWrong):
        services.pickup_redeem_short_code(short_code=digits, store=store, order=str(ready.order_id))


def test_wrong_short_codes_pause_short_codes_at_the_store_but_not_qr(
    store_limit: None, ready: PickupCode, store: Location, store2: Location
) -> None:
    digits = services.pickup_short_code(ready)
    order = str(ready.order_id)
    for _ in range(3):
        with pytest.raises(PickupShortCodeWrong):
            services.pickup_redeem_short_code(short_code=wrong(digits), store=store, order=order)
    # Even the right code is refused now, at this store, for everyone ...
    with pytest.raises(PickupShortCodesPaused) as paused:
        services.pickup_redeem_short_code(short_code=digits, store=store, order=order)
    assert paused.value.http_status == 429 and 0 < paused.value.retry_after <= 3600
    assert "Scan the customer's QR code" in paused.value.message
    # ... while another store's count is its own,
    with pytest.raises(PickupShortCodeWrong):
        services.pickup_redeem_short_code(short_code=wrong(digits), store=store2, order=order)
    # and the QR code still hands over here.
    handed = services.pickup_redeem(token=services.pickup_token(ready), store=store)
    assert handed.status == OrderStatus.COMPLETED
    results = list(PickupAttempt.objects.filter(store=store).values_list("result", flat=True))
    assert results.count("pickup_short_codes_paused") == 1


def test_good_short_codes_do_not_use_up_the_store_limit(
    store_limit: None, web: Channel, store: Location, goods: tuple[Product, Product]
) -> None:
    ReceiptFactory.create(location=store, lines={"A": 10})
    for n in range(5):  # more than the limit of 3, all good
        order, _ = order_place(
            channel=web,
            external_id=f"ok-{n}",
            mode="pickup",
            store=store,
            customer_phone="13800001234",
            lines=[LineIn(product=goods[0], quantity=1)],
        )
        code = pickup_ready(order)
        digits = services.pickup_short_code(code)
        services.pickup_redeem_short_code(short_code=digits, store=store, order=str(order.pk))
    assert Order.objects.filter(status=OrderStatus.COMPLETED).count() == 5


def test_the_api_hands_over_by_short_code_with_typed_errors(
    ready: PickupCode, store: Location, store_user: User
) -> None:
    store_api = ApiClient(store_user)
    shown = store_api.get(f"/api/v1/orders/{ready.order_id}/pickup-code")
    digits = shown.json()["short_code"]
    assert digits == services.pickup_short_code(ready)
    url = "/api/v1/pickup/redeem-short-code"
    bad = store_api.post(url, {"store": "S01", "short_code": wrong(digits), "phone_last4": "1234"})
    assert bad.status_code == 422 and bad.json()["code"] == "pickup_short_code_wrong"
    both = store_api.post(
        url, {"store": "S01", "short_code": digits, "order": "1", "phone_last4": "1234"}
    )
    assert both.status_code == 422 and both.json()["code"] == "pickup_short_code_invalid"
    assert both.json()["detail"] == {"field": "which"}
    good = store_api.post(url, {"store": "S01", "short_code": digits, "phone_last4": "1234"})
    assert good.status_code == 200
    assert good.json() == {"order_id": ready.order_id, "status": "completed", "store": "S01"}
    again = store_api.post(url, {"store": "S01", "short_code": digits, "phone_last4": "1234"})
    # Handed over: no ready pickup for that phone any more, the same answer as a wrong code.
    assert again.status_code == 422 and again.json()["code"] == "pickup_short_code_wrong"
    used = store_api.post(url, {"store": "S01", "short_code": digits, "order": "web-77"})
    assert used.status_code == 409 and used.json()["code"] == "pickup_code_used"


def test_the_api_says_when_short_codes_are_paused_at_the_store(
    store_limit: None, ready: PickupCode, store_user: User
) -> None:
    clerk = ApiClient(store_user)
    digits = services.pickup_short_code(ready)
    body = {"store": "S01", "short_code": wrong(digits), "order": str(ready.order_id)}
    for _ in range(3):
        assert clerk.post("/api/v1/pickup/redeem-short-code", body).status_code == 422
    paused = clerk.post("/api/v1/pickup/redeem-short-code", {**body, "short_code": digits})
    assert paused.status_code == 429 and int(paused["Retry-After"]) > 0
    assert paused.json()["code"] == "pickup_short_codes_paused"
    assert paused.json()["detail"]["store"] == "S01"
    assert Order.objects.get(pk=ready.order_id).status == OrderStatus.READY_FOR_PICKUP
