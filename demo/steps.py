"""The demo pilot city (Hangzhou: one DC, eight stores, 520 SKUs) and a scripted day of stock
work on it. ``manage.py demo`` runs it; later stages of the product add their own steps.

Everything is deterministic (a seeded random generator) and safe to run again on the same
database: master data is created once, opening stock is received once, and each run adds one
more scripted batch.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

if TYPE_CHECKING:
    from demo.simulation import HourReport
    from fulfillment.models import PickList

from fulfillment.picking import picker_minutes
from inventory import services
from inventory.errors import CountBelowReserved
from inventory.models import (
    Location,
    LocationKind,
    Product,
    Receipt,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMove,
    Transfer,
)
from inventory.services import ReceivedLine
from network.rollout import rollout_apply, rollout_load
from omni.errors import ApplicationError
from omni.models import City, Role, User

from .valuation import supplier_cost

DEMO_PASSWORD = "omni-demo"
PILOT_NAME = "network/rollouts/pilot.toml"
PILOT_ROLLOUT = Path(__file__).resolve().parent.parent / "network" / "rollouts" / "pilot.toml"
PILOT_CITY = "hangzhou"
CATEGORIES = {
    "BEV": [
        "Oolong tea",
        "Jasmine tea",
        "Soy milk",
        "Sparkling water",
        "Orange juice",
        "Cola",
        "Coconut water",
        "Green tea",
        "Lemon tea",
        "Mineral water",
    ],
    "SNK": [
        "Rice crackers",
        "Seaweed snack",
        "Sunflower seeds",
        "Dried mango",
        "Peanuts",
        "Potato chips",
        "Egg rolls",
        "Walnut cake",
        "Beef jerky",
        "Milk candy",
    ],
    "DRY": [
        "Jasmine rice",
        "Rice noodles",
        "Soy sauce",
        "Black vinegar",
        "Sesame oil",
        "Instant noodles",
        "Chili oil",
        "Dried mushrooms",
        "Oat flakes",
        "Glutinous rice",
    ],
    "HOU": [
        "Dish soap",
        "Laundry pods",
        "Paper towels",
        "Trash bags",
        "Sponges",
        "Toilet paper",
        "Floor cleaner",
        "Cling film",
        "Storage box",
        "Hangers",
    ],
    "PER": [
        "Toothpaste",
        "Shampoo",
        "Face wash",
        "Hand cream",
        "Body wash",
        "Toothbrush",
        "Cotton pads",
        "Sunscreen",
        "Lip balm",
        "Tissues",
    ],
    "BAB": ["Diapers", "Baby wipes", "Infant formula", "Rice cereal", "Baby lotion"],
    "STA": ["Gel pens", "Notebook", "Sticky notes", "Tape", "Scissors"],
}
SIZES = ["S", "M", "L", "250g", "500g", "1kg", "330ml", "500ml", "1L", "6-pack", "12-pack"]
N_SKUS = 520


@dataclass
class DemoReport:
    """What a demo run did, for the summary."""

    created: dict[str, int] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)


def _ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def _products(rng: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    families = [(cat, name) for cat, names in CATEGORIES.items() for name in names]
    i = 0
    while len(rows) < N_SKUS:
        cat, name = families[i % len(families)]
        size = SIZES[(i // len(families)) % len(SIZES)]
        cost = Decimal(rng.randint(150, 12000)) / 100
        rows.append(
            {
                "sku": f"{cat}-{i + 1:04d}",
                "name": f"{name} {size}",
                "barcode": _ean13(f"690{i + 1:09d}"),
                "pack_size": rng.choice([1, 1, 2, 4, 6, 6, 12, 12, 24]),
                "unit_volume": Decimal(rng.randint(2, 60)) / 10000,
                "cost": cost,
                "price": (cost * Decimal(rng.choice(["1.25", "1.35", "1.5", "1.8"]))).quantize(
                    Decimal("0.01")
                ),
            }
        )
        i += 1
    return rows


@transaction.atomic
def load_pilot_city() -> DemoReport:
    """Master data, staff and opening stock (through receipts) — once."""
    report = DemoReport()
    rng = random.Random(42)
    changes = rollout_apply(rollout_load(PILOT_ROLLOUT))
    if changes:
        report.steps.append(f"pilot-city rollout applied: {len(changes)} changes ({PILOT_NAME})")
    dc, stores = pilot_locations()

    existing = set(Product.objects.values_list("sku", flat=True))
    new = [Product(**row) for row in _products(rng) if row["sku"] not in existing]
    Product.objects.bulk_create(new)
    report.created["products"] = len(new)

    _staff("admin", Role.ADMIN, [], superuser=True)
    _staff("planner", Role.PLANNER, [])
    _staff("warehouse", Role.WAREHOUSE, [dc])
    for i, store in enumerate(stores, start=1):
        _staff(f"store{i}", Role.STORE, [store])

    if not Receipt.objects.filter(supplier_reference="OPENING").exists():
        products = list(
            Product.objects.filter(sku__in=[r["sku"] for r in _products(random.Random(42))])
        )
        admin = User.objects.get(username="admin")
        services.stock_receive(
            location=dc,
            lines=[(p, p.pack_size * rng.randint(10, 60)) for p in products],
            supplier="Opening balance",
            supplier_reference="OPENING",
            actor=admin,
        )
        for store in stores:
            ranged = rng.sample(products, k=int(len(products) * 0.6))
            services.stock_receive(
                location=store,
                lines=[(p, rng.randint(2, 40)) for p in ranged],
                supplier="Opening balance",
                supplier_reference="OPENING",
                actor=admin,
            )
        report.steps.append(f"opening stock received at {1 + len(stores)} locations")
    report.steps.extend(lay_out_bins())
    return report


@dataclass(frozen=True)
class Layout:
    """A shelf layout: zones × aisles × bays × levels, walked serpentine."""

    zones: tuple[str, ...]
    aisles: int
    bays: int
    levels: int


DC_LAYOUT = Layout(zones=("A", "B"), aisles=6, bays=12, levels=4)  # 576 bins for 520 SKUs
STORE_LAYOUT = Layout(zones=("S",), aisles=8, bays=10, levels=5)  # 400 bins, ~310 SKUs ranged


def lay_out_bins() -> list[str]:
    """Every location gets its bins (a walking sequence by zone, aisle, bay, level) and every
    SKU stocked there a home bin, fastest movers first (here: the SKUs with most on hand
    there, the closest thing to velocity a new network has) — once; a second run adds only
    what is missing."""
    dc, stores = pilot_locations()
    made = slotted = 0
    for location in [dc, *stores]:
        layout = DC_LAYOUT if location == dc else STORE_LAYOUT
        made += len(
            services.bins_lay_out(
                location=location,
                zones=layout.zones,
                aisles=layout.aisles,
                bays=layout.bays,
                levels=layout.levels,
            )
        )
        stocked = [
            level.product
            for level in StockLevel.objects.filter(location=location, on_hand__gt=0)
            .select_related("product")
            .order_by("-on_hand", "product__sku")
        ]
        slotted += services.home_bins_assign(location=location, products=stocked)
    if not made and not slotted:
        return []
    return [
        f"bins laid out: {made} bins at {1 + len(stores)} locations (zone, aisle, bay, level;"
        f" walked serpentine), {slotted} SKUs given a home bin"
    ]


def pilot_locations() -> tuple[Location, list[Location]]:
    """The pilot city's DC and its stores, as the rollout file declares them."""
    located = Location.objects.filter(city__code=PILOT_CITY).order_by("code")
    return (
        located.get(kind=LocationKind.WAREHOUSE),
        list(located.filter(kind=LocationKind.STORE)),
    )


