"""Writes of picking (part of ``fulfillment.services``, which re-exports every name here):
bounded waves, batch pick tasks, scans kept once per scan id, and short picks.

A wave is planned first (``pick_wave_plan``: a read, nothing written) and then made
(``pick_wave_create``) under the one lock order (docs/locking.md): the orders it takes in id
order, then its transfers, then what waits is read again under those locks. Its lines are
grouped into tasks, one per SKU × home bin, walked in the bins' sequence; each order or
transfer of the wave has a tote, and a task's units are sorted into its lines' totes in tote
order. A scan or a short on a task locks the pick list, then the task, then that task's open
lines only: its cost does not grow with the wave.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.models import DiscrepancyCause, HomeBin, Location, Product, TransferLine
from omni.errors import ApplicationError, InvalidInput
from omni.models import User
from orders.locks import lock_orders
from orders.models import Allocation, Order, OrderStatus
from orders.services import order_set_status

from .errors import (
    NothingToPick,
    OverPick,
    PickLineClosed,
    PickListDone,
    PickTaskClosed,
    ShortPickInvalid,
    WrongItem,
)
from .locks import (
    lock_open_pick_lines,
    lock_pick_line,
    lock_pick_list,
    lock_pick_task,
    lock_task_lines,
)
from .models import (
    PickLine,
    PickLineStatus,
    PickList,
    PickListStatus,
    PickScan,
    PickTask,
    PickTaskStatus,
)
from .selectors import pickable_allocations, pickable_transfer_lines

# Statuses a wave leaves as they are: the order is being worked on already.
WORKED_ON_STATUSES = (OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED)

# The modes a wave can be limited to: orders by their mode, and transfers.
WAVE_MODES = ("delivery", "pickup", "transfer")


# --------------------------------------------------------------------------- wave planning


# The picker's time model (docs/fulfillment.md, "Waves"): seconds to walk to the next stop and
# find the bin, to take one unit, scan it and drop it in its tote, and to label and place one
# tote on the cart before the walk. The wave defaults, the wave preview and the demo use it.
WALK_SECONDS, UNIT_SECONDS, TOTE_SECONDS = 25, 4, 10


def picker_minutes(*, stops: int, units: int, totes: int) -> float:
    """A picker's minutes for a wave of ``stops`` bin visits, ``units`` and ``totes``."""
    return (stops * WALK_SECONDS + units * UNIT_SECONDS + totes * TOTE_SECONDS) / 60


@dataclass(frozen=True)
class WaveLimits:
    """The most a pick list may hold; None is no limit. The defaults are about an hour of one
    picker's work on the demo's mix (docs/fulfillment.md, "Waves"; ``picker_minutes``)."""

    orders: int | None = 40
    lines: int | None = 120
    units: int | None = 400

    @classmethod
    def none(cls) -> WaveLimits:
        return cls(orders=None, lines=None, units=None)

    def check(self) -> None:
        for name, value in (("max_orders", self.orders), ("max_lines", self.lines)):
            if value is not None:
                stock.check_quantity(value, field=name)
        if self.units is not None:
            stock.check_quantity(self.units, field="max_units")


DEFAULT_WAVE_LIMITS = WaveLimits()


@dataclass
class WaveCandidate:
    """One order or transfer waiting at the location, whole: it goes into a wave or waits."""

    kind: str  # "order" or "transfer"
    id: int
    mode: str  # delivery, pickup or transfer
    promised_at: datetime | None
    since: datetime
    lines: int = 0
    units: int = 0

    def key(self) -> tuple[bool, datetime, datetime, str, int]:
        # Promised first (earliest promise first), then the oldest; ties by kind and id.
        promise = self.promised_at or datetime.max.replace(tzinfo=self.since.tzinfo)
        return (self.promised_at is None, promise, self.since, self.kind, self.id)


