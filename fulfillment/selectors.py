"""Reads of fulfillment, scoped to the caller's locations (another store's pick list or
pickup is as unknown as a missing one)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet, Sum

from inventory.models import (
    Location,
    Product,
    ReservationStatus,
    TransferLine,
    TransferStatus,
)
from omni.access import scope_to_locations, visible_one
from omni.models import User
from orders.models import Allocation, Order, OrderLine, OrderMode, OrderStatus, PaymentStatus

from .errors import UnknownPackage, UnknownPickList, UnknownPickTask
from .models import (
    Package,
    PackageLine,
    PackageStatus,
    PickLine,
    PickLineStatus,
    PickList,
    PickScan,
    PickTask,
    PickTaskStatus,
)

# Forward keys are joined inside a prefetch (select_related), never prefetched on their own:
# Django 5.2 prefetches a forward key with a tuple lookup that SQLite spells as one OR per
# distinct key, and SQLite refuses expressions of more than 1,000 terms.
PICK_LINES = Prefetch(
    "lines", queryset=PickLine.objects.select_related("product", "allocation__line")
)
PACKAGE_LINES = Prefetch(
    "lines", queryset=PackageLine.objects.select_related("allocation__line__product")
)
ORDER_LINES = Prefetch("lines", queryset=OrderLine.objects.select_related("product"))

# Orders whose held stock may go on a pick list: paid deliveries, and pickups (paid or not:
# the customer may pay at the counter). A partly shipped order's rest, routed again after a short
# pick or a wait, is picked where it is now held.
PICKABLE_STATUSES = (
    OrderStatus.RESERVED,
    OrderStatus.BACKORDERED,
    OrderStatus.PROCESSING,
    OrderStatus.PARTIALLY_SHIPPED,
)


def pickable_allocations(
    location: Location, orders: Sequence[Order] | None = None
) -> QuerySet[Allocation]:
    """Held order lines a wave at ``location`` would take: paid deliveries and pickups, still
    held, not on a pick list yet."""
    allocations = Allocation.objects.filter(
        location=location,
        reservation__status=ReservationStatus.ACTIVE,
        line__order__status__in=PICKABLE_STATUSES,
    ).filter(
        Q(line__order__payment_status=PaymentStatus.PAID) | Q(line__order__mode=OrderMode.PICKUP)
    )
    if orders is not None:
        allocations = allocations.filter(line__order__in=orders)
    on_a_list = PickLine.objects.filter(allocation__isnull=False).values("allocation_id")
    return allocations.exclude(pk__in=on_a_list)


def pickable_transfer_lines(location: Location) -> QuerySet[TransferLine]:
    """Approved transfer lines leaving ``location`` that are not on a pick list yet."""
    on_a_list = PickLine.objects.filter(transfer_line__isnull=False).values("transfer_line_id")
    return TransferLine.objects.filter(
        transfer__source=location, transfer__status=TransferStatus.APPROVED
    ).exclude(pk__in=on_a_list)


def pick_list_list(
    *, user: User, location: str | None = None, status: str | None = None
) -> QuerySet[PickList]:
    lists = scope_to_locations(user, PickList.objects.select_related("location"), "location")
    if location:
        lists = lists.filter(location__code=location)
    if status:
        lists = lists.filter(status=status)
    return lists.prefetch_related(PICK_LINES).order_by("-id")


def pick_list_visible(user: User, pick_list_id: int) -> PickList:
    lists = scope_to_locations(user, PickList.objects.select_related("location"), "location")
    return visible_one(lists.prefetch_related(PICK_LINES), UnknownPickList, pk=pick_list_id)


def pick_line_visible(user: User, pick_list_id: int, line_id: int) -> PickLine:
    """A line of a pick list the user may see; a line of another list is no such line."""
    pick_list = pick_list_visible(user, pick_list_id)
    return visible_one(pick_list.lines.all(), lambda: UnknownPickList(line=True), pk=line_id)


def package_visible(user: User, package_id: int) -> Package:
    packages = scope_to_locations(
        user, Package.objects.select_related("location", "order"), "location"
    )
    return visible_one(packages.prefetch_related(PACKAGE_LINES), UnknownPackage, pk=package_id)


PICKUP_QUEUE_STATUSES = (
    OrderStatus.RESERVED,
    OrderStatus.BACKORDERED,
    OrderStatus.PROCESSING,
    OrderStatus.READY_FOR_PICKUP,
)


def pickup_queue(*, user: User, store_id: int | None = None) -> QuerySet[Order]:
    """Pickups waiting at the user's stores, oldest first: to prepare, or ready to hand over."""
    orders = scope_to_locations(
        user,
        Order.objects.filter(mode=OrderMode.PICKUP, status__in=PICKUP_QUEUE_STATUSES),
        "pickup_store",
    )
    if store_id is not None:
        orders = orders.filter(pickup_store_id=store_id)
    return (
        orders.select_related("pickup_store", "channel")
        .prefetch_related(ORDER_LINES)
        .order_by("created_at", "id")
    )


