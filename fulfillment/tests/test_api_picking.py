"""Bounded waves, batch picking and bins through the HTTP API, the way a handheld drives them:
plan a wave and make it with limits, read the current stop, scan with a scan id (the same id
again answers the same, a refusal included), report a stop short; lay out bins and move a
SKU's home bin. Setup goes through the services; what is under test goes through ``/api/v1``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fulfillment.models import PickList, PickScan
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockDiscrepancy
from network.models import Channel
from omni.models import User
from tests.factories import (
    NEAR_DC,
    HomeBinFactory,
    OrderFactory,
    ProductFactory,
    ReceiptFactory,
    WarehouseUserFactory,
)

V1 = "/api/v1"


def data(response: Any) -> Any:
    return json.loads(response.content)


def test_a_handheld_plans_makes_and_picks_a_bounded_wave(
    api: Any, web: Channel, dc: Location, goods: tuple[Product, Product], warehouse_user: User
) -> None:
    a, b = goods
    HomeBinFactory.create(location=dc, product=a, code="A-03-2", sequence=2)
    HomeBinFactory.create(location=dc, product=b, code="A-01-1", sequence=1)
    ReceiptFactory.create(location=dc, lines={"A": 50, "B": 50})
    orders = [
        OrderFactory.create(channel=web, lines={a: 2, b: 1}, delivery=NEAR_DC, paid=True)
        for _ in range(3)
    ]
    wh = api(warehouse_user)

    plan = wh.post(f"{V1}/pick-lists/plan", {"location": "DC1", "max_orders": 2})
    assert plan.status_code == 200, plan.content
    body = data(plan)
    assert [e["id"] for e in body["taken"]] == [orders[0].pk, orders[1].pk]
    assert (body["lines"], body["units"], body["waiting_count"], body["waiting_units"]) == (
        4,
        6,
        1,
        3,
    )
    assert (body["max_orders"], body["max_lines"], body["max_units"]) == (2, 120, 400)
    assert not PickList.objects.exists()  # a plan writes nothing

    made = wh.post(f"{V1}/pick-lists", {"location": "DC1", "max_orders": 2})
    assert made.status_code == 201, made.content
    wave = data(made)
    assert (wave["orders_count"], wave["lines_count"], wave["tasks_total"]) == (2, 4, 2)
    assert {ln["tote"] for ln in wave["lines"]} == {1, 2}
    pick_list = wave["id"]

    progress = data(wh.get(f"{V1}/pick-lists/{pick_list}/progress"))
    current = progress["current"]
    assert (current["sku"], current["bin"], current["quantity"]) == ("B", "A-01-1", 2)
    assert progress["next"]["sku"] == "A" and progress["next"]["bin"] == "A-03-2"
    assert [(t["tote"], t["quantity"]) for t in progress["totes"]] == [(1, 1), (2, 1)]

    scan_id = str(uuid.uuid4())
    first = wh.post(f"{V1}/pick-lists/{pick_list}/scans", {"scan_id": scan_id, "scan": "B"})
    again = wh.post(f"{V1}/pick-lists/{pick_list}/scans", {"scan_id": scan_id, "scan": "B"})
    assert first.status_code == again.status_code == 200, first.content
    assert data(first)["scan"] == data(again)["scan"]
    assert (data(first)["replayed"], data(again)["replayed"]) == (False, True)
    assert data(again)["progress"]["pick_list"]["units_picked"] == 1

    wrong_id = str(uuid.uuid4())
    wrong = wh.post(f"{V1}/pick-lists/{pick_list}/scans", {"scan_id": wrong_id, "scan": "A"})
    assert wrong.status_code == 422 and data(wrong)["code"] == "wrong_item"
    assert data(wrong)["detail"]["expected"] == "B"
    wh.post(f"{V1}/pick-lists/{pick_list}/scans", {"scan_id": str(uuid.uuid4()), "scan": "B"})
    # B is done and A is current now: the wrong scan sent again still gets its own answer.
    replay = wh.post(f"{V1}/pick-lists/{pick_list}/scans", {"scan_id": wrong_id, "scan": "A"})
    assert (replay.status_code, data(replay)) == (422, data(wrong))
    assert PickScan.objects.filter(pick_list_id=pick_list).count() == 3

    progress = data(wh.get(f"{V1}/pick-lists/{pick_list}/progress"))
    task_a = progress["current"]
    assert task_a["sku"] == "A" and progress["next"] is None
    short = wh.post(f"{V1}/pick-lists/{pick_list}/tasks/{task_a['id']}/short", {"found": 3})
    assert short.status_code == 200, short.content
    after = data(short)
    assert after["current"] is None and after["pick_list"]["status"] == "done"
    assert after["pick_list"]["units_picked"] == 5
    assert StockDiscrepancy.objects.filter(product=a, location=dc).exists()
    tasks = data(wh.get(f"{V1}/pick-lists/{pick_list}/tasks"))["results"]
    assert [(t["sku"], t["status"], t["picked"]) for t in tasks] == [
        ("B", "picked", 2),
        ("A", "short", 3),
    ]
    assert_invariants()


def test_scans_and_tasks_of_another_location_are_unknown(
    api: Any, web: Channel, dc: Location, store: Location, goods: tuple[Product, Product]
) -> None:
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 5})
    OrderFactory.create(channel=web, lines={a: 1}, delivery=NEAR_DC, paid=True)
    wh = api(WarehouseUserFactory.create(username="dc-picker", locations=[dc]))
    other = api(WarehouseUserFactory.create(username="store-clerk", locations=[store]))
    pick_list = data(wh.post(f"{V1}/pick-lists", {"location": "DC1"}))["id"]
    task = data(wh.get(f"{V1}/pick-lists/{pick_list}/progress"))["current"]["id"]
    body = {"scan_id": str(uuid.uuid4()), "scan": "A"}
    assert other.post(f"{V1}/pick-lists/{pick_list}/scans", body).status_code == 404
    assert other.get(f"{V1}/pick-lists/{pick_list}/progress").status_code == 404
    refused = other.post(f"{V1}/pick-lists/{pick_list}/tasks/{task}/short", {"found": 0})
    assert refused.status_code == 404
    bad = wh.post(f"{V1}/pick-lists/{pick_list}/scans", {"scan_id": "not-a-uuid", "scan": "A"})
    assert bad.status_code == 422 and data(bad)["code"] == "validation_error"
    assert not PickScan.objects.exists()


def test_staff_lay_out_bins_and_move_a_home_bin(
    api: Any, dc: Location, store: Location, warehouse_user: User
) -> None:
    tea = ProductFactory.create(sku="TEA")
    wh = api(warehouse_user)
    for sequence, code in enumerate(["A-01-1", "A-01-2", "B-01-1"], start=1):
        made = wh.post(
            f"{V1}/locations/DC1/bins",
            {"code": code, "sequence": sequence * 10, "zone": code[0], "aisle": 1, "level": 1},
        )
        assert made.status_code == 200, made.content
    clash = wh.post(f"{V1}/locations/DC1/bins", {"code": "C-01-1", "sequence": 20})
    assert clash.status_code == 409 and data(clash)["code"] == "bin_taken"
    bins = data(wh.get(f"{V1}/locations/DC1/bins"))["results"]
    assert [(b["code"], b["sequence"]) for b in bins] == [
        ("A-01-1", 10),
        ("A-01-2", 20),
        ("B-01-1", 30),
    ]

    home = wh.post(f"{V1}/locations/DC1/home-bins", {"sku": "TEA", "bin": "A-01-2"})
    assert home.status_code == 200 and data(home)["bin"] == "A-01-2"
    moved = wh.post(f"{V1}/locations/DC1/home-bins", {"sku": "TEA", "bin": "B-01-1"})
    assert data(moved)["bin"] == "B-01-1"
    homes = data(wh.get(f"{V1}/locations/DC1/home-bins?sku=TEA"))["results"]
    assert [(h["sku"], h["bin"], h["sequence"]) for h in homes] == [("TEA", "B-01-1", 30)]
    missing = wh.post(f"{V1}/locations/DC1/home-bins", {"sku": "TEA", "bin": "Z-99"})
    assert missing.status_code == 404
    assert wh.post(f"{V1}/locations/S01/bins", {"code": "A", "sequence": 1}).status_code == 404
    assert tea.home_bins.count() == 1