@dataclass
class WavePlan:
    """What a wave would take (``orders``, ``transfers``, in tote order) and what would wait."""

    location: Location
    limits: WaveLimits
    taken: list[WaveCandidate] = field(default_factory=list)
    waiting: list[WaveCandidate] = field(default_factory=list)

    @property
    def order_ids(self) -> list[int]:
        return [c.id for c in self.taken if c.kind == "order"]

    @property
    def transfer_ids(self) -> list[int]:
        return [c.id for c in self.taken if c.kind == "transfer"]

    @property
    def lines(self) -> int:
        return sum(c.lines for c in self.taken)

    @property
    def units(self) -> int:
        return sum(c.units for c in self.taken)

    @property
    def waiting_lines(self) -> int:
        return sum(c.lines for c in self.waiting)

    @property
    def waiting_units(self) -> int:
        return sum(c.units for c in self.waiting)


def _candidates(
    location: Location,
    *,
    orders: Sequence[Order] | None,
    modes: set[str],
    promised_by: datetime | None,
) -> list[WaveCandidate]:
    found: dict[tuple[str, int], WaveCandidate] = {}
    if modes & {"delivery", "pickup"}:
        allocations = pickable_allocations(location, orders).filter(
            line__order__mode__in=[m for m in modes if m != "transfer"]
        )
        if promised_by is not None:
            allocations = allocations.filter(line__order__promised_at__lte=promised_by)
        rows = allocations.values_list(
            "line__order_id",
            "line__order__mode",
            "line__order__promised_at",
            "line__order__created_at",
            "quantity",
        )
        for order_id, mode, promised_at, created_at, quantity in rows:
            c = found.setdefault(
                ("order", order_id),
                WaveCandidate("order", order_id, mode, promised_at, created_at),
            )
            c.lines += 1
            c.units += quantity
    if "transfer" in modes and orders is None and promised_by is None:
        transfer_rows = pickable_transfer_lines(location).values_list(
            "transfer_id", "transfer__approved_at", "transfer__created_at", "quantity"
        )
        for transfer_id, approved_at, created_at, quantity in transfer_rows:
            c = found.setdefault(
                ("transfer", transfer_id),
                WaveCandidate("transfer", transfer_id, "transfer", None, approved_at or created_at),
            )
            c.lines += 1
            c.units += quantity
    return sorted(found.values(), key=WaveCandidate.key)


def _fill(
    candidates: list[WaveCandidate], limits: WaveLimits
) -> tuple[list[WaveCandidate], list[WaveCandidate]]:
    """Whole orders and transfers in priority order while they fit; one that does not fit
    waits and the next smaller one may still go. A first one larger than the limits on its own
    goes alone, so no order waits for ever."""
    taken: list[WaveCandidate] = []
    waiting: list[WaveCandidate] = []
    lines = units = 0
    for c in candidates:
        full = limits.orders is not None and len(taken) >= limits.orders
        over = (limits.lines is not None and lines + c.lines > limits.lines) or (
            limits.units is not None and units + c.units > limits.units
        )
        if full or (over and taken):
            waiting.append(c)
            continue
        taken.append(c)
        lines += c.lines
        units += c.units
    return taken, waiting


def pick_wave_plan(
    *,
    location: Location,
    limits: WaveLimits | None = None,
    orders: Sequence[Order] | None = None,
    modes: Collection[str] | None = None,
    promised_by: datetime | None = None,
) -> WavePlan:
    """The next wave at ``location``, planned and not made: whole orders (and approved
    transfers) by promise, then age, within ``limits`` (``DEFAULT_WAVE_LIMITS`` when None).
    ``modes`` keeps only deliveries, pickups and/or transfers; ``promised_by`` only orders
    promised by then (a carrier's cut-off; transfers carry no promise and wait). ``orders``
    narrows it to those orders (and no transfers)."""
    if limits is None:  # the caller who names the orders takes them all
        limits = DEFAULT_WAVE_LIMITS if orders is None else WaveLimits.none()
    limits.check()
    wanted = set(WAVE_MODES if modes is None else modes)
    unknown = wanted - set(WAVE_MODES)
    if unknown or not wanted:
        raise InvalidInput.saying(
            gettext_lazy("modes must be some of %(modes)s"),
            detail={"field": "modes"},
            modes=", ".join(WAVE_MODES),
        )
    taken, waiting = _fill(
        _candidates(location, orders=orders, modes=wanted, promised_by=promised_by), limits
    )
    return WavePlan(location=location, limits=limits, taken=taken, waiting=waiting)