# --------------------------------------------------------------------------- the staff pages
# What waits at one location, shaped for a page. Each function takes a location the caller has
# already checked the user may see (``staff.views.common.staff_page`` and the location picker).

# Orders whose picked units may still be packed: not cancelled, expired or already shipped.
PACKABLE_STATUSES = (
    OrderStatus.PROCESSING,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.BACKORDERED,
    OrderStatus.RESERVED,
)


# --------------------------------------------------------------------------- picking


def waiting_to_pick(location: Location) -> int:
    """Order allocations and transfer lines a new wave at ``location`` would take."""
    return pickable_allocations(location).count() + pickable_transfer_lines(location).count()


@dataclass(frozen=True)
class PickListSummary:
    pick_list: PickList
    lines: int
    units: int
    picked: int
    open_lines: int


def pick_list_summaries(pick_lists: Iterable[PickList]) -> list[PickListSummary]:
    """Totals of pick lists whose ``lines`` are prefetched (``selectors.pick_list_list``).
    A batched list keeps them on its row (``lines_count``, ``units_total``, ...)."""
    summaries = []
    for pick_list in pick_lists:
        lines = list(pick_list.lines.all())
        summaries.append(
            PickListSummary(
                pick_list=pick_list,
                lines=len(lines),
                units=sum(ln.quantity for ln in lines),
                picked=sum(ln.picked for ln in lines),
                open_lines=sum(1 for ln in lines if ln.status == PickLineStatus.OPEN),
            )
        )
    return summaries


def pick_lines(pick_list: PickList) -> list[PickLine]:
    """The lines in walking order, with what each serves (an order or a transfer)."""
    return list(
        pick_list.lines.select_related(
            "product", "allocation__line__order", "transfer__destination"
        ).order_by("bin", "product__sku", "id")
    )


# --------------------------------------------------------------------------- batch picking


@dataclass(frozen=True)
class ToteShare:
    """How many units of a task go to one tote (an order or a transfer of the wave)."""

    tote: int
    quantity: int
    picked: int
    status: str
    order_id: int | None
    transfer_id: int | None


@dataclass(frozen=True)
class PickProgress:
    """What a picker's handheld shows: the list's counters, the current stop and its totes,
    and the next stop. Read in a fixed number of queries whatever the wave's size."""

    pick_list: PickList
    current: PickTask | None
    next: PickTask | None
    totes: list[ToteShare]
    last_scan: PickScan | None

    @property
    def done(self) -> bool:
        return self.current is None


def pick_task_visible(user: User, pick_list_id: int, task_id: int) -> PickTask:
    """A task of a pick list the user may see; a task of another list is no such task."""
    lists = scope_to_locations(user, PickList.objects.all(), "location")
    return visible_one(
        PickTask.objects.filter(pick_list__in=lists, pick_list_id=pick_list_id).select_related(
            "product", "pick_list"
        ),
        UnknownPickTask,
        pk=task_id,
    )


def pick_list_head(user: User, pick_list_id: int) -> PickList:
    """A pick list the user may see, without its lines (one row: its counters)."""
    lists = scope_to_locations(
        user, PickList.objects.select_related("location", "assigned_to"), "location"
    )
    return visible_one(lists, UnknownPickList, pk=pick_list_id)