def _staff(
    username: str, role: Role, locations: list[Location], *, superuser: bool = False
) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username,
            role=role,
            is_staff=superuser or role == Role.ADMIN,
            is_superuser=superuser,
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.locations.set(locations)
    return user


def run_stock_day(seed: int | None = None) -> DemoReport:
    """A scripted batch: receipts, transfers (one short, one over), walk-in hold tickets
    (released, sold at the counter, still held) and counts (one refused below what is reserved)."""
    report = DemoReport()
    rng = random.Random(seed if seed is not None else StockMove.objects.count())
    dc, stores = pilot_locations()
    warehouse = User.objects.get(username="warehouse")
    planner = User.objects.get(username="planner")
    products = list(Product.objects.filter(active=True).order_by("sku"))

    for _ in range(3):
        picked = rng.sample(products, k=20)
        services.stock_receive(
            location=dc,
            lines=[(p, p.pack_size * rng.randint(5, 20)) for p in picked],
            supplier=rng.choice(["Nongfu Supply Co.", "Jiangnan Foods", "Zhejiang Household"]),
            supplier_reference=f"PO-{rng.randint(10000, 99999)}",
            actor=warehouse,
            unit_costs={p.pk: supplier_cost(p.cost, rng.uniform(-0.05, 0.08)) for p in picked},
        )
    report.steps.append("3 supplier receipts at the DC (at today's supplier prices)")

    transfers = []
    for store in stores:
        dc_stock = {
            lvl.product_id: lvl.available
            for lvl in StockLevel.objects.filter(location=dc, on_hand__gt=0)
        }
        candidates = [p for p in products if dc_stock.get(p.pk, 0) >= p.pack_size * 2]
        lines = [(p, p.pack_size * rng.randint(1, 2)) for p in rng.sample(candidates, k=10)]
        transfer = services.transfer_create(
            source=dc, destination=store, lines=lines, reference="demo replenishment", actor=planner
        )
        services.transfer_approve(transfer=transfer, actor=planner)
        transfers.append((transfer, store, lines))
    received = 0
    for i, (transfer, store, lines) in enumerate(transfers):
        if i == len(transfers) - 1:
            continue  # one stays approved, waiting for the truck
        services.transfer_dispatch(transfer=transfer, actor=warehouse)
        if i == len(transfers) - 2:
            continue  # one is on the road
        clerk = store.staff.first()
        report_lines = []
        if i == 0:
            product, qty = lines[0]
            report_lines.append(
                ReceivedLine(product=product, received=qty - 1, reason="carton damaged")
            )
        if i == 1:
            product, qty = lines[0]
            report_lines.append(
                ReceivedLine(product=product, received=qty + 1, reason="one unit over in pack")
            )
        services.transfer_receive(transfer=transfer, lines=report_lines, actor=clerk)
        received += 1
    report.steps.append(
        f"{len(transfers)} DC→store transfers: {received} received (one short, one over),"
        " 1 in transit, 1 approved"
    )

    # Walk-in hold tickets at the counter: three items each; per store one released, one sold
    # at the counter (the customer leaves one item), one still held.
    from orders.services import (
        hold_ticket_draft,
        hold_ticket_hold,
        hold_ticket_line_add,
        hold_ticket_release,
        hold_ticket_sell,
    )

    tickets: Counter[str] = Counter()
    for store in stores:
        clerk = store.staff.first()
        assert clerk is not None
        in_stock = list(
            StockLevel.objects.filter(location=store, on_hand__gt=5).select_related("product")[:200]
        )
        for j in range(3):
            draft = hold_ticket_draft(store=store, actor=clerk)
            for lvl in rng.sample(in_stock, k=3):
                hold_ticket_line_add(ticket=draft, product=lvl.product, quantity=1)
            ticket = hold_ticket_hold(
                ticket=draft,
                customer_name=f"Walk-in {rng.randint(100, 999)}",
                customer_phone=f"139{rng.randint(10_000_000, 99_999_999)}",
                hold_until=timezone.now() + timedelta(hours=4),
                actor=clerk,
            )
            if j == 0:
                hold_ticket_release(ticket=ticket, actor=clerk)
                tickets["released"] += 1
            elif j == 1:
                held_lines = list(ticket.lines.order_by("id"))
                try:
                    hold_ticket_sell(
                        ticket=ticket,
                        quantities={
                            ln.pk: (0 if k == 0 else ln.quantity) for k, ln in enumerate(held_lines)
                        },
                        actor=clerk,
                    )
                except ApplicationError:  # a store whose counter is not live yet keeps it held
                    tickets["held"] += 1
                else:
                    tickets["sold"] += 1
            else:
                tickets["held"] += 1
    report.steps.append(
        f"{sum(tickets.values())} walk-in hold tickets of 3 items: {tickets['released']} released,"
        f" {tickets['sold']} sold at the counter (one item left), {tickets['held']} still held"
    )

    counted_lines = 0
    for store in stores[:3]:
        clerk = store.staff.first()
        levels = list(
            StockLevel.objects.filter(location=store, reserved=0, on_hand__gt=3).select_related(
                "product"
            )[:6]
        )
        lines = [(lvl.product, max(0, lvl.on_hand + rng.choice([-2, -1, 0, 1]))) for lvl in levels]
        services.stock_count(location=store, lines=lines, note="cycle count", actor=clerk)
        counted_lines += len(lines)
    refused = ""
    held = (
        StockLevel.objects.filter(location__in=stores, reserved__gt=0)
        .select_related("product", "location")
        .first()
    )
    if held is not None:
        clerk = held.location.staff.first()
        try:
            services.stock_count(location=held.location, lines=[(held.product, 0)], actor=clerk)
        except CountBelowReserved as exc:
            refused = f"; a count of 0 below {held.reserved} reserved was refused ({exc.code})"
            services.stock_count(
                location=held.location,
                lines=[(held.product, 0)],
                release_holds=True,
                note="shelf empty",
                actor=clerk,
            )
            refused += " and then accepted with its holds released"
    report.steps.append(f"cycle counts of {counted_lines} lines at 3 stores{refused}")
    return report