# --------------------------------------------------------------------------- making a wave


@transaction.atomic
def pick_wave_create(
    *,
    location: Location,
    actor: User | None = None,
    assign_to: User | None = None,
    orders: Sequence[Order] | None = None,
    include_transfers: bool = True,
    limits: WaveLimits | None = None,
    modes: Collection[str] | None = None,
    promised_by: datetime | None = None,
) -> PickList:
    """A pick list of the next wave at ``location`` (``pick_wave_plan``): its lines grouped
    into pick tasks, one per SKU × home bin, walked in bin order (SKUs without a bin last, by
    SKU); each order and transfer gets a tote (1..n, in priority order).

    The orders it takes are locked first (in id order), then the transfers, and what waits is
    read again under those locks: a wave racing another at the same location, or a cancel of
    one of its orders or transfers, queues and then finds those lines taken or gone."""
    if not include_transfers:
        modes = [m for m in (modes or WAVE_MODES) if m != "transfer"]
    plan = pick_wave_plan(
        location=location, limits=limits, orders=orders, modes=modes, promised_by=promised_by
    )
    locked = {order.pk: order for order in lock_orders(plan.order_ids)}
    locked_transfers = stock_locks.lock_transfers(plan.transfer_ids)
    allocations = list(
        pickable_allocations(location, list(locked.values())).select_related(
            "line__order", "line__product"
        )
    )
    transfer_lines = list(
        pickable_transfer_lines(location)
        .filter(transfer__in=locked_transfers)
        .select_related("product", "transfer")
    )
    if not allocations and not transfer_lines:
        raise NothingToPick(location)
    totes: dict[tuple[str, int], int] = {}
    for c in plan.taken:
        totes[(c.kind, c.id)] = len(totes) + 1
    homes = {
        h.product_id: h.bin for h in HomeBin.objects.filter(location=location).select_related("bin")
    }
    limits = plan.limits
    pick_list = PickList.objects.create(
        location=location,
        created_by=actor,
        assigned_to=assign_to or actor,
        max_orders=limits.orders,
        max_lines=limits.lines,
        max_units=limits.units,
    )
    lines = [
        PickLine(
            pick_list=pick_list,
            product=a.line.product,
            quantity=a.quantity,
            allocation=a,
            tote=totes.get(("order", a.line.order_id)),
        )
        for a in allocations
    ] + [
        PickLine(
            pick_list=pick_list,
            product=t.product,
            quantity=t.quantity,
            transfer_line=t,
            transfer=t.transfer,
            tote=totes.get(("transfer", t.transfer_id)),
        )
        for t in transfer_lines
    ]
    # A line read again under the locks may belong to no planned tote (an order that gained a
    # line meanwhile is still in the plan; this is a guard): it gets the next tote.
    for ln in lines:
        if ln.tote is None:
            owner = ("order", ln.allocation.line.order_id) if ln.allocation else None
            owner = owner or ("transfer", ln.transfer_id or 0)
            ln.tote = totes.setdefault(owner, len(totes) + 1)
    # An order cancelled between the plan and the locks leaves its tote empty: close the gap.
    compact = {tote: n for n, tote in enumerate(sorted({ln.tote or 0 for ln in lines}), start=1)}
    for ln in lines:
        ln.tote = compact[ln.tote or 0]
    groups: dict[int, list[PickLine]] = {}
    products: dict[int, Product] = {}
    for ln in lines:
        groups.setdefault(ln.product_id, []).append(ln)
        products[ln.product_id] = ln.product

    def walk(product_id: int) -> tuple[bool, int, str]:
        home = homes.get(product_id)
        return (home is None, home.sequence if home else 0, products[product_id].sku)

    tasks = []
    for sequence, product_id in enumerate(sorted(groups, key=walk), start=1):
        home = homes.get(product_id)
        tasks.append(
            PickTask(
                pick_list=pick_list,
                product=products[product_id],
                bin=home,
                bin_code=home.code if home else "",
                sequence=sequence,
                quantity=sum(ln.quantity for ln in groups[product_id]),
            )
        )
    PickTask.objects.bulk_create(tasks)
    for task in tasks:
        for ln in groups[task.product_id]:
            ln.task = task
            ln.bin = task.bin_code
    PickLine.objects.bulk_create(lines)
    PickList.objects.filter(pk=pick_list.pk).update(
        orders_count=len({ln.tote for ln in lines}),
        lines_count=len(lines),
        units_total=sum(ln.quantity for ln in lines),
        tasks_total=len(tasks),
    )
    pick_list.refresh_from_db()
    for order_id in sorted({a.line.order_id for a in allocations}):
        order = locked[order_id]
        if order.status not in WORKED_ON_STATUSES:
            order_set_status(order=order, to=OrderStatus.PROCESSING)
    return pick_list