def pick_progress(pick_list: PickList) -> PickProgress:
    """The current and next open tasks (walking order), the current one's totes and the last
    scan: three queries (plus one when ``pick_list`` is read again), each by an index of the
    list (``picktask_walk``, ``pickline_task_tote``, ``pickscan_list``), never the whole
    wave."""
    head = list(
        PickTask.objects.filter(pick_list=pick_list, status=PickTaskStatus.OPEN)
        .select_related("product")
        .order_by("sequence")[:2]
    )
    current = head[0] if head else None
    totes = []
    if current is not None:
        totes = [
            ToteShare(
                tote=tote or 0,
                quantity=quantity,
                picked=picked,
                status=status,
                order_id=order_id,
                transfer_id=transfer_id,
            )
            for tote, quantity, picked, status, order_id, transfer_id in PickLine.objects.filter(
                task=current
            )
            .order_by("tote", "id")
            .values_list(
                "tote", "quantity", "picked", "status", "allocation__line__order_id", "transfer_id"
            )
        ]
    last_scan = (
        PickScan.objects.filter(pick_list=pick_list).select_related("task").order_by("-id").first()
    )
    return PickProgress(
        pick_list=pick_list,
        current=current,
        next=head[1] if len(head) > 1 else None,
        totes=totes,
        last_scan=last_scan,
    )


def pick_tasks(pick_list: PickList) -> list[PickTask]:
    """Every task of a list in walking order (the printed list, a supervisor's view)."""
    return list(pick_list.tasks.select_related("product").order_by("sequence"))


# --------------------------------------------------------------------------- packing

# How many of the oldest-promised candidates sort to order looks at to prefer an order that can
# be packed now: the scan's cost stays the same however many orders wait.
SORT_CANDIDATES = 20
PACK_QUEUE_LIMIT = 50


def tote_of(line: PickLine) -> int | None:
    """The tote the line's units were picked into (batch picking: its order's tote in the
    pick list), if any."""
    return line.tote


def unpacked_lines(location: Location) -> QuerySet[PickLine]:
    """Order pick lines at ``location`` with units picked and not packed yet, of delivery
    orders still to ship. Read through the partial index ``pickline_unpacked``: its rows are
    the work in progress, whatever the history of the location."""
    return PickLine.objects.filter(
        pick_list__location=location,
        allocation__isnull=False,
        picked__gt=F("packed"),
        allocation__reservation__status=ReservationStatus.ACTIVE,
        allocation__line__order__mode=OrderMode.DELIVERY,
        allocation__line__order__status__in=PACKABLE_STATUSES,
    )


def _by_promise(prefix: str = "allocation__line__order__") -> list[Any]:
    """Oldest promise first (no promise: after those with one), then oldest order."""
    return [
        F(f"{prefix}promised_at").asc(nulls_last=True),
        f"{prefix}created_at",
        f"{prefix}id",
    ]


@dataclass(frozen=True)
class OrderPickProgress:
    """How far an order's units at one location are picked: ``ready`` when every unit still
    held there is picked or recorded short (nothing is left to pick)."""

    picked: int
    wanted: int
    ready: bool


def order_pick_progress(
    order_ids: Iterable[int], location: Location
) -> dict[int, OrderPickProgress]:
    """Per order: units picked of the units held at ``location`` (two queries for any number of
    orders). An order with nothing held there is absent."""
    allocations = list(
        Allocation.objects.filter(
            line__order_id__in=list(order_ids),
            location=location,
            reservation__status=ReservationStatus.ACTIVE,
        ).values_list("pk", "line__order_id", "quantity")
    )
    lines = {
        a: (quantity, picked, status)
        for a, quantity, picked, status in PickLine.objects.filter(
            allocation_id__in=[a for a, _, _ in allocations]
        ).values_list("allocation_id", "quantity", "picked", "status")
    }
    totals: dict[int, list[int]] = {}
    for allocation_id, order_id, quantity in allocations:
        entry = totals.setdefault(order_id, [0, 0, 1])
        line = lines.get(allocation_id)
        if line is None:  # held here, on no pick list yet
            entry[1] += quantity
            entry[2] = 0
            continue
        wanted, picked, status = line
        entry[0] += picked
        entry[1] += wanted
        if status == PickLineStatus.OPEN:
            entry[2] = 0
    return {
        order_id: OrderPickProgress(picked=p, wanted=w, ready=bool(r))
        for order_id, (p, w, r) in totals.items()
    }


@dataclass(frozen=True)
class SortTarget:
    """Where a scanned unit goes at the packing station: the order (and its tote) whose picked
    units wait for it, and whether that order may be packed now."""

    pick_line: PickLine
    order: Order
    tote: int | None
    ready: bool
    open_package: bool