def run_order_hour(seed: int | None = None, volume: int = 1) -> HourReport:
    """An hour of orders from every live channel of the pilot city (see orders.simulation)."""
    from demo.simulation import simulate_hour
    from orders.models import Order

    run = Order.objects.count()
    return simulate_hour(
        city=City.objects.get(code=PILOT_CITY),
        seed=seed if seed is not None else run,
        volume=volume,
        tag=f"demo{run}",
    )


def order_hour_rows(report: HourReport) -> list[tuple[str, str]]:
    attempted = report.total_placed + sum(report.refused.values())
    placed = ", ".join(f"{code} {n}" for code, n in sorted(report.placed.items()))
    refused = ", ".join(f"{code} {n}" for code, n in sorted(report.refused.items())) or "none"
    nodes = ", ".join(f"{code} {n}" for code, n in sorted(report.units_by_node.items()))
    return [
        ("orders placed", f"{report.total_placed} of {attempted} ({placed})"),
        ("by mode", ", ".join(f"{m} {n}" for m, n in sorted(report.modes.items()))),
        ("units sourced per node", nodes),
        (
            "split rate (deliveries)",
            f"{report.split_rate:.1%} ({report.split} of {report.modes.get('delivery', 0)})",
        ),
        ("refused for stock", f"{sum(report.refused.values())} ({refused})"),
        ("backordered", str(report.backordered)),
        ("unpaid holds expired", str(report.expired)),
        ("counter sales over system stock", f"{report.discrepancies} flagged for a count"),
    ]