# --------------------------------------------------------------------------- progress


def _after_lines_changed(pick_list_id: int, task_id: int | None, picked: int) -> None:
    """Move the counters after ``picked`` more units on lines of one task (locked by the
    caller with the list): the task is done once none of its lines is open, and the list once
    none of its lines is."""
    done_tasks = 0
    if task_id is not None:
        task = PickTask.objects.get(pk=task_id)
        task.picked += picked
        fields = ["picked"]
        if (
            task.status == PickTaskStatus.OPEN
            and not PickLine.objects.filter(task_id=task_id, status=PickLineStatus.OPEN).exists()
        ):
            task.status = (
                PickTaskStatus.PICKED if task.picked == task.quantity else PickTaskStatus.SHORT
            )
            fields.append("status")
            done_tasks = 1
        task.save(update_fields=fields)
    PickList.objects.filter(pk=pick_list_id).update(
        units_picked=F("units_picked") + picked, tasks_done=F("tasks_done") + done_tasks
    )
    pick_list = PickList.objects.get(pk=pick_list_id)
    if pick_list.status != PickListStatus.OPEN:
        return
    if pick_list.tasks_total:
        finished = pick_list.tasks_done >= pick_list.tasks_total
    else:  # a list made before tasks: look at its lines
        finished = not pick_list.lines.filter(status=PickLineStatus.OPEN).exists()
    if finished:
        PickList.objects.filter(pk=pick_list_id, status=PickListStatus.OPEN).update(
            status=PickListStatus.DONE, completed_at=timezone.now()
        )


def _credit(lines: Sequence[PickLine], quantity: int, actor: User | None) -> int:
    """Sort ``quantity`` units into the (locked, open) lines in tote order; returns units
    credited (all of them: the caller checked there is room)."""
    left = quantity
    now = timezone.now()
    for line in lines:
        if not left:
            break
        take = min(left, line.quantity - line.picked)
        if take <= 0:
            continue
        line.picked += take
        line.picked_by = actor
        line.picked_at = now
        if line.picked == line.quantity:
            line.status = PickLineStatus.PICKED
        line.save(update_fields=["picked", "picked_by", "picked_at", "status"])
        left -= take
    return quantity - left


# --------------------------------------------------------------------------- scans


def scan_matches(product: Product, scanned: str) -> bool:
    """A scan names a product by its barcode, or by its SKU in any case."""
    code = scanned.strip()
    return bool(code) and (
        code.upper() == product.sku.upper()
        or (product.barcode is not None and code == product.barcode)
    )


@dataclass(frozen=True)
class ScanOutcome:
    """What a scan did: the stored ``scan`` (its ``result`` and ``credited`` units), the task
    it was for, and ``replayed`` when this scan id had been answered before."""

    scan: PickScan
    task: PickTask | None
    replayed: bool = False