def sort_to_order(
    location: Location, product: Product, *, exclude_order: int | None = None
) -> SortTarget | None:
    """The order a picked unit of ``product`` belongs to: among the orders at ``location``
    whose picked and unpacked units include it, oldest promise first, preferring one that may
    be packed now (fully picked here, or with a package open). One indexed query over the
    ``SORT_CANDIDATES`` oldest candidates, then two for their progress: the same cost with ten
    orders waiting or ten thousand."""
    lines = unpacked_lines(location).filter(product=product)
    if exclude_order is not None:
        lines = lines.exclude(allocation__line__order_id=exclude_order)
    candidates = list(
        lines.select_related("allocation__line__order").order_by(*_by_promise(), "id")[
            :SORT_CANDIDATES
        ]
    )
    if not candidates:
        return None
    order_ids = {ln.allocation.line.order_id for ln in candidates if ln.allocation}
    progress = order_pick_progress(order_ids, location)
    opened = set(
        Package.objects.filter(
            order_id__in=order_ids, location=location, status=PackageStatus.OPEN
        ).values_list("order_id", flat=True)
    )

    def target(line: PickLine) -> SortTarget:
        assert line.allocation is not None
        order = line.allocation.line.order
        state = progress.get(order.pk)
        return SortTarget(
            pick_line=line,
            order=order,
            tote=tote_of(line),
            ready=bool(state and state.ready),
            open_package=order.pk in opened,
        )

    targets = [target(ln) for ln in candidates]
    return next((t for t in targets if t.ready or t.open_package), targets[0])


@dataclass
class PackItem:
    product: Product
    ordered: int  # the order line's quantity
    picked: int = 0  # picked here (on this order's pick lines)
    packed: int = 0  # in a package, open, packed or shipped
    in_open: int = 0  # in the package being packed now

    @property
    def ready(self) -> int:
        """Picked here, not in a package yet."""
        return self.picked - self.packed


@dataclass
class PackOrder:
    order: Order
    items: list[PackItem] = field(default_factory=list)
    totes: list[int] = field(default_factory=list)
    tote_codes: list[str] = field(default_factory=list)  # "17-3": tote 3 of pick list 17
    progress: OrderPickProgress | None = None
    open_package: Package | None = None

    @property
    def units(self) -> int:
        """Units picked here and not packed yet."""
        return sum(item.ready for item in self.items)

    @property
    def ready(self) -> bool:
        """Every unit held here is picked (or recorded short): the order may be packed."""
        return self.progress is not None and self.progress.ready


def _pack_order(order: Order, lines: Iterable[PickLine]) -> PackOrder:
    entry = PackOrder(order=order)
    items: dict[int, PackItem] = {}
    for line in lines:
        assert line.allocation is not None
        item = items.get(line.product_id)
        if item is None:
            item = items[line.product_id] = PackItem(
                product=line.product, ordered=line.allocation.line.quantity
            )
        item.picked += line.picked
        item.packed += line.packed
        tote = tote_of(line)
        if tote is not None and tote not in entry.totes:
            entry.totes.append(tote)
        if tote is not None and f"{line.pick_list_id}-{tote}" not in entry.tote_codes:
            entry.tote_codes.append(f"{line.pick_list_id}-{tote}")
    entry.items = list(items.values())
    entry.totes.sort()
    return entry


def orders_to_pack(location: Location) -> int:
    """How many delivery orders have units picked at ``location`` and not packed yet."""
    return unpacked_lines(location).values("allocation__line__order_id").distinct().count()


def pack_queue(location: Location, limit: int = PACK_QUEUE_LIMIT) -> tuple[list[PackOrder], int]:
    """Delivery orders with units picked at ``location`` and not packed yet, oldest promise
    first (at most ``limit``), each with its picking progress there (ready to pack, or only
    as a partial shipment) and its totes; and how many such orders there are in all."""
    waiting = unpacked_lines(location)
    total = orders_to_pack(location)
    order_ids: list[int] = []
    for order_id in (
        waiting.order_by(*_by_promise()).values_list("allocation__line__order_id", flat=True)
    ).iterator():
        if order_id not in order_ids:
            order_ids.append(order_id)
            if len(order_ids) == limit:
                break
    return pack_orders(order_ids, location), total


