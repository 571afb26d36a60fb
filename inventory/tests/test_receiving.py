"""Receiving by scanning: drafts in the database, scans counted once by their id, finishing
with a reason for every difference, and the count tasks a difference opens at the source."""

from __future__ import annotations

import pytest

from inventory.errors import NotOnDocument, ReceivingClosed, ReceivingReasonMissing
from inventory.invariants import assert_invariants
from inventory.models import (
    DiscrepancyCause,
    DiscrepancyStatus,
    MoveReason,
    ReceivingDraftStatus,
    StockDiscrepancy,
    StockMove,
    Transfer,
    TransferStatus,
)
from inventory.selectors import count_tasks, receiving_lines
from inventory.services import (
    LineReason,
    ReceivedLine,
    receiving_discard,
    receiving_finish,
    receiving_line_set,
    receiving_open_supplier,
    receiving_open_transfer,
    receiving_scan,
    stock_count,
    stock_receive,
    transfer_approve,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from omni.errors import InvalidInput
from tests.factories import ProductFactory
from tests.helpers import level

pytestmark = pytest.mark.django_db


@pytest.fixture
def arriving(dc, store, product, product2) -> Transfer:
    stock_receive(location=dc, lines=[(product, 10), (product2, 10)])
    transfer = transfer_create(source=dc, destination=store, lines=[(product, 6), (product2, 3)])
    return transfer_dispatch(transfer=transfer_approve(transfer=transfer))


def test_counts_start_at_zero_and_each_scan_id_counts_once(store, product, product2, arriving):
    draft = receiving_open_transfer(transfer=arriving, location=store)
    assert [(ln.expected, ln.counted) for ln in receiving_lines(draft)] == [(6, 0), (3, 0)]
    first = receiving_scan(draft=draft, scan_id="s1", product=product)
    again = receiving_scan(draft=draft, scan_id="s1", product=product)  # a retried request
    receiving_scan(draft=draft, scan_id="s2", product=product, quantity=4)
    assert (first.counted, first.repeated) == (1, False)
    assert (again.counted, again.repeated) == (1, True)
    assert [ln.counted for ln in receiving_lines(draft)] == [5, 0]
    assert not StockMove.objects.filter(reference=arriving.ledger_reference, to_location=store)


def test_a_second_opening_continues_the_same_draft(store, product, arriving, store_user):
    draft = receiving_open_transfer(transfer=arriving, location=store, actor=store_user)
    receiving_scan(draft=draft, scan_id="a", product=product)
    again = receiving_open_transfer(transfer=arriving, location=store)  # another login
    assert again.pk == draft.pk and receiving_lines(again)[0].counted == 1


def test_an_item_not_on_the_transfer_is_refused_and_counts_nothing(store, arriving):
    stranger = ProductFactory.create(sku="OTHER-1")
    draft = receiving_open_transfer(transfer=arriving, location=store)
    with pytest.raises(NotOnDocument) as refused:
        receiving_scan(draft=draft, scan_id="x", product=stranger)
    assert refused.value.detail == {"sku": "OTHER-1", "transfer": arriving.pk}
    assert all(ln.counted == 0 for ln in receiving_lines(draft))


def test_finishing_with_a_difference_needs_a_reason_for_every_such_line(
    dc, store, product, product2, arriving
):
    draft = receiving_open_transfer(transfer=arriving, location=store)
    receiving_scan(draft=draft, scan_id="a", product=product, quantity=4)
    with pytest.raises(ReceivingReasonMissing) as refused:
        receiving_finish(draft=draft)
    assert [ln["sku"] for ln in refused.value.detail["lines"]] == [product.sku, product2.sku]
    arriving.refresh_from_db()
    assert arriving.status == TransferStatus.DISPATCHED and level(store, product) == (0, 0)


def test_a_short_line_is_booked_as_counted_and_opens_a_count_task_at_the_source(
    dc, store, product, product2, arriving
):
    draft = receiving_open_transfer(transfer=arriving, location=store)
    receiving_scan(draft=draft, scan_id="a", product=product, quantity=4)
    receiving_scan(draft=draft, scan_id="b", product=product2, quantity=3)
    receiving_finish(
        draft=draft, reasons={product.pk: LineReason(cause="short_in_transit", note="box torn")}
    )
    arriving.refresh_from_db()
    draft.refresh_from_db()
    assert arriving.status == TransferStatus.RECEIVED
    assert draft.status == ReceivingDraftStatus.FINISHED
    assert level(store, product) == (4, 0) and level(store, product2) == (3, 0)
    line = arriving.lines.get(product=product)
    assert (line.received_quantity, line.discrepancy_cause, line.discrepancy_reason) == (
        4,
        "short_in_transit",
        "box torn",
    )
    loss = StockMove.objects.get(reference=arriving.ledger_reference, reason=MoveReason.ADJUSTMENT)
    assert loss.quantity == 2 and "box torn" in loss.note
    task = count_tasks(dc).get()
    assert (task.product, task.cause, task.move) == (product, DiscrepancyCause.TRANSFER_SHORT, loss)
    assert not count_tasks(store).exists()
    assert_invariants()


def test_damaged_units_go_to_scrap_without_a_count_task(dc, store, product, product2, arriving):
    transfer_receive(
        transfer=arriving,
        lines=[ReceivedLine(product=product, received=5, cause="damaged")],
    )
    scrap = StockMove.objects.get(reference=arriving.ledger_reference, reason=MoveReason.SCRAP)
    assert scrap.quantity == 1 and scrap.to_location.kind == "scrap"
    assert not StockDiscrepancy.objects.exists()
    assert_invariants()


def test_over_receipt_is_booked_as_counted_with_a_reason(dc, store, product, product2, arriving):
    draft = receiving_open_transfer(transfer=arriving, location=store)
    receiving_scan(draft=draft, scan_id="a", product=product, quantity=7)
    receiving_scan(draft=draft, scan_id="b", product=product2, quantity=3)
    with pytest.raises(InvalidInput):  # "damaged" explains fewer, never more
        receiving_finish(draft=draft, reasons={product.pk: LineReason(cause="damaged")})
    receiving_finish(draft=draft, reasons={product.pk: LineReason(cause="over_shipped")})
    assert level(store, product) == (7, 0)
    task = count_tasks(dc).get()
    assert task.cause == DiscrepancyCause.TRANSFER_OVER
    assert_invariants()


def test_a_finished_draft_takes_no_more_scans_and_cannot_be_booked_twice(
    store, product, product2, arriving
):
    draft = receiving_open_transfer(transfer=arriving, location=store)
    receiving_scan(draft=draft, scan_id="a", product=product, quantity=6)
    receiving_scan(draft=draft, scan_id="b", product=product2, quantity=3)
    receiving_finish(draft=draft)
    with pytest.raises(ReceivingClosed):
        receiving_scan(draft=draft, scan_id="c", product=product)
    with pytest.raises(ReceivingClosed):
        receiving_finish(draft=draft)
    assert StockMove.objects.filter(reason=MoveReason.TRANSFER_IN).count() == 2
    assert level(store, product) == (6, 0)


def test_receiving_the_transfer_elsewhere_closes_its_draft(store, product, arriving):
    draft = receiving_open_transfer(transfer=arriving, location=store)
    transfer_receive(transfer=arriving)  # e.g. through the API
    draft.refresh_from_db()
    assert draft.status == ReceivingDraftStatus.FINISHED
    with pytest.raises(ReceivingClosed):
        receiving_scan(draft=draft, scan_id="a", product=product)


def test_a_line_can_be_recounted_from_zero(store, product, arriving):
    draft = receiving_open_transfer(transfer=arriving, location=store)
    receiving_scan(draft=draft, scan_id="a", product=product, quantity=9)
    receiving_line_set(draft=draft, scan_id="r", product=product, counted=0)
    receiving_line_set(draft=draft, scan_id="r", product=product, counted=0)  # double click
    receiving_scan(draft=draft, scan_id="b", product=product, quantity=6)
    assert receiving_lines(draft)[0].counted == 6


def test_a_supplier_delivery_receives_what_was_scanned(store, product, product2):
    draft = receiving_open_supplier(location=store, supplier="ACME", supplier_reference="DN-7")
    receiving_scan(draft=draft, scan_id="1", product=product2, quantity=2)
    receiving_scan(draft=draft, scan_id="2", product=product)
    receiving_scan(draft=draft, scan_id="2", product=product)
    assert [(ln.product, ln.counted) for ln in receiving_lines(draft)] == [
        (product2, 2),
        (product, 1),
    ]
    finished = receiving_finish(draft=draft)
    assert finished.receipt is not None and finished.receipt.supplier == "ACME"
    assert level(store, product) == (1, 0) and level(store, product2) == (2, 0)
    assert_invariants()


def test_an_empty_or_discarded_supplier_delivery_books_nothing(store, product):
    draft = receiving_open_supplier(location=store, supplier="ACME")
    with pytest.raises(InvalidInput):
        receiving_finish(draft=draft)
    receiving_scan(draft=draft, scan_id="1", product=product)
    receiving_discard(draft=draft)
    assert not StockMove.objects.exists()
    with pytest.raises(InvalidInput):
        receiving_open_supplier(location=store, supplier="  ")


def test_counting_a_flagged_sku_closes_its_tasks(dc, store, product, product2, arriving):
    transfer_receive(
        transfer=arriving, lines=[ReceivedLine(product=product, received=4, reason="missing")]
    )
    task = count_tasks(dc).get()
    count = stock_count(location=dc, lines=[(product2, 7)])
    assert count_tasks(dc).get() == task  # another SKU's count leaves it open
    count = stock_count(location=dc, lines=[(product, 4)])
    task.refresh_from_db()
    assert task.status == DiscrepancyStatus.RESOLVED and task.resolved_by_count == count
    assert not count_tasks(dc).exists()


def test_the_api_takes_a_cause_per_line(api, store, product, product2, arriving, store_user):
    client = api(store_user)
    url = f"/api/v1/transfers/{arriving.pk}/receive"
    wrong = client.post(url, {"lines": [{"sku": "SKU-1", "received": 7, "cause": "damaged"}]})
    assert wrong.status_code == 422 and wrong.json()["detail"]["field"] == "cause"
    unknown = client.post(url, {"lines": [{"sku": "SKU-1", "received": 5, "cause": "stolen"}]})
    assert unknown.status_code == 422
    done = client.post(url, {"lines": [{"sku": "SKU-1", "received": 5, "cause": "damaged"}]})
    assert done.status_code == 200, done.json()
    line = next(ln for ln in done.json()["lines"] if ln["sku"] == "SKU-1")
    assert (line["received_quantity"], line["discrepancy_cause"]) == (5, "damaged")
    assert StockMove.objects.get(reason=MoveReason.SCRAP).quantity == 1
    assert level(store, product) == (5, 0)
