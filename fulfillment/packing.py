"""Writes of packing by scanning: each unit scanned into an order's open package, sort to order
at the packing station (a unit from a batch-picking cart goes to the order that waits for it),
closing a package (carrier, service, weight, its parcel number) and shipping an order's
packages. Part of the services of fulfillment, kept apart from ``services`` by section.

An order may be packed once every unit held for it at the location is picked or recorded short,
or, when the packer chooses it, as a partial shipment of what is picked now (the rest stays
open and the order becomes partially shipped when its first package leaves). An order with a
package open has been started already: more scans go on into it.

Every scan carries the id its device gave it (``scan_id``). The first scan with an id is
recorded (``PackScan``, unique on the id); the same id again finds that row and changes nothing,
whether it comes after the first committed or at the same moment (the unique key refuses the
second insert, whose transaction is undone). Scans of one order queue on the order's lock
(``orders.locks.lock_order``, the first lock of the one lock order); a pick line's ``packed``
moves with a conditional UPDATE, so no unit is ever packed twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from inventory import services as stock
from inventory.models import Location, Product
from omni.errors import InvalidInput
from omni.models import User
from orders.locks import lock_order
from orders.models import Order, OrderMode

from .errors import (
    NotFullyPicked,
    NothingToSort,
    NotInOrder,
    NotPicked,
    OverPack,
    PackageInvalidState,
)
from .locks import lock_package
from .models import (
    Package,
    PackageLine,
    PackageStatus,
    PackScan,
    PickLine,
    ShippingService,
)
from .selectors import (
    PACKABLE_STATUSES,
    order_pick_progress,
    sort_to_order,
    tote_of,
    unpacked_lines,
)
from .services import package_ship, scan_matches

MAX_WEIGHT_GRAMS = 1_000_000  # a tonne: a parcel heavier than that is a typing mistake


@dataclass(frozen=True)
class PackScanResult:
    """A scan packed (or found again, ``repeated``): the scan row, and where its order stands."""

    scan: PackScan
    repeated: bool
    order: Order
    tote: int | None
    packed: int  # units of the scanned item of this order in packages, after the scan
    wanted: int  # units of that item the order has picked here and still holds


def _result(scan: PackScan, *, repeated: bool) -> PackScanResult:
    scan = PackScan.objects.select_related(
        "package__order", "pick_line__allocation__line", "product"
    ).get(pk=scan.pk)
    line = scan.pick_line
    assert line.allocation is not None
    order = scan.package.order
    lines = PickLine.objects.filter(
        allocation__line__order=order,
        pick_list__location_id=scan.package.location_id,
        product_id=scan.product_id,
    ).values_list("picked", "packed")
    return PackScanResult(
        scan=scan,
        repeated=repeated,
        order=order,
        tote=tote_of(line),
        packed=sum(packed for _, packed in lines),
        wanted=sum(picked for picked, _ in lines),
    )


def _scan_done(scan_id: str) -> PackScan | None:
    return PackScan.objects.filter(scan_id=scan_id).first()


def _check_scan_id(scan_id: str) -> str:
    scan_id = scan_id.strip()
    if not scan_id or len(scan_id) > 64:
        raise InvalidInput(
            gettext_lazy("A scan needs an id of 1 to 64 characters from the scanning device."),
            detail={"field": "scan_id"},
        )
    return scan_id


def package_scan(
    *,
    order: Order,
    location: Location,
    scanned: str,
    scan_id: str,
    quantity: int = 1,
    partial: bool = False,
    actor: User | None = None,
) -> PackScanResult:
    """A unit (or ``quantity`` units) of an item scanned into ``order``'s open package at
    ``location`` (opened by the first scan). Refused, changing nothing: an item the order does
    not want here (``NotInOrder``, naming the order that does), one unit more than it has
    picked and unpacked (``OverPack``), an order not fully picked unless ``partial`` or a
    package of it is open already (``NotFullyPicked``). The same ``scan_id`` again returns the
    first scan's result."""
    scan_id = _check_scan_id(scan_id)
    done = _scan_done(scan_id)
    if done is not None:
        return _result(done, repeated=True)
    try:
        with transaction.atomic():
            scan, repeated = _pack_one(
                order=order,
                location=location,
                scanned=scanned,
                scan_id=scan_id,
                quantity=quantity,
                partial=partial,
                actor=actor,
            )
    except IntegrityError:
        # The same id at the same moment: the other request recorded it; this one undid all.
        done = _scan_done(scan_id)
        if done is None:
            raise
        return _result(done, repeated=True)
    return _result(scan, repeated=repeated)


