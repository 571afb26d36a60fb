"""Scans of a batch pick task under real contention on PostgreSQL.

A handheld's queue may send one scan twice (the answer was lost, the page retried) while the
first is still in flight: the same scan id from several connections at once must count one
unit. Two different scans of one item at once (two pickers on one list, or a scanner faster
than the network) must both count. Both queue on the pick list's lock; the unique scan id
backs up the first. A short pick racing scans on the same task leaves the task, its lines and
the ledger consistent. The ledger invariants are checked after every round (and by the
folder's conftest)."""

from __future__ import annotations

import uuid
from collections import Counter
from itertools import pairwise

import pytest
from django.db import DatabaseError

from fulfillment import services
from fulfillment.models import PickLine, PickList, PickScan, PickTask, PickTaskStatus
from inventory.invariants import assert_invariants
from inventory.models import Location, Product
from inventory.services import transfer_approve, transfer_create
from network.models import Channel
from omni.errors import ApplicationError
from tests.factories import (
    NEAR_DC,
    HomeBinFactory,
    OrderFactory,
    ProductFactory,
    ReceiptFactory,
)

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


@pytest.fixture
def floor(web: Channel, dc: Location, store: Location) -> dict[str, object]:
    tea = ProductFactory.create(sku="TEA", barcode="6900000000017")
    HomeBinFactory.create(location=dc, product=tea, code="A-01-1", sequence=1)
    ReceiptFactory.create(location=dc, lines={tea: 500})
    return {"dc": dc, "store": store, "web": web, "tea": tea}


def wave_of(dc: Location, store: Location, web: Channel, tea: Product, orders: int) -> PickList:
    """Orders of 2 units each and a transfer of 3: one task of TEA over several totes."""
    for _ in range(orders):
        OrderFactory.create(channel=web, lines={tea: 2}, delivery=NEAR_DC, paid=True)
    transfer_approve(transfer=transfer_create(source=dc, destination=store, lines=[(tea, 3)]))
    return services.pick_wave_create(location=dc)


def scan(pick_list_id: int, scan_id: uuid.UUID) -> str:
    try:
        outcome = services.pick_task_scan(
            pick_list=PickList.objects.get(pk=pick_list_id), scan_id=scan_id, scanned="TEA"
        )
    except ApplicationError as exc:
        return str(exc.code)
    except DatabaseError as exc:  # a deadlock, a unique violation escaping: never acceptable
        return f"database error: {exc!r}"
    return "replayed" if outcome.replayed else "picked"


def assert_consistent(pick_list: PickList) -> None:
    """Task, lines and counters agree with the scans booked."""
    pick_list.refresh_from_db()
    task = PickTask.objects.get(pick_list=pick_list)
    lines = list(PickLine.objects.filter(task=task).order_by("tote"))
    credited = sum(PickScan.objects.filter(pick_list=pick_list).values_list("credited", flat=True))
    assert task.picked == sum(ln.picked for ln in lines) == pick_list.units_picked
    picked_so_far = [ln.picked for ln in lines]
    # Totes fill in order: no tote has units while an earlier one still waits for some.
    for earlier, later in pairwise(lines):
        assert earlier.picked == earlier.quantity or later.picked == 0, picked_so_far
    if task.status == PickTaskStatus.OPEN:
        assert credited == task.picked
    assert_invariants()


def test_one_scan_sent_from_many_connections_at_once_counts_once(
    floor: dict[str, object],
) -> None:
    pick_list = wave_of(floor["dc"], floor["store"], floor["web"], floor["tea"], orders=5)  # type: ignore[arg-type]
    for _ in range(5):
        scan_id = uuid.uuid4()
        before = PickList.objects.get(pk=pick_list.pk).units_picked

        def send(_thread: int, sid: uuid.UUID = scan_id) -> str:
            return scan(pick_list.pk, sid)

        results = run_together(send, threads=THREADS)
        assert not [r for r in results if r.startswith("database error")], results
        assert Counter(results) == {"picked": 1, "replayed": THREADS - 1}, results
        assert PickScan.objects.filter(scan_id=scan_id).count() == 1
        assert PickList.objects.get(pk=pick_list.pk).units_picked == before + 1
        assert_consistent(pick_list)


def test_different_scans_racing_on_one_task_are_all_counted(floor: dict[str, object]) -> None:
    pick_list = wave_of(floor["dc"], floor["store"], floor["web"], floor["tea"], orders=4)  # type: ignore[arg-type]
    wanted = pick_list.units_total  # 4 × 2 + 3 = 11
    assert wanted == 11
    rounds = 0
    while PickList.objects.get(pk=pick_list.pk).units_picked < wanted - THREADS:
        results = run_together(lambda _i: scan(pick_list.pk, uuid.uuid4()), threads=THREADS)
        assert results == ["picked"] * THREADS, results
        rounds += 1
        assert_consistent(pick_list)
    assert rounds == 1
    # The last units: more scans than units left; the extra ones are refused, none lost.
    left = wanted - PickList.objects.get(pk=pick_list.pk).units_picked
    results = run_together(lambda _i: scan(pick_list.pk, uuid.uuid4()), threads=THREADS)
    assert Counter(results) == {"picked": left, "pick_list_done": THREADS - left}, results
    pick_list.refresh_from_db()
    assert pick_list.units_picked == wanted and pick_list.status == "done"
    assert_consistent(pick_list)


def test_a_short_racing_scans_on_its_task_leaves_task_lines_and_ledger_consistent(
    floor: dict[str, object],
) -> None:
    dc, tea = floor["dc"], floor["tea"]
    pick_list = wave_of(dc, floor["store"], floor["web"], tea, orders=3)  # type: ignore[arg-type]
    task = PickTask.objects.get(pick_list=pick_list)

    def work(i: int) -> str:
        if i == 0:
            try:
                services.pick_task_short(task=PickTask.objects.get(pk=task.pk), found=4)
            except ApplicationError as exc:
                return f"short: {exc.code}"
            except DatabaseError as exc:
                return f"database error: {exc!r}"
            return "short"
        return scan(pick_list.pk, uuid.uuid4())

    results = run_together(work, threads=THREADS)
    assert not [r for r in results if r.startswith("database error")], results
    task.refresh_from_db()
    pick_list.refresh_from_db()
    picked_scans = results.count("picked")
    if results[0] == "short":
        # The short found 4 in all: scans before it count inside those 4, scans after it
        # find the list done.
        assert task.status == PickTaskStatus.SHORT and task.picked == 4
        assert set(results[1:]) <= {"picked", "pick_list_done"}, results
        assert picked_scans <= 4
    else:  # the scans came first and took more than 4: the short is refused as invalid
        assert results[0] == "short: validation_error", results
        assert task.picked == picked_scans > 4
    assert pick_list.units_picked == task.picked
    assert_consistent(pick_list)
    assert_invariants()