def pack_orders(order_ids: Sequence[int], location: Location) -> list[PackOrder]:
    """What each of these orders has picked and packed at ``location``, in the given order."""
    lines = (
        PickLine.objects.filter(
            pick_list__location=location, allocation__line__order_id__in=list(order_ids)
        )
        .select_related("product", "allocation__line__order")
        .order_by("product__sku", "id")
    )
    by_order: dict[int, list[PickLine]] = {}
    for line in lines:
        assert line.allocation is not None
        by_order.setdefault(line.allocation.line.order_id, []).append(line)
    progress = order_pick_progress(order_ids, location)
    open_packages = {
        p.order_id: p
        for p in Package.objects.filter(
            order_id__in=list(order_ids), location=location, status=PackageStatus.OPEN
        ).prefetch_related(PACKAGE_LINES)
    }
    entries = []
    for order_id in order_ids:
        order_lines = by_order.get(order_id)
        if not order_lines:
            continue
        assert order_lines[0].allocation is not None
        entry = _pack_order(order_lines[0].allocation.line.order, order_lines)
        entry.progress = progress.get(order_id)
        entry.open_package = open_packages.get(order_id)
        if entry.open_package is not None:
            for package_line in entry.open_package.lines.all():
                for item in entry.items:
                    if item.product.pk == package_line.allocation.line.product_id:
                        item.in_open += package_line.quantity
        entries.append(entry)
    return entries


TOTE_CODE = re.compile(r"^T?(\d{1,12})[-/](\d{1,4})$", re.IGNORECASE)


def order_in_tote(location: Location, code: str) -> int | None:
    """The delivery order whose units are in the tote a code names at ``location``: the pick
    list and the tote number, ``17-3`` (or ``T17-3``), as the packing pages show it."""
    match = TOTE_CODE.match(code.strip())
    if match is None:
        return None
    return (
        PickLine.objects.filter(
            pick_list_id=int(match.group(1)),
            pick_list__location=location,
            tote=int(match.group(2)),
            allocation__isnull=False,
        )
        .values_list("allocation__line__order_id", flat=True)
        .first()
    )


def open_packages(location: Location) -> list[Package]:
    """Parcels being packed at ``location`` (scanned into, not closed yet)."""
    return list(
        Package.objects.filter(location=location, status=PackageStatus.OPEN)
        .select_related("order")
        .prefetch_related(PACKAGE_LINES)
        .order_by("created_at", "id")
    )


def packed_packages(location: Location) -> list[Package]:
    """Parcels packed at ``location`` that have not left yet."""
    return list(
        Package.objects.filter(location=location, status=PackageStatus.PACKED)
        .select_related("order")
        .prefetch_related(PACKAGE_LINES)
        .order_by("created_at", "id")
    )