def _replay_error(scan: PickScan, pick_list: PickList) -> ApplicationError:
    """The refusal a stored scan got, built again from what the row keeps."""
    task = scan.task
    if scan.result == WrongItem.code and task is not None:
        return WrongItem(scan.scanned, task=task)
    if scan.result == PickTaskClosed.code and task is not None:
        return PickTaskClosed(task)
    if scan.result == OverPick.code and task is not None:
        return OverPick(task, scan.quantity)  # type: ignore[arg-type]
    return PickListDone(pick_list)


def _stored(scan_id: uuid.UUID) -> PickScan | None:
    return PickScan.objects.select_related("task__product").filter(scan_id=scan_id).first()


def pick_task_scan(
    *,
    pick_list: PickList,
    scan_id: uuid.UUID | str,
    scanned: str,
    quantity: int = 1,
    actor: User | None = None,
    task: PickTask | None = None,
) -> ScanOutcome:
    """The picker scanned an item at the current stop (the first open task in walking order,
    or ``task`` when the device names it): ``quantity`` units go to the task and to its lines
    in tote order. A wrong item, a closed task or too many units is refused with its typed
    error and changes nothing, but the scan is kept with its result.

    Once per ``scan_id``: the same id again (a retry, a duplicate from a queue) gets the stored
    answer (the same units, or the same error) and changes nothing. Two requests with one id
    at once queue on the pick list's lock; the later one finds the earlier's row, and the
    unique ``scan_id`` backs that up."""
    stock.check_quantity(quantity)
    scan_id = uuid.UUID(str(scan_id))
    outcome, error = _scan(
        pick_list=pick_list,
        scan_id=scan_id,
        scanned=scanned.strip()[:64],
        quantity=quantity,
        actor=actor,
        task=task,
    )
    if error is not None:
        raise error
    return outcome


@transaction.atomic
def _scan(
    *,
    pick_list: PickList,
    scan_id: uuid.UUID,
    scanned: str,
    quantity: int,
    actor: User | None,
    task: PickTask | None,
) -> tuple[ScanOutcome, ApplicationError | None]:
    def replay(row: PickScan) -> tuple[ScanOutcome, ApplicationError | None]:
        error = None if row.result == "picked" else _replay_error(row, pick_list)
        return ScanOutcome(scan=row, task=row.task, replayed=True), error

    seen = _stored(scan_id)
    if seen is not None:
        return replay(seen)
    locked_list = lock_pick_list(pick_list.pk)
    seen = _stored(scan_id)  # a duplicate that held the lock before us has committed
    if seen is not None:
        return replay(seen)
    try:
        with transaction.atomic():
            row = PickScan.objects.create(
                scan_id=scan_id,
                pick_list=locked_list,
                scanned=scanned,
                quantity=quantity,
                result="pending",
                actor=actor,
            )
    except IntegrityError:
        seen = _stored(scan_id)
        assert seen is not None, "the unique scan id was taken by a scan that committed"
        return replay(seen)
    current = task
    if current is None:
        current = (
            PickTask.objects.filter(pick_list=locked_list, status=PickTaskStatus.OPEN)
            .order_by("sequence")
            .first()
        )
    error: ApplicationError | None = None
    credited = 0
    if current is None:
        error = PickListDone(locked_list)
    else:
        current = lock_pick_task(current.pk)
        if current.pick_list_id != locked_list.pk or current.status != PickTaskStatus.OPEN:
            error = PickTaskClosed(current)
        elif not scan_matches(current.product, scanned):
            error = WrongItem(scanned, task=current)
        else:
            lines = lock_task_lines(current)
            room = sum(ln.quantity - ln.picked for ln in lines)
            if quantity > room:
                error = OverPick(current, quantity)  # type: ignore[arg-type]
            else:
                credited = _credit(lines, quantity, actor)
                _after_lines_changed(locked_list.pk, current.pk, credited)
                current.refresh_from_db()
    row.task = current
    row.result = "picked" if error is None else str(error.code)
    row.credited = credited
    row.save(update_fields=["task", "result", "credited"])
    return ScanOutcome(scan=row, task=current), error


# --------------------------------------------------------------------------- line-level picks