def _pack_one(
    *,
    order: Order,
    location: Location,
    scanned: str,
    scan_id: str,
    quantity: int,
    partial: bool,
    actor: User | None,
) -> tuple[PackScan, bool]:
    """The scan, and whether it was recorded already (True) rather than now."""
    order = lock_order(order.pk)
    if order.mode != OrderMode.DELIVERY:
        raise InvalidInput(gettext_lazy("only deliveries are packed; pickups are handed over"))
    if order.status not in PACKABLE_STATUSES:
        raise NotPicked(order, location)
    stock.check_quantity(quantity)
    done = _scan_done(scan_id)  # a twin that committed while this one waited for the lock
    if done is not None:
        return done, True
    lines = list(
        PickLine.objects.filter(allocation__line__order=order, pick_list__location=location)
        .select_related("product", "allocation__line")
        .order_by("id")
    )
    wanted = [ln for ln in lines if scan_matches(ln.product, scanned)]
    if not wanted:
        product = Product.objects.filter(barcode=scanned.strip()).first() or (
            Product.objects.filter(sku__iexact=scanned.strip()).first()
        )
        other = sort_to_order(location, product, exclude_order=order.pk) if product else None
        raise NotInOrder(
            product.sku if product else scanned,
            order,
            other_order=other.order.pk if other else None,
            other_tote=other.tote if other else None,
        )
    open_package = Package.objects.filter(
        order=order, location=location, status=PackageStatus.OPEN
    ).first()
    if open_package is None and not partial:
        progress = order_pick_progress([order.pk], location).get(order.pk)
        if progress is None or not progress.ready:
            raise NotFullyPicked(
                order,
                picked=progress.picked if progress else 0,
                wanted=progress.wanted if progress else 0,
            )
    roomy = [ln for ln in wanted if ln.picked > ln.packed]
    if sum(ln.picked - ln.packed for ln in roomy) < quantity:
        product = wanted[0].product
        raise OverPack(
            order,
            product,
            packed=sum(ln.packed for ln in wanted),
            picked=sum(ln.picked for ln in wanted),
            ordered=sum(ln.allocation.line.quantity for ln in wanted[:1] if ln.allocation),
        )
    package = open_package or Package.objects.create(
        order=order, location=location, status=PackageStatus.OPEN, packed_by=actor
    )
    left, first = quantity, roomy[0]
    for line in roomy:
        take = min(left, line.picked - line.packed)
        if not take:
            continue
        # Under the order's lock nobody else packs this line; the condition still keeps a
        # line from ever holding more packed than picked.
        moved = PickLine.objects.filter(pk=line.pk, packed__lte=F("picked") - take).update(
            packed=F("packed") + take
        )
        if not moved:  # pragma: no cover - the order lock makes this unreachable
            raise OverPack(order, line.product, packed=line.packed, picked=line.picked, ordered=0)
        assert line.allocation_id is not None
        grown = PackageLine.objects.filter(
            package=package, allocation_id=line.allocation_id
        ).update(quantity=F("quantity") + take)
        if not grown:
            PackageLine.objects.create(
                package=package, allocation_id=line.allocation_id, quantity=take
            )
        left -= take
        if not left:
            break
    scan = PackScan.objects.create(
        scan_id=scan_id,
        package=package,
        pick_line=first,
        product=first.product,
        quantity=quantity,
        scanned=scanned.strip()[:64],
        actor=actor,
    )
    return scan, False