def shipped_recently(location: Location, limit: int = 10) -> list[Package]:
    return list(
        Package.objects.filter(location=location, status=PackageStatus.SHIPPED)
        .select_related("order")
        .prefetch_related(PACKAGE_LINES)
        .order_by("-shipped_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class PackageNumber:
    """A package's place among its order's packages: "package ``n`` of ``of``"."""

    n: int
    of: int


def package_number(package: Package) -> PackageNumber:
    """Counted over the order's packages (every location), in the order they were started."""
    ids = list(
        Package.objects.filter(order_id=package.order_id)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    return PackageNumber(n=ids.index(package.pk) + 1, of=len(ids))


# --------------------------------------------------------------------------- store pickup


@dataclass
class PickupProgress:
    pick_list_id: int | None = None  # the newest pick list of the order at its store
    wanted: int = 0
    picked: int = 0
    fully_picked: bool = False


def pickup_progress(orders: Sequence[Order], store: Location) -> dict[int, PickupProgress]:
    """Per pickup order (lines prefetched): how far its picking at ``store`` has come. Fully
    picked is the rule of ``services.pickup_mark_ready``: every line's units picked there."""
    rows = PickLine.objects.filter(
        allocation__line__order__in=orders, pick_list__location=store
    ).values_list("allocation__line__order_id", "allocation__line_id", "pick_list_id", "picked")
    picked_by_line: dict[int, int] = {}
    newest_list: dict[int, int] = {}
    for order_id, line_id, pick_list_id, picked in rows:
        picked_by_line[line_id] = picked_by_line.get(line_id, 0) + picked
        newest_list[order_id] = max(newest_list.get(order_id, 0), pick_list_id)
    progress = {}
    for order in orders:
        lines = list(order.lines.all())
        progress[order.pk] = PickupProgress(
            pick_list_id=newest_list.get(order.pk),
            wanted=sum(ln.quantity for ln in lines),
            picked=sum(min(picked_by_line.get(ln.pk, 0), ln.quantity) for ln in lines),
            fully_picked=bool(lines)
            and all(picked_by_line.get(ln.pk, 0) >= ln.quantity for ln in lines),
        )
    return progress


# --------------------------------------------------------------------------- the pick pages
# What the supervisor's pages read besides ``pick_progress``: a page of tasks at a time with
# their totes, the lists of a location by their counters, never every line of a wave.


def pick_list_headers(*, user: User, location: Location) -> QuerySet[PickList]:
    """The pick lists of ``location`` the user may see, newest first, without their lines."""
    lists = scope_to_locations(
        user, PickList.objects.select_related("location", "assigned_to"), "location"
    )
    return lists.filter(location=location).order_by("-id")


@dataclass(frozen=True)
class ToteUnits:
    """The units of a task that go into one tote (an order or a transfer of the wave)."""

    tote: int
    quantity: int
    order_id: int | None = None
    transfer_id: int | None = None


def pick_task_page(pick_list: PickList) -> QuerySet[PickTask]:
    """The list's tasks in walking order, with their products (paginate it)."""
    return (
        PickTask.objects.filter(pick_list=pick_list).select_related("product").order_by("sequence")
    )


def pick_tasks_with_totes(tasks: Sequence[PickTask]) -> list[tuple[PickTask, list[ToteUnits]]]:
    """Each task with every tote it fills, in one query for all of them."""
    by_task: dict[int, list[ToteUnits]] = {task.pk: [] for task in tasks}
    rows = (
        PickLine.objects.filter(task__in=[task.pk for task in tasks])
        .values("task_id", "tote", "allocation__line__order_id", "transfer_id")
        .annotate(units=Sum("quantity"))
        .order_by("task_id", "tote")
    )
    for row in rows:
        by_task[row["task_id"]].append(
            ToteUnits(
                tote=row["tote"] or 0,
                quantity=row["units"],
                order_id=row["allocation__line__order_id"],
                transfer_id=row["transfer_id"],
            )
        )
    return [(task, by_task[task.pk]) for task in tasks]


@dataclass(frozen=True)
class Tote:
    """A tote of a wave and what it collects for: an order, or a transfer to a location."""

    tote: int
    order_id: int | None
    external_id: str
    transfer_id: int | None
    destination: str


def pick_list_totes(pick_list: PickList) -> list[Tote]:
    """Every tote of the list with its order or transfer, for the paper list's legend."""
    rows = (
        PickLine.objects.filter(pick_list=pick_list)
        .values_list(
            "tote",
            "allocation__line__order_id",
            "allocation__line__order__external_id",
            "transfer_id",
            "transfer__destination__code",
        )
        .distinct()
        .order_by("tote")
    )
    return [
        Tote(
            tote=tote or 0,
            order_id=order_id,
            external_id=external_id or "",
            transfer_id=transfer_id,
            destination=destination or "",
        )
        for tote, order_id, external_id, transfer_id, destination in rows
    ]


def pick_list_modes(pick_list: PickList) -> set[str]:
    """The order modes on the list (delivery, pickup): where its totes go next."""
    return set(
        PickLine.objects.filter(pick_list=pick_list, allocation__isnull=False)
        .values_list("allocation__line__order__mode", flat=True)
        .distinct()
    )


def pick_wave_stops(
    *, location: Location, order_ids: Sequence[int], transfer_ids: Sequence[int]
) -> int:
    """The bin stops a planned wave would make: one per SKU among what its orders hold at
    ``location`` and its transfers take."""
    order_skus = Allocation.objects.filter(
        location=location, line__order_id__in=order_ids
    ).values_list("line__product_id", flat=True)
    transfer_skus = TransferLine.objects.filter(transfer_id__in=transfer_ids).values_list(
        "product_id", flat=True
    )
    return len(set(order_skus) | set(transfer_skus))