@dataclass
class BusyHour:
    """The busy hour and what became of the orders it parked."""

    hour: HourReport
    promoted: list[str]
    delivered_units: int = 0
    parked_fate: Counter[str] = field(default_factory=Counter)
    still_parked_reasons: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    unaccounted: int = 0


def run_busy_hour(seed: int | None = None, volume: int = 10) -> BusyHour:
    """The demo hour at ``volume`` × its orders, with a promotion on the DC's eight scarcest
    SKUs, routed by the rollout's profiles; then the afternoon delivery brings three quarters
    of what the waiting orders miss and the queue is served. Every order of the hour is
    accounted for at the end: filled, waiting with a reason, expired or cancelled."""
    from demo.simulation import simulate_hour
    from orders.models import Order, OrderLine, OrderStatus
    from orders.selectors import waiting_summary
    from orders.services import orders_route_waiting

    dc, _ = pilot_locations()
    city = City.objects.get(code=PILOT_CITY)
    scarce = (
        StockLevel.objects.filter(location=dc, product__active=True, on_hand__gt=F("reserved"))
        .annotate(free=F("on_hand") - F("reserved"))
        .order_by("free", "product__sku")
        .select_related("product")[:8]
    )
    promoted = [level.product for level in scarce]
    run = Order.objects.count()
    hour = simulate_hour(
        city=city,
        seed=seed if seed is not None else run,
        volume=volume,
        tag=f"busy{run}",
        promoted=promoted,
        promoted_share=0.3,
    )
    busy = BusyHour(hour=hour, promoted=[p.sku for p in promoted])

    # The afternoon delivery: three quarters of the units the waiting orders of the hour miss.
    waiting = Order.objects.filter(pk__in=hour.order_ids, waiting_since__isnull=False)
    missing: Counter[int] = Counter()
    for line in OrderLine.objects.filter(order__in=waiting).prefetch_related(
        "allocations__reservation"
    ):
        missing[line.product_id] += line.units_missing
    lines = [
        (Product.objects.get(pk=product_id), math.ceil(units * 0.75))
        for product_id, units in sorted(missing.items())
        if units
    ]
    if lines:
        services.stock_receive(
            location=dc,
            lines=lines,
            supplier="Afternoon delivery",
            supplier_reference=f"PO-BUSY-{run}",
            actor=User.objects.get(username="warehouse"),
        )
        busy.delivered_units = sum(q for _, q in lines)
        # The receipt's commit has queued the same run (on a worker, or inline without one);
        # running it here too makes the figures below final whatever ran first — a second run
        # finds nothing left to route twice.
        orders_route_waiting(product_ids=[p.pk for p, _ in lines], city=city)

    orders = {o.pk: o for o in Order.objects.filter(pk__in=hour.order_ids)}
    busy.statuses = Counter(o.status for o in orders.values())
    for order_id in hour.parked_ids:
        order = orders[order_id]
        if order.status == OrderStatus.PARKED:
            busy.parked_fate["still parked"] += 1
            busy.still_parked_reasons[order.sourcing_reason.split(";")[0]] += 1
        elif order.waiting_since is not None:
            busy.parked_fate["partly filled, waiting for the rest"] += 1
        elif order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
            busy.parked_fate[f"{order.status} before stock came"] += 1
        else:
            busy.parked_fate["filled later"] += 1
    # None lost: every order is settled, or waits with a reason in the queue.
    queue = {w.order.pk for w in waiting_summary(city=city, limit=10**6).orders}
    busy.unaccounted = sum(
        1
        for o in orders.values()
        if (o.waiting_since is not None and (o.pk not in queue or not o.sourcing_reason))
        or (o.status == OrderStatus.PARKED and o.waiting_since is None)
    )
    busy.unaccounted += len(hour.order_ids) - len(orders)
    return busy