def pack_station_scan(
    *, location: Location, product: Product, scan_id: str, actor: User | None = None
) -> PackScanResult | None:
    """Sort to order: a unit of ``product`` from a batch-picking cart, scanned at the packing
    station. It goes to the order ``selectors.sort_to_order`` names; when that order may be
    packed now, the unit is scanned into its open package (``package_scan``), else nothing
    changes and None is returned (the caller says where to put the unit). No order waits for
    it: ``NothingToSort``.

    Not to be called inside a transaction: each try is its own, so a unit that another packer
    took for the chosen order at the same moment is sorted again, to the next order, without
    holding one order's lock while taking another's."""
    scan_id = _check_scan_id(scan_id)
    done = _scan_done(scan_id)
    if done is not None:
        return _result(done, repeated=True)
    for _ in range(3):
        target = sort_to_order(location, product)
        if target is None:
            raise NothingToSort(product.sku)
        if not (target.ready or target.open_package):
            return None
        try:
            return package_scan(
                order=target.order,
                location=location,
                scanned=product.sku,
                scan_id=scan_id,
                actor=actor,
            )
        except (OverPack, NotFullyPicked, NotPicked):
            continue  # taken or changed meanwhile: sort the unit again
    raise NothingToSort(product.sku)


def station_target(location: Location, product: Product) -> tuple[Order, int | None]:
    """Where a unit that cannot be packed yet goes: its order and tote (for the message)."""
    target = sort_to_order(location, product)
    if target is None:
        raise NothingToSort(product.sku)
    return target.order, target.tote


def parcel_number(package: Package) -> str:
    """The number printed on a label when the carrier gave none: the location's code and the
    package id, with a check digit (mod 10 of the id's digits, weighted 3-1 as in EAN)."""
    digits = f"{package.pk:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return f"{package.location.code}{digits}{(10 - total % 10) % 10}"[:64]


@transaction.atomic
def package_close(
    *,
    package: Package,
    carrier: str = "",
    service: str = ShippingService.STANDARD,
    weight_grams: int | None = None,
    tracking_number: str = "",
    actor: User | None = None,
) -> Package:
    """The open package is closed: carrier, service, weight (optional) and the tracking number
    the carrier gave (none: Omni's own parcel number, for the label). Its label and packing
    slip can be printed; it ships with ``package_ship``. The next scan of the order opens a new
    package."""
    lock_order(package.order_id)
    package = lock_package(package.pk)
    if package.status != PackageStatus.OPEN:
        raise PackageInvalidState(package)
    if service not in ShippingService.values:
        raise InvalidInput.saying(
            gettext_lazy("Choose a shipping service: %(choices)s."),
            detail={"field": "service", "choices": list(ShippingService.values)},
            choices=", ".join(ShippingService.values),
        )
    if weight_grams is not None and not 0 < weight_grams <= MAX_WEIGHT_GRAMS:
        raise InvalidInput.saying(
            gettext_lazy("A parcel weighs between 1 g and %(most)s g; weigh it again."),
            detail={"field": "weight_grams", "most": MAX_WEIGHT_GRAMS},
            most=MAX_WEIGHT_GRAMS,
        )
    package = Package.objects.select_related("location").get(pk=package.pk)
    package.status = PackageStatus.PACKED
    package.carrier = carrier.strip()[:50]
    package.service = service
    package.weight_grams = weight_grams
    package.tracking_number = tracking_number.strip()[:64] or parcel_number(package)
    package.closed_at = timezone.now()
    package.packed_by = package.packed_by or actor
    package.save(
        update_fields=[
            "status",
            "carrier",
            "service",
            "weight_grams",
            "tracking_number",
            "closed_at",
            "packed_by",
        ]
    )
    return package


@transaction.atomic
def order_packages_ship(
    *, order: Order, location: Location, actor: User | None = None
) -> list[Package]:
    """Every closed package of ``order`` at ``location`` leaves (``package_ship`` each, in the
    order they were packed); all of them or none. Nothing closed: ``NotPicked``."""
    order = lock_order(order.pk)
    packages = list(
        Package.objects.filter(order=order, location=location, status=PackageStatus.PACKED)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    if not packages:
        raise NotPicked(order, location)
    return [package_ship(package=Package.objects.get(pk=pk), actor=actor) for pk in packages]


def units_unpacked(order: Order, location: Location) -> int:
    """Units of ``order`` picked at ``location`` and not in a package yet."""
    return sum(
        picked - packed
        for picked, packed in unpacked_lines(location)
        .filter(allocation__line__order=order)
        .values_list("picked", "packed")
    )
