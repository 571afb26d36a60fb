"""A hypothesis state machine over the stock services, checked against a plain in-memory model.

Every rule calls one service (receive, reserve, reserve many, release, consume, count, expire,
and the transfer life cycle) and predicts its outcome from the model first: the service must
succeed exactly when the model says it should, and fail with exactly the error the model
expects otherwise (``InsufficientStock``, ``CountBelowReserved``, ``ReservationNotActive``,
``TransferInvalidState``), leaving the database untouched. After every step the database is
compared with the model — stock levels, every reservation, every transfer, the balances of the
virtual locations and the number of ledger rows — and ``inventory.invariants`` must hold.

Each example runs inside one transaction that is rolled back in ``teardown``: the ledger refuses
DELETE, so rolling back is the only way to start the next example clean. The tests that run the
machine are ``tests/test_stock_state_machine.py`` (SQLite) and
``tests/integration/test_stock_state_machine_pg.py`` (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from inventory import services
from inventory.errors import (
    CountBelowReserved,
    InsufficientStock,
    ReservationNotActive,
    TransferInvalidState,
)
from inventory.invariants import assert_invariants
from inventory.models import (
    LocationKind,
    MoveReason,
    Reservation,
    ReservationStatus,
    StockCountLine,
    StockLevel,
    StockMove,
    Transfer,
    TransferLine,
    TransferStatus,
)
from omni.errors import ApplicationError, InvalidInput
from tests.factories import CityFactory, DcFactory, ProductFactory, StoreFactory

T = TypeVar("T")

LOCATIONS = ("dc", "store")
SKUS = ("SM-A", "SM-B", "SM-C")
VIRTUAL = {
    services.VIRTUAL_LOCATION_CODES[LocationKind.SUPPLIER]: "supplier",
    services.VIRTUAL_LOCATION_CODES[LocationKind.CUSTOMER]: "customer",
    services.VIRTUAL_LOCATION_CODES[LocationKind.ADJUSTMENT]: "adjustment",
    services.VIRTUAL_LOCATION_CODES[LocationKind.TRANSIT]: "transit",
    services.VIRTUAL_LOCATION_CODES[LocationKind.SCRAP]: "scrap",
}

# The owner types of holds: the machine's own orders, and the holds transfers take.
ORDER = "order_line"
TRANSFER = "transfer_line"

TRANSFER_ACTIONS = ("approve", "dispatch", "receive", "cancel")
NEXT_STEP: dict[str, str] = {
    TransferStatus.DRAFT: "approve",
    TransferStatus.APPROVED: "dispatch",
    TransferStatus.DISPATCHED: "receive",
}
# How far an opening transfer gets: a draft, approved, dispatched.
OPENING_STAGES = ((), ("approve",), ("approve", "dispatch"))

locations = st.sampled_from(LOCATIONS)
skus = st.sampled_from(SKUS)
receipt_lines = st.lists(
    st.tuples(skus, st.integers(min_value=1, max_value=30)),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)
transfer_lines = st.lists(
    st.tuples(skus, st.integers(min_value=1, max_value=6)),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)
# Minutes from the machine's base time, small so that a hold expiring exactly at a sweep's
# ``now`` comes up often.
expiry_offsets = st.one_of(st.none(), st.integers(min_value=-5, max_value=5))


@dataclass
class Hold:
    sku: str
    location: str
    quantity: int
    owner_type: str
    expires_at: datetime | None
    status: str = ReservationStatus.ACTIVE


@dataclass
class TransferModel:
    source: str
    destination: str
    lines: dict[str, int]  # sku → quantity, in line order
    status: str = TransferStatus.DRAFT
    holds: dict[str, int] = field(default_factory=dict)  # sku → reservation id
    received: dict[str, int] = field(default_factory=dict)


def attempt(call: Callable[[], T]) -> tuple[T | None, ApplicationError | None]:
    """Run a service call; return its result or the application error it raised."""
    try:
        return call(), None
    except ApplicationError as err:
        return None, err


# Each outcome is named with hypothesis's ``event()``, so its statistics (or observability
# output) show how often every path ran, e.g. how many counts released holds.


def expect_error(
    err: ApplicationError | None, expected: type[ApplicationError], what: str
) -> ApplicationError:
    event(f"{what.split()[0]}: {expected.__name__}")
    assert err is not None, f"{what}: the model expected {expected.__name__}, the service succeeded"
    assert type(err) is expected, (
        f"{what}: the model expected {expected.__name__}, the service raised "
        f"{type(err).__name__}: {err.message}"
    )
    return err


def expect_success(result: T | None, err: ApplicationError | None, what: str) -> T:
    event(f"{what.split()[0]}: ok")
    assert err is None, (
        f"{what}: the model expected success, the service raised {type(err).__name__}: "
        f"{err.message}"
    )
    assert result is not None
    return result


class StockMachine(RuleBasedStateMachine):
    """Two physical locations (a DC and a store), three products, and a model of their stock."""

    def __init__(self) -> None:
        super().__init__()
        # One transaction per example, rolled back in teardown: a savepoint inside the test's
        # transaction under ``db``, the outermost transaction under ``transactional_db``.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        try:
            self._set_up()
        except BaseException:
            self.teardown()
            raise

    def _set_up(self) -> None:
        city = CityFactory.create(code="sm-city", name="SM City", latitude=30, longitude=120)
        self.locations = {
            "dc": DcFactory.create(code="SM-DC", name="SM DC", city=city),
            "store": StoreFactory.create(code="SM-S1", name="SM Store", city=city),
        }
        self.products = {sku: ProductFactory.create(sku=sku) for sku in SKUS}
        self.location_key = {loc.pk: key for key, loc in self.locations.items()}
        self.sku_of = {p.pk: sku for sku, p in self.products.items()}
        self.base = timezone.now().replace(microsecond=0)

        # The model.
        self.on_hand: dict[tuple[str, str], int] = {
            (loc, sku): 0 for loc in LOCATIONS for sku in SKUS
        }
        self.virtual: dict[tuple[str, str], int] = {
            (kind, sku): 0 for kind in VIRTUAL.values() for sku in SKUS
        }
        self.holds: dict[int, Hold] = {}
        self.transfers: dict[int, TransferModel] = {}
        self.moves = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # ------------------------------------------------------------------ model helpers

    def reserved(self, loc: str, sku: str) -> int:
        return sum(
            h.quantity
            for h in self.holds.values()
            if h.status == ReservationStatus.ACTIVE and h.location == loc and h.sku == sku
        )

    def available(self, loc: str, sku: str) -> int:
        return self.on_hand[(loc, sku)] - self.reserved(loc, sku)

    def key_order(self, loc: str, sku: str) -> tuple[int, int]:
        """The order the services lock and report stock levels in: (location id, product id)."""
        return (self.locations[loc].pk, self.products[sku].pk)

    def shortages(self, wanted: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
        """What a multi-line reservation reports as short, in the services' order."""
        return [
            {
                "sku": sku,
                "location": self.locations[loc].code,
                "requested": quantity,
                "available": self.available(loc, sku),
            }
            for (loc, sku), quantity in sorted(
                wanted.items(), key=lambda kv: self.key_order(*kv[0])
            )
            if self.available(loc, sku) < quantity
        ]

    def consume_hold(self, hold: Hold, quantity: int, to: str) -> None:
        self.on_hand[(hold.location, hold.sku)] -= quantity
        self.virtual[(to, hold.sku)] += quantity
        self.moves += 1

    def order_holds(self) -> list[int]:
        return sorted(i for i, h in self.holds.items() if h.owner_type == ORDER)

    def expires_at(self, offset: int | None) -> datetime | None:
        return None if offset is None else self.base + timedelta(minutes=offset)

    # ------------------------------------------------------------------ opening, receipts

    @initialize(
        stock=st.lists(
            st.integers(min_value=0, max_value=30),
            min_size=len(LOCATIONS) * len(SKUS),
            max_size=len(LOCATIONS) * len(SKUS),
        ),
        holds=st.lists(
            st.tuples(locations, skus, st.integers(min_value=1, max_value=5), expiry_offsets),
            max_size=4,
        ),
        transfers=st.lists(
            st.tuples(locations, transfer_lines, st.sampled_from(OPENING_STAGES)),
            min_size=1,
            max_size=3,
        ),
        data=st.data(),
    )
    def opening(
        self,
        stock: list[int],
        holds: list[tuple[str, str, int, int | None]],
        transfers: list[tuple[str, list[tuple[str, int]], tuple[str, ...]]],
        data: st.DataObject,
    ) -> None:
        """Start with stock on the shelves, some holds and some transfers under way, so that
        every example, however its rules are drawn, has something to count, release, expire,
        dispatch or receive. Built with the same checked steps as the rules."""
        for i, loc in enumerate(LOCATIONS):
            here = stock[i * len(SKUS) : (i + 1) * len(SKUS)]
            lines = [(sku, q) for sku, q in zip(SKUS, here, strict=True) if q]
            if lines:
                self.receive(loc, lines)
        for loc, sku, quantity, offset in holds:
            self.reserve(loc, sku, quantity, offset)
        for source, lines, stages in transfers:
            transfer_id = self._create_transfer(source, lines)
            for action in stages:
                model = self.transfers[transfer_id]
                transfer = Transfer.objects.get(pk=transfer_id)
                getattr(self, f"_transfer_{action}")(transfer, model, data)

    @rule(loc=locations, lines=receipt_lines)
    def receive(self, loc: str, lines: list[tuple[str, int]]) -> None:
        services.stock_receive(
            location=self.locations[loc],
            lines=[(self.products[sku], quantity) for sku, quantity in lines],
        )
        event("receipt: ok")
        for sku, quantity in lines:
            self.on_hand[(loc, sku)] += quantity
            self.virtual[("supplier", sku)] -= quantity
            self.moves += 1

    # ------------------------------------------------------------------ reservations

    @rule(
        loc=locations,
        sku=skus,
        quantity=st.integers(min_value=1, max_value=8),
        offset=expiry_offsets,
    )
    def reserve(self, loc: str, sku: str, quantity: int, offset: int | None) -> None:
        available = self.available(loc, sku)
        result, err = attempt(
            lambda: services.stock_reserve(
                product=self.products[sku],
                location=self.locations[loc],
                quantity=quantity,
                owner_type=ORDER,
                owner_id="single",
                expires_at=self.expires_at(offset),
            )
        )
        what = f"reserve {quantity} {sku}@{loc} (available {available})"
        if available < quantity:
            error = expect_error(err, InsufficientStock, what)
            assert error.detail["lines"] == [
                {
                    "sku": sku,
                    "location": self.locations[loc].code,
                    "requested": quantity,
                    "available": available,
                }
            ], error.detail
            return
        reservation = expect_success(result, err, what)
        assert (reservation.quantity, reservation.status) == (quantity, ReservationStatus.ACTIVE)
        self.holds[reservation.pk] = Hold(
            sku, loc, quantity, ORDER, expires_at=self.expires_at(offset)
        )

    @rule(
        lines=st.lists(
            st.tuples(locations, skus, st.integers(min_value=1, max_value=5)),
            min_size=1,
            max_size=3,
        ),
        offset=expiry_offsets,
    )
    def reserve_many(self, lines: list[tuple[str, str, int]], offset: int | None) -> None:
        wanted: dict[tuple[str, str], int] = {}
        for loc, sku, quantity in lines:
            wanted[(loc, sku)] = wanted.get((loc, sku), 0) + quantity
        short = self.shortages(wanted)
        result, err = attempt(
            lambda: services.stock_reserve_many(
                lines=[
                    services.ReserveLine(
                        product=self.products[sku], location=self.locations[loc], quantity=q
                    )
                    for loc, sku, q in lines
                ],
                owner_type=ORDER,
                owner_id="many",
                expires_at=self.expires_at(offset),
            )
        )
        what = f"reserve_many {lines}"
        if short:
            error = expect_error(err, InsufficientStock, what)
            assert error.detail["lines"] == short, (error.detail, short)
            return
        reservations = expect_success(result, err, what)
        assert len(reservations) == len(lines)
        for reservation, (loc, sku, quantity) in zip(reservations, lines, strict=True):
            assert reservation.pk is not None and reservation.pk not in self.holds
            self.holds[reservation.pk] = Hold(
                sku, loc, quantity, ORDER, expires_at=self.expires_at(offset)
            )

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        hold_id = self._pick_hold(data, sorted(self.holds))
        hold = self.holds[hold_id]
        reservation = Reservation.objects.get(pk=hold_id)
        result, err = attempt(lambda: services.reservation_release(reservation=reservation))
        what = f"release hold {hold_id} ({hold.status})"
        if hold.status != ReservationStatus.ACTIVE:
            error = expect_error(err, ReservationNotActive, what)
            assert error.detail == {"reservation": hold_id, "status": hold.status}
            return
        released = expect_success(result, err, what)
        assert released.status == ReservationStatus.RELEASED
        hold.status = ReservationStatus.RELEASED

    @precondition(lambda self: bool(self.order_holds()))
    @rule(data=st.data())
    def consume(self, data: st.DataObject) -> None:
        # Only order holds: a transfer's holds are consumed by dispatching the transfer, and no
        # caller consumes one directly.
        hold_id = self._pick_hold(data, self.order_holds())
        hold = self.holds[hold_id]
        quantity = data.draw(
            st.one_of(st.none(), st.integers(min_value=1, max_value=hold.quantity + 1)),
            label="quantity",
        )
        reservation = Reservation.objects.get(pk=hold_id)
        result, err = attempt(
            lambda: services.reservation_consume(
                reservation=reservation, quantity=quantity, reason=MoveReason.SALE
            )
        )
        what = f"consume {quantity} of hold {hold_id} ({hold.status}, {hold.quantity})"
        if hold.status != ReservationStatus.ACTIVE:
            error = expect_error(err, ReservationNotActive, what)
            assert error.detail == {"reservation": hold_id, "status": hold.status}
            return
        if quantity is not None and quantity > hold.quantity:
            expect_error(err, InvalidInput, what)
            return
        move = expect_success(result, err, what)
        units = hold.quantity if quantity is None else quantity
        assert move.quantity == units
        assert move.from_location_id == self.locations[hold.location].pk
        assert move.to_location.code == services.VIRTUAL_LOCATION_CODES[LocationKind.CUSTOMER]
        assert move.product_id == self.products[hold.sku].pk
        assert move.reason == MoveReason.SALE
        self.consume_hold(hold, units, "customer")
        event("consume: whole hold" if units == hold.quantity else "consume: part of a hold")
        if units == hold.quantity:
            assert move.reservation_id == hold_id
            hold.status = ReservationStatus.CONSUMED
        else:
            # A partial consume splits the hold: the consumed part becomes its own reservation.
            assert move.reservation_id is not None and move.reservation_id not in self.holds
            hold.quantity -= units
            self.holds[move.reservation_id] = Hold(
                hold.sku,
                hold.location,
                units,
                ORDER,
                expires_at=hold.expires_at,
                status=ReservationStatus.CONSUMED,
            )

    @rule(data=st.data(), batch_size=st.integers(min_value=1, max_value=3))
    def expire(self, data: st.DataObject, batch_size: int) -> None:
        """Sweep expired holds as of ``now``: often exactly when some active hold expires (the
        boundary is inclusive), otherwise any time around the base."""
        deadlines = sorted(
            {
                h.expires_at
                for h in self.holds.values()
                if h.status == ReservationStatus.ACTIVE and h.expires_at is not None
            }
        )
        minutes = st.integers(min_value=-6, max_value=6).map(lambda m: timedelta(minutes=m))
        now = data.draw(
            (st.sampled_from(deadlines) | minutes.map(lambda m: self.base + m))
            if deadlines
            else minutes.map(lambda m: self.base + m),
            label="now",
        )
        due = [
            h
            for h in self.holds.values()
            if h.status == ReservationStatus.ACTIVE
            and h.expires_at is not None
            and h.expires_at <= now
        ]
        expired = services.reservations_expire(now=now, batch_size=batch_size)
        assert expired == len(due), f"expired {expired} holds, the model expected {len(due)}"
        event(f"expire: {'some' if due else 'none'} due")
        for hold in due:
            hold.status = ReservationStatus.EXPIRED

    # ------------------------------------------------------------------ counts

    def _counted(self, loc: str, sku: str) -> st.SearchStrategy[int]:
        """Near what is on hand (a gain, a loss, no difference), or below what is held."""
        on_hand, reserved = self.on_hand[(loc, sku)], self.reserved(loc, sku)
        near = st.integers(min_value=-5, max_value=5).map(lambda d: max(on_hand + d, 0))
        return near | st.integers(min_value=0, max_value=max(reserved - 1, 0))

    @rule(loc=locations, data=st.data())
    def count(self, loc: str, data: st.DataObject) -> None:
        counted_skus = data.draw(st.lists(skus, min_size=1, max_size=3, unique=True), label="skus")
        lines = [
            (sku, data.draw(self._counted(loc, sku), label=f"counted {sku}"))
            for sku in counted_skus
        ]
        release_holds = data.draw(st.booleans(), label="release_holds")
        short = [
            {"sku": sku, "counted": counted, "reserved": self.reserved(loc, sku)}
            for sku, counted in lines
            if counted < self.reserved(loc, sku)
        ]
        result, err = attempt(
            lambda: services.stock_count(
                location=self.locations[loc],
                lines=[(self.products[sku], counted) for sku, counted in lines],
                release_holds=release_holds,
            )
        )
        what = f"count {lines} at {loc} (release_holds={release_holds})"
        if short and not release_holds:
            error = expect_error(err, CountBelowReserved, what)
            assert error.detail == {"lines": short}, (error.detail, short)
            return
        stock_count = expect_success(result, err, what)
        for sku, counted in lines:
            expected = self.on_hand[(loc, sku)]
            released = 0
            units = self.reserved(loc, sku) - counted
            # Newest holds first (reservation ids grow with creation time), whole holds.
            newest_first = sorted(
                (
                    (i, h)
                    for i, h in self.holds.items()
                    if h.status == ReservationStatus.ACTIVE and h.location == loc and h.sku == sku
                ),
                reverse=True,
                key=lambda item: item[0],
            )
            for _, hold in newest_first:
                if released >= units:
                    break
                hold.status = ReservationStatus.RELEASED
                released += hold.quantity
                event(f"count: released a{'' if hold.owner_type == ORDER else ' transfer'} hold")
            line = StockCountLine.objects.get(count=stock_count, product=self.products[sku])
            assert (line.expected, line.counted, line.released_reserved) == (
                expected,
                counted,
                released,
            ), f"{what}: count line {sku}"
            if counted != expected:
                self.moves += 1
                self.virtual[("adjustment", sku)] -= counted - expected
            self.on_hand[(loc, sku)] = counted

    # ------------------------------------------------------------------ transfers

    @rule(source=locations, lines=transfer_lines)
    def transfer_create(self, source: str, lines: list[tuple[str, int]]) -> None:
        self._create_transfer(source, lines)

    def _create_transfer(self, source: str, lines: list[tuple[str, int]]) -> int:
        destination = "store" if source == "dc" else "dc"
        transfer = services.transfer_create(
            source=self.locations[source],
            destination=self.locations[destination],
            lines=[(self.products[sku], quantity) for sku, quantity in lines],
        )
        assert transfer.status == TransferStatus.DRAFT
        self.transfers[transfer.pk] = TransferModel(source, destination, dict(lines))
        return transfer.pk

    def _pick_hold(self, data: st.DataObject, ids: list[int]) -> int:
        """A hold, half the time an active one, else any."""
        active = [pk for pk in ids if self.holds[pk].status == ReservationStatus.ACTIVE]
        prefer_active: bool = bool(active) and data.draw(st.booleans(), label="active hold")
        if prefer_active:
            ids = active
        return data.draw(st.sampled_from(ids), label="hold")

    def _live_transfers(self) -> list[int]:
        return sorted(pk for pk, t in self.transfers.items() if t.status in NEXT_STEP)

    @precondition(lambda self: bool(self._live_transfers()))
    @rule(data=st.data())
    def transfer_advance(self, data: st.DataObject) -> None:
        """The next step of a live transfer: approve a draft, dispatch, receive."""
        transfer_id = data.draw(st.sampled_from(self._live_transfers()), label="transfer")
        model = self.transfers[transfer_id]
        action = NEXT_STEP[model.status]
        getattr(self, f"_transfer_{action}")(Transfer.objects.get(pk=transfer_id), model, data)

    @precondition(lambda self: bool(self.transfers))
    @rule(data=st.data())
    def transfer_cancel(self, data: st.DataObject) -> None:
        transfer_id = data.draw(st.sampled_from(sorted(self.transfers)), label="transfer")
        model = self.transfers[transfer_id]
        self._transfer_cancel(Transfer.objects.get(pk=transfer_id), model, data)

    @precondition(lambda self: bool(self.transfers))
    @rule(data=st.data())
    def transfer_out_of_turn(self, data: st.DataObject) -> None:
        """Any action but the next step on any transfer (approve twice, dispatch a draft, receive
        a cancelled one…): it must fail exactly as the model says and change nothing, except a
        cancel, which is in turn before dispatch."""
        transfer_id = data.draw(st.sampled_from(sorted(self.transfers)), label="transfer")
        model = self.transfers[transfer_id]
        actions = [a for a in TRANSFER_ACTIONS if a != NEXT_STEP.get(model.status)]
        action = data.draw(st.sampled_from(actions), label="action")
        getattr(self, f"_transfer_{action}")(Transfer.objects.get(pk=transfer_id), model, data)

    def _invalid_state(self, err: ApplicationError | None, model: TransferModel, what: str) -> None:
        error = expect_error(err, TransferInvalidState, what)
        assert error.detail["status"] == model.status, error.detail

    def _transfer_approve(
        self, transfer: Transfer, model: TransferModel, data: st.DataObject
    ) -> None:
        short = self.shortages({(model.source, sku): q for sku, q in model.lines.items()})
        result, err = attempt(lambda: services.transfer_approve(transfer=transfer))
        what = f"approve transfer {transfer.pk} ({model.status})"
        if model.status != TransferStatus.DRAFT:
            self._invalid_state(err, model, what)
            return
        if short:
            error = expect_error(err, InsufficientStock, what)
            assert error.detail["lines"] == short, (error.detail, short)
            return
        approved = expect_success(result, err, what)
        assert approved.status == TransferStatus.APPROVED
        model.status = TransferStatus.APPROVED
        held = dict(
            TransferLine.objects.filter(transfer=transfer).values_list(
                "product__sku", "reservation_id"
            )
        )
        for sku, quantity in model.lines.items():
            hold_id = held[sku]
            assert hold_id is not None and hold_id not in self.holds
            model.holds[sku] = hold_id
            self.holds[hold_id] = Hold(sku, model.source, quantity, TRANSFER, expires_at=None)

    def _transfer_dispatch(
        self, transfer: Transfer, model: TransferModel, data: st.DataObject
    ) -> None:
        result, err = attempt(lambda: services.transfer_dispatch(transfer=transfer))
        what = f"dispatch transfer {transfer.pk} ({model.status})"
        if model.status != TransferStatus.APPROVED:
            self._invalid_state(err, model, what)
            return
        # A count with release_holds (or a release) may have taken an approved transfer's hold.
        gone = [
            model.holds[sku]
            for sku in model.lines
            if self.holds[model.holds[sku]].status != ReservationStatus.ACTIVE
        ]
        if gone:
            error = expect_error(err, ReservationNotActive, what)
            assert error.detail["reservation"] == gone[0], (error.detail, gone)
            return
        dispatched = expect_success(result, err, what)
        assert dispatched.status == TransferStatus.DISPATCHED
        model.status = TransferStatus.DISPATCHED
        for sku in model.lines:
            hold = self.holds[model.holds[sku]]
            self.consume_hold(hold, hold.quantity, "transit")
            hold.status = ReservationStatus.CONSUMED

    def _transfer_receive(
        self, transfer: Transfer, model: TransferModel, data: st.DataObject
    ) -> None:
        reported: dict[str, int] = {}
        for sku, quantity in model.lines.items():
            received = data.draw(
                st.one_of(
                    st.none(),  # not reported: arrived in full
                    st.just(quantity),
                    st.integers(min_value=0, max_value=quantity - 1),  # shortfall
                    st.integers(min_value=quantity + 1, max_value=quantity + 3),  # surplus
                ),
                label=f"received {sku}",
            )
            if received is not None:
                reported[sku] = received
        lines = [
            services.ReceivedLine(
                product=self.products[sku],
                received=received,
                reason="" if received == model.lines[sku] else "counted at the door",
            )
            for sku, received in reported.items()
        ]
        result, err = attempt(lambda: services.transfer_receive(transfer=transfer, lines=lines))
        what = f"receive transfer {transfer.pk} ({model.status}) as {reported}"
        if model.status != TransferStatus.DISPATCHED:
            self._invalid_state(err, model, what)
            return
        done = expect_success(result, err, what)
        assert done.status == TransferStatus.RECEIVED
        model.status = TransferStatus.RECEIVED
        for sku, quantity in model.lines.items():
            received = reported.get(sku, quantity)
            outcome = "short" if received < quantity else "over" if received > quantity else "full"
            event(f"receive: {outcome}")
            model.received[sku] = received
            self.on_hand[(model.destination, sku)] += received
            self.virtual[("transit", sku)] -= quantity
            self.virtual[("adjustment", sku)] += quantity - received
            self.moves += (1 if min(received, quantity) else 0) + (1 if received != quantity else 0)

    def _transfer_cancel(
        self, transfer: Transfer, model: TransferModel, data: st.DataObject
    ) -> None:
        result, err = attempt(lambda: services.transfer_cancel(transfer=transfer))
        what = f"cancel transfer {transfer.pk} ({model.status})"
        if model.status not in (TransferStatus.DRAFT, TransferStatus.APPROVED):
            self._invalid_state(err, model, what)
            return
        cancelled = expect_success(result, err, what)
        assert cancelled.status == TransferStatus.CANCELLED
        model.status = TransferStatus.CANCELLED
        for hold_id in model.holds.values():
            if self.holds[hold_id].status == ReservationStatus.ACTIVE:
                self.holds[hold_id].status = ReservationStatus.RELEASED

    # ------------------------------------------------------------------ the comparison

    @invariant()
    def database_matches_model(self) -> None:
        levels = {
            (self.location_key[location_id], self.sku_of[product_id]): (on_hand, reserved)
            for location_id, product_id, on_hand, reserved in StockLevel.objects.values_list(
                "location_id", "product_id", "on_hand", "reserved"
            )
        }
        expected_levels = {
            key: (on_hand, self.reserved(*key))
            for key, on_hand in self.on_hand.items()
            if on_hand or key in levels or self.reserved(*key)
        }
        assert levels == expected_levels, (
            f"stock levels (on_hand, reserved): database {levels}, model {expected_levels}"
        )

        holds = {
            pk: (self.sku_of[product_id], self.location_key[location_id], quantity, status)
            for pk, product_id, location_id, quantity, status in Reservation.objects.values_list(
                "pk", "product_id", "location_id", "quantity", "status"
            )
        }
        expected_holds = {
            pk: (h.sku, h.location, h.quantity, h.status) for pk, h in self.holds.items()
        }
        assert holds == expected_holds, f"reservations: database {holds}, model {expected_holds}"

        # Every transfer has lines, so the lines carry the transfers' states too.
        lines = {
            (pk, self.sku_of[product_id]): (status, quantity, hold_id, received)
            for pk, status, product_id, quantity, hold_id, received in (
                TransferLine.objects.values_list(
                    "transfer_id",
                    "transfer__status",
                    "product_id",
                    "quantity",
                    "reservation_id",
                    "received_quantity",
                )
            )
        }
        expected_lines = {
            (pk, sku): (t.status, quantity, t.holds.get(sku), t.received.get(sku))
            for pk, t in self.transfers.items()
            for sku, quantity in t.lines.items()
        }
        assert lines == expected_lines, f"transfers: database {lines}, model {expected_lines}"

        # The virtual locations' balances, and not one ledger row more or fewer than expected.
        moves = list(
            StockMove.objects.values_list(
                "from_location__code", "to_location__code", "product_id", "quantity"
            )
        )
        virtual = dict.fromkeys(self.virtual, 0)
        for source, destination, product_id, quantity in moves:
            sku = self.sku_of[product_id]
            if source in VIRTUAL:
                virtual[(VIRTUAL[source], sku)] -= quantity
            if destination in VIRTUAL:
                virtual[(VIRTUAL[destination], sku)] += quantity
        assert virtual == self.virtual, (
            f"virtual balances: database {virtual}, model {self.virtual}"
        )
        assert len(moves) == self.moves, f"ledger rows: database {len(moves)}, model {self.moves}"

        assert_invariants()