def busy_hour_rows(busy: BusyHour) -> list[tuple[str, str]]:
    hour = busy.hour
    routed = hour.routed_orders
    delivery = hour.modes.get("delivery", 0)
    shares = ", ".join(
        f"{code} {n / routed:.1%}" for code, n in sorted(hour.orders_by_node.items()) if routed
    )
    fate = ", ".join(f"{k} {v}" for k, v in sorted(busy.parked_fate.items())) or "none parked"
    reasons = "; ".join(f"{n} × {why}" for why, n in busy.still_parked_reasons.most_common(3))
    return [
        ("orders placed", f"{hour.total_placed} ({routed} routed, the rest counter sales)"),
        ("promotion SKUs (scarce at the DC)", ", ".join(busy.promoted)),
        ("parked when placed", f"{hour.parked} ({hour.parked / routed:.1%} of routed orders)"),
        ("split (deliveries)", f"{hour.split} ({hour.split_rate:.1%} of {delivery})"),
        ("refused for stock", str(sum(hour.refused.values()))),
        ("share of routed orders per node", shares),
        ("afternoon delivery at the DC", f"{busy.delivered_units} units"),
        ("the parked orders since", fate),
        ("still parked, why", reasons or "-"),
        ("status of every order", ", ".join(f"{k} {v}" for k, v in sorted(busy.statuses.items()))),
        ("orders lost or waiting without a reason", str(busy.unaccounted)),
    ]