def _open_line(pick_line: PickLine) -> PickLine:
    """Lock the line's list, its task (if any), then the line: the order every path of a
    batched list takes (docs/locking.md)."""
    lock_pick_list(pick_line.pick_list_id)
    task_id = PickLine.objects.values_list("task_id", flat=True).get(pk=pick_line.pk)
    if task_id is not None:
        lock_pick_task(task_id)
    line = lock_pick_line(pick_line)
    if line.status != PickLineStatus.OPEN:
        raise PickLineClosed(line)
    return line


@transaction.atomic
def pick_line_confirm(
    *, pick_line: PickLine, scanned: str, quantity: int = 1, actor: User | None = None
) -> PickLine:
    """The picker scanned an item (barcode or SKU) for this line. A wrong item changes nothing.
    On a batched list the line's task and the list's counters move with it."""
    line = _open_line(pick_line)
    if not scan_matches(line.product, scanned):
        raise WrongItem(scanned, line=line)
    stock.check_quantity(quantity)
    if line.picked + quantity > line.quantity:
        raise OverPick(line, quantity)
    _credit([line], quantity, actor)
    _after_lines_changed(line.pick_list_id, line.task_id, quantity)
    return line


@transaction.atomic
def pick_list_scan(
    *, pick_list: PickList, scanned: str, quantity: int = 1, actor: User | None = None
) -> PickLine:
    """A scan on a whole pick list, in any order: the units go to the first open line (in
    walking order) of the scanned item with room for them, else its first open line (which
    then refuses the over-pick). The list and its open lines are locked first, so two pickers
    on one list queue instead of racing for a line. No open line wants the item: ``WrongItem``,
    nothing changes. (The handheld's scans go to ``pick_task_scan``, which does not read the
    whole list.)"""
    lines = lock_open_pick_lines(pick_list)
    wanted = [ln for ln in lines if scan_matches(ln.product, scanned)]
    if not wanted:
        done = [
            ln.product.sku
            for ln in pick_list.lines.select_related("product")
            if scan_matches(ln.product, scanned)
        ]
        raise WrongItem(scanned, pick_list=pick_list, done=done[0] if done else None)
    roomy = [ln for ln in wanted if ln.quantity - ln.picked >= quantity]
    return pick_line_confirm(
        pick_line=(roomy or wanted)[0], scanned=scanned, quantity=quantity, actor=actor
    )


# --------------------------------------------------------------------------- short picks


def _short_lines(
    location: Location,
    product: Product,
    shorts: Sequence[tuple[PickLine, int]],
    pick_list_id: int,
    actor: User | None,
) -> None:
    """Close ``(line, found)`` pairs of one SKU short: holds shrink to what was found (order
    lines re-sourced after commit), transfer lines ship less, and the missing units leave the
    ledger as one adjustment flagged for a count. Expects the caller to hold the pick list and
    the lines; takes the transfers, then the one stock level (docs/locking.md)."""
    reason = f"short pick on pick list {pick_list_id}"
    transfer_lines = {
        t.pk: t
        for t in TransferLine.objects.filter(
            pk__in=[ln.transfer_line_id for ln, _ in shorts if ln.transfer_line_id]
        )
    }
    # The transfers before the stock level: dispatch and cancel of a transfer lock in that
    # order, and a short pick taking the level first deadlocked with them.
    stock_locks.lock_transfers(t.transfer_id for t in transfer_lines.values())
    stock_locks.lock_stock_levels([(location.pk, product.pk)])
    missing = 0
    references = []
    resource: list[int] = []
    for line, found in shorts:
        missing += line.quantity - found
        if line.allocation_id is not None:
            allocation = Allocation.objects.select_related("reservation", "line__order").get(
                pk=line.allocation_id
            )
            stock.reservation_shrink(
                reservation=allocation.reservation, to_quantity=found, reason=reason, actor=actor
            )
            if found:
                Allocation.objects.filter(pk=allocation.pk).update(quantity=found)
            references.append(allocation.line.order.reference)
            resource.append(allocation.line_id)
        else:
            assert line.transfer_line_id is not None, "a pick line serves an order or a transfer"
            transfer_line = transfer_lines[line.transfer_line_id]
            stock.transfer_line_reduce(
                line=transfer_line, quantity=found, reason=reason, actor=actor
            )
            references.append(f"transfer:{transfer_line.transfer_id}")
        line.picked = found
        line.status = PickLineStatus.SHORT
        line.picked_by = actor
        line.picked_at = timezone.now()
        line.save(update_fields=["picked", "status", "picked_by", "picked_at"])
    level = stock_locks.lock_stock_levels([(location.pk, product.pk)])[(location.pk, product.pk)]
    loss = min(missing, level.available)  # never below what other holds still need
    found_all = sum(found for _, found in shorts)
    wanted_all = sum(line.quantity for line, _ in shorts)
    stock.stock_discrepancy_record(
        product=product,
        location=location,
        observed=level.on_hand - loss,
        reason=f"{reason}: {found_all} of {wanted_all} found",
        reference=references[0] if len(references) == 1 else f"pick_list:{pick_list_id}",
        cause=DiscrepancyCause.SHORT_PICK,
        actor=actor,
    )
    if resource:
        from orders.tasks import order_lines_resource_task

        location_id, code = location.pk, location.code
        transaction.on_commit(
            lambda: order_lines_resource_task.delay(
                resource, why=f"short pick at {code}", exclude=[location_id]
            )
        )


