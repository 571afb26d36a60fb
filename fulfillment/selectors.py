"""Reads of fulfillment, scoped to the caller's locations (another store's pick list or
pickup is as unknown as a missing one)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

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


@dataclass
class PackItem:
    product: Product
    ready: int  # picked here, not yet in a package
    ordered: int  # the order line's quantity


@dataclass
class PackOrder:
    order: Order
    items: list[PackItem] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(item.ready for item in self.items)


def pack_queue(location: Location) -> list[PackOrder]:
    """Delivery orders with units picked at ``location`` and not packed yet, oldest first."""
    packed = (
        PackageLine.objects.filter(allocation=OuterRef("allocation"))
        .values("allocation")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    lines = (
        PickLine.objects.filter(
            pick_list__location=location,
            allocation__isnull=False,
            allocation__reservation__status=ReservationStatus.ACTIVE,
            allocation__line__order__mode=OrderMode.DELIVERY,
            allocation__line__order__status__in=PACKABLE_STATUSES,
            picked__gt=0,
        )
        .annotate(packed=Coalesce(Subquery(packed), 0))
        .filter(picked__gt=F("packed"))
        .select_related("product", "allocation__line__order")
        .order_by("allocation__line__order__created_at", "allocation__line__order_id", "id")
    )
    queue: dict[int, PackOrder] = {}
    for line in lines:
        assert line.allocation is not None
        order_line = line.allocation.line
        entry = queue.setdefault(order_line.order_id, PackOrder(order=order_line.order))
        ready = line.picked - line.packed
        for item in entry.items:
            if item.product.pk == line.product_id:
                item.ready += ready
                break
        else:
            entry.items.append(
                PackItem(product=line.product, ready=ready, ordered=order_line.quantity)
            )
    return list(queue.values())


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