# Waves the demo picks at the DC; what is left waits for the next ones.
DEMO_WAVES = 3


def _wave_line(number: int, wave: PickList) -> str:
    """One wave in numbers, with the picker's time against picking it line by line (a stop
    per line, as before batch tasks)."""
    minutes = picker_minutes(
        stops=wave.tasks_total, units=wave.units_total, totes=wave.orders_count
    )
    by_line = picker_minutes(
        stops=wave.lines_count, units=wave.units_total, totes=wave.orders_count
    )
    per_stop = wave.lines_count / max(wave.tasks_total, 1)
    return (
        f"wave {number} (pick list {wave.pk}): {wave.orders_count} orders, {wave.lines_count}"
        f" lines, {wave.tasks_total} bin visits ({per_stop:.1f} lines per bin visit),"
        f" {wave.units_total} units, {wave.units_picked} picked; ~{minutes:.0f} picker-minutes"
        f" → {wave.units_picked / minutes * 60:.0f} units per picker-hour (line by line:"
        f" ~{by_line:.0f} min, {wave.units_picked / by_line * 60:.0f} units/h)"
    )


def _pick_by_scanning(wave: PickList, picker: User, *, short_one: bool) -> bool:
    """Walk the wave's tasks as a handheld does: one scan per stop for its units (the scanner
    sends the quantity); the first stop of more than one unit is found one short when
    ``short_one``. Returns whether a short was reported."""
    import uuid

    from fulfillment import selectors as picking
    from fulfillment import services as fulfil

    shorted = False
    while (task := picking.pick_progress(wave).current) is not None:
        if short_one and not shorted and task.quantity > 1:
            fulfil.pick_task_short(task=task, found=task.quantity - 1, actor=picker)
            shorted = True
            continue
        fulfil.pick_task_scan(
            pick_list=wave,
            scan_id=uuid.uuid4(),
            scanned=task.product.barcode or task.product.sku,
            quantity=task.quantity - task.picked,
            actor=picker,
        )
    return shorted


def _pack_by_sorting(dc: Location, waves: list[PickList], packer: User) -> tuple[int, int]:
    """The packing station after batch picking: every picked unit scanned once, sorted to the
    order that waits for it and packed there; then each package closed and each order's
    packages shipped. Returns (units sorted and packed, packages shipped)."""
    from fulfillment import packing
    from fulfillment.models import Package, PackageStatus, PickLine

    units: Counter[int] = Counter()
    for product_id, picked, packed in PickLine.objects.filter(
        pick_list__in=waves, allocation__isnull=False, picked__gt=F("packed")
    ).values_list("product_id", "picked", "packed"):
        units[product_id] += picked - packed
    products = {p.pk: p for p in Product.objects.filter(pk__in=units)}
    sorted_units = 0
    for product_id, count in sorted(units.items()):
        for _ in range(count):
            try:
                result = packing.pack_station_scan(
                    location=dc,
                    product=products[product_id],
                    scan_id=f"demo-pack-{product_id}-{sorted_units}",
                    actor=packer,
                )
            except ApplicationError:
                break
            if result is None:  # its order is still being picked: it waits in its tote
                break
            sorted_units += 1
    orders = set()
    for n, package in enumerate(
        Package.objects.filter(location=dc, status=PackageStatus.OPEN).order_by("id")
    ):
        packing.package_close(
            package=package,
            carrier="SF Express" if n % 2 else "ZTO Express",
            tracking_number=f"DEMO{package.pk:08d}",
            actor=packer,
        )
        orders.add(package.order)
    shipped = 0
    for order in sorted(orders, key=lambda o: o.pk):
        shipped += len(packing.order_packages_ship(order=order, location=dc, actor=packer))
    return sorted_units, shipped