@transaction.atomic
def pick_line_short(*, pick_line: PickLine, found: int, actor: User | None = None) -> PickLine:
    """The shelf holds fewer than the line wants: ``found`` units in all. The missing units
    leave the hold and the ledger (an adjustment, flagged for a count at this location); an
    order line is re-sourced elsewhere after commit, or backordered; a transfer line ships less.
    """
    line = _open_line(pick_line)
    stock.check_quantity(found, field="found", allow_zero=True)
    if not line.picked <= found < line.quantity:
        raise ShortPickInvalid(line)
    before = line.picked
    _short_lines(line.pick_list.location, line.product, [(line, found)], line.pick_list_id, actor)
    _after_lines_changed(line.pick_list_id, line.task_id, found - before)
    return line


@transaction.atomic
def pick_task_short(*, task: PickTask, found: int, actor: User | None = None) -> PickTask:
    """The bin holds fewer than the task wants: ``found`` units in all (those picked already
    included). They go to the task's lines in tote order; the lines left without their units
    are short picks (``pick_line_short``'s rules: holds shrink and are re-sourced after
    commit, transfers ship less, one adjustment flagged for a count)."""
    pick_list = lock_pick_list(task.pick_list_id)
    task = lock_pick_task(task.pk)
    if task.status != PickTaskStatus.OPEN:
        raise PickTaskClosed(task)
    stock.check_quantity(found, field="found", allow_zero=True)
    if not task.picked <= found < task.quantity:
        raise ShortPickInvalid(task)  # type: ignore[arg-type]
    lines = lock_task_lines(task)
    # Units already credited sit in the first totes; the newly found ones fill the next.
    extra = found - task.picked
    credited = _credit(lines, extra, actor)
    shorts = [(ln, ln.picked) for ln in lines if ln.status == PickLineStatus.OPEN]
    location = Location.objects.get(pk=pick_list.location_id)
    if shorts:
        _short_lines(location, task.product, shorts, pick_list.pk, actor)
    _after_lines_changed(pick_list.pk, task.pk, credited)
    task.refresh_from_db()
    return task


__all__ = [
    "DEFAULT_WAVE_LIMITS",
    "WAVE_MODES",
    "WORKED_ON_STATUSES",
    "ScanOutcome",
    "WaveCandidate",
    "WaveLimits",
    "WavePlan",
    "pick_line_confirm",
    "pick_line_short",
    "pick_list_scan",
    "pick_task_scan",
    "pick_task_short",
    "pick_wave_create",
    "pick_wave_plan",
    "scan_matches",
]