def run_fulfillment(report: HourReport) -> list[str]:
    """The warehouse's bounded waves over the paid deliveries at the DC, picked in batch
    tasks by scanning (one shelf found short), packing and shipping; one pickup prepared,
    made ready and handed over against its signed
    code; one return to a store."""
    from fulfillment import services as fulfil
    from fulfillment.errors import NothingToPick
    from fulfillment.models import PickLine, PickLineStatus, ReturnDisposition
    from orders.models import Order, OrderMode, OrderStatus

    steps: list[str] = []
    dc, stores = pilot_locations()
    picker = User.objects.get(username="warehouse")
    waves: list[PickList] = []
    short_done = False
    for _ in range(DEMO_WAVES):
        try:
            wave = fulfil.pick_wave_create(location=dc, actor=picker, include_transfers=False)
        except NothingToPick:
            break
        waves.append(wave)
        short_done = _pick_by_scanning(wave, picker, short_one=not short_done) or short_done
        wave.refresh_from_db()
        steps.append(_wave_line(len(waves), wave))
    if not waves:
        return ["no paid delivery waits at the DC"]
    plan = fulfil.pick_wave_plan(location=dc, modes=["delivery", "pickup"])
    if plan.taken:
        steps.append(
            f"still waiting at {dc.code} for the next waves: {len(plan.taken) + len(plan.waiting)}"
            f" orders, {plan.lines + plan.waiting_lines} lines"
        )
    orders = Order.objects.filter(
        pk__in=PickLine.objects.filter(pick_list__in=waves).values("allocation__line__order")
    )
    sorted_units, shipped = _pack_by_sorting(dc, waves, picker)
    statuses = Counter(orders.values_list("status", flat=True))
    short_lines = PickLine.objects.filter(pick_list__in=waves, status=PickLineStatus.SHORT)
    steps.append(
        f"{len(waves)} waves at {dc.code}: {short_lines.count()} lines short;"
        f" {sorted_units} units sorted to their orders and packed by scanning,"
        f" {shipped} packages shipped; orders "
        + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    )

    pickup = (
        Order.objects.filter(
            mode=OrderMode.PICKUP, status=OrderStatus.RESERVED, pk__in=report.order_ids
        )
        .select_related("pickup_store")
        .first()
    )
    if pickup is not None and pickup.pickup_store is not None:
        clerk = pickup.pickup_store.staff.first()
        pick_list = fulfil.pickup_prepare(order=pickup, actor=clerk)
        for line in pick_list.lines.select_related("product"):
            fulfil.pick_line_confirm(
                pick_line=line, scanned=line.product.sku, quantity=line.quantity, actor=clerk
            )
        code = fulfil.pickup_mark_ready(order=pickup, actor=clerk)
        token = fulfil.pickup_token(code)
        done = fulfil.pickup_redeem(token=token, store=pickup.pickup_store, actor=clerk)
        steps.append(
            f"pickup of order {pickup.pk} at {pickup.pickup_store.code}: prepared, ready,"
            f" code {token[:24]}… scanned and redeemed → {done.status}"
        )

    delivered = Order.objects.filter(status=OrderStatus.SHIPPED, pk__in=report.order_ids).first()
    if delivered is not None:
        returned = delivered.lines.select_related("product").first()
        assert returned is not None
        ret = fulfil.return_receive(
            order=delivered,
            location=stores[0],
            lines=[fulfil.ReturnedLine(returned.product, 1, ReturnDisposition.RESTOCK)],
            reason="changed mind",
            actor=stores[0].staff.first(),
        )
        steps.append(
            f"return {ret.pk}: 1 × {returned.product.sku} of order {delivered.pk} restocked at"
            f" {stores[0].code}"
        )
    return steps


def run_planning() -> list[str]:
    """The planner's step: allocate the DC's stock across the pilot city's stores (need from
    the current forecast where there is one), approve, and let the transfers run."""
    from demo.allocation import allocation_demo_step
    from forecasting.demand_imports import demand_import
    from forecasting.errors import ForecastRunInProgress
    from forecasting.services import forecast_run_execute, forecast_run_start

    steps = []
    city = City.objects.get(code=PILOT_CITY)
    history = _demo_demand_history()
    imported = demand_import(path=history)
    steps.append(
        f"demand history imported: {imported.rows:,} rows, {imported.series} series"
        f" ({imported.first_day} … {imported.last_day}; synthetic, seeded)"
    )
    try:
        queued = forecast_run_start(city=city, horizon=28, enqueue=False)
    except ForecastRunInProgress as exc:
        steps.append(f"forecast not started: {exc.message}")
    else:
        run = forecast_run_execute(run_id=queued.pk)
        steps.append(
            f"forecast run {run.pk} for {city.code}: {run.status}, {run.series_done} series,"
            f" horizon {run.horizon} days"
        )
        blends = {b["segment"]: b for b in (run.summary or {}).get("blends", [])}
        if "*" in blends:
            weights = ", ".join(f"{m} {w:.2f}" for m, w in blends["*"]["weights"].items())
            origins = ", ".join(run.summary.get("origins", []))
            steps.append(f"  blend chosen on origins {origins}: {weights}")
    return steps + allocation_demo_step(PILOT_CITY)


DEMO_HISTORY_SKUS = 30
DEMO_HISTORY_DAYS = 180


def _demo_demand_history() -> Path:
    """A seeded history of daily store sales for the DC's best-stocked SKUs, ending yesterday
    (the demo's own ledger holds only today): weekly seasonality, intermittent slow movers."""
    import csv
    import math

    from django.conf import settings

    from omni.selectors import city_today

    city = City.objects.get(code=PILOT_CITY)
    dc, stores = pilot_locations()
    products = list(
        StockLevel.objects.filter(location=dc)
        .order_by("-on_hand", "product__sku")
        .values_list("product__sku", flat=True)[:DEMO_HISTORY_SKUS]
    )
    rng = random.Random(2026)
    end = city_today(city) - timedelta(days=1)
    path = Path(settings.VAR_DIR) / "demo_demand.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "location", "date", "quantity"])
        for n, sku in enumerate(products):
            for store in stores:
                level = rng.uniform(0.2, 4.0) if n % 3 else rng.uniform(0.05, 0.4)
                for back in range(DEMO_HISTORY_DAYS, 0, -1):
                    day = end - timedelta(days=back - 1)
                    season = 1.0 + 0.35 * math.sin(2 * math.pi * day.weekday() / 7)
                    units = _poisson(rng, level * season)
                    writer.writerow([sku, store.code, day.isoformat(), units])
    return path


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def summary() -> list[tuple[str, str]]:
    """A few figures a retailer would look at first."""
    dc_units = (
        StockLevel.objects.filter(location__kind=LocationKind.WAREHOUSE).aggregate(
            u=Sum("on_hand")
        )["u"]
        or 0
    )
    store_units = (
        StockLevel.objects.filter(location__kind=LocationKind.STORE).aggregate(u=Sum("on_hand"))[
            "u"
        ]
        or 0
    )
    moves = dict(StockMove.objects.values_list("reason").annotate(n=Count("id")).order_by("reason"))
    transfers = dict(
        Transfer.objects.values_list("status").annotate(n=Count("id")).order_by("status")
    )
    return [
        ("city", ", ".join(City.objects.values_list("name", flat=True))),
        (
            "locations",
            f"{Location.objects.filter(kind=LocationKind.WAREHOUSE).count()} DC, "
            f"{Location.objects.filter(kind=LocationKind.STORE).count()} stores",
        ),
        ("SKUs", str(Product.objects.count())),
        ("units on hand", f"{dc_units:,} at the DC, {store_units:,} in stores"),
        ("ledger moves", ", ".join(f"{k} {v}" for k, v in moves.items())),
        ("active holds", str(Reservation.objects.filter(status=ReservationStatus.ACTIVE).count())),
        ("transfers", ", ".join(f"{k} {v}" for k, v in transfers.items())),
    ]


def logins() -> list[tuple[str, str, str]]:
    rows = []
    staff = User.objects.exclude(role=Role.CHANNEL)
    for user in staff.prefetch_related("locations").order_by("id"):
        where = ", ".join(loc.code for loc in user.locations.all()) or "all locations"
        rows.append((user.username, user.role, where))
    return rows
