"""Bins and home bins: where things sit in a location, and the order a picker walks them."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import Max

from omni.models import User

from ..errors import BinOtherLocation, BinTaken, NotAStockLocation
from ..models import Bin, HomeBin, Location, Product
from .ledger import check_quantity


@transaction.atomic
def bin_save(
    *,
    location: Location,
    code: str,
    sequence: int,
    zone: str = "",
    aisle: int = 0,
    bay: int = 0,
    level: int = 0,
    active: bool = True,
) -> Bin:
    """Create the bin ``code`` of ``location`` or update its place. ``sequence`` is its
    position in the location's walk; another bin already there is a ``BinTaken``."""
    if not location.is_physical:
        raise NotAStockLocation(location)
    clash = Bin.objects.filter(location=location, sequence=sequence).exclude(code=code).first()
    if clash is not None:
        raise BinTaken(location, code=code, sequence=sequence, other=clash.code)
    fields = {
        "zone": zone[:16],
        "aisle": aisle,
        "bay": bay,
        "level": level,
        "sequence": sequence,
        "active": active,
    }
    try:
        with transaction.atomic():
            row, created = Bin.objects.get_or_create(
                location=location, code=code[:32], defaults=fields
            )
            if not created:
                Bin.objects.filter(pk=row.pk).update(**fields)
                row.refresh_from_db()
    except IntegrityError as exc:  # a concurrent save took the code or the position
        raise BinTaken(location, code=code, sequence=sequence, other=code) from exc
    return row


@transaction.atomic
def home_bin_set(
    *, location: Location, product: Product, bin: Bin, actor: User | None = None
) -> HomeBin:
    """Make ``bin`` the home of ``product`` at ``location`` (staff moving a SKU). Open pick
    tasks keep the bin they were made with; the next wave walks to the new one."""
    if bin.location_id != location.pk:
        raise BinOtherLocation(bin, location)
    home, _ = HomeBin.objects.update_or_create(
        location=location, product=product, defaults={"bin": bin}
    )
    return home


def _walk(aisles: int, bays: int, levels: int) -> list[tuple[int, int, int]]:
    """(aisle, bay, level) in a serpentine walk: up odd aisles, back down even ones, every
    level of a bay before the next bay."""
    walk: list[tuple[int, int, int]] = []
    for aisle in range(1, aisles + 1):
        order = range(1, bays + 1) if aisle % 2 else range(bays, 0, -1)
        for bay in order:
            walk.extend((aisle, bay, level) for level in range(1, levels + 1))
    return walk


@transaction.atomic
def bins_lay_out(
    *, location: Location, zones: Sequence[str], aisles: int, bays: int, levels: int
) -> list[Bin]:
    """Make the bins of a shelf layout in one go: per zone, ``aisles`` × ``bays`` ×
    ``levels`` bins coded ``<zone><aisle>-<bay>-<level>`` (e.g. ``A03-12-2``), walked zone by
    zone in a serpentine (up one aisle, down the next). Bins that exist keep their place; new
    ones are walked after the location's last bin. Returns the bins made."""
    if not location.is_physical:
        raise NotAStockLocation(location)
    for name, value in (("aisles", aisles), ("bays", bays), ("levels", levels)):
        check_quantity(value, field=name)
    existing = set(Bin.objects.filter(location=location).values_list("code", flat=True))
    last = Bin.objects.filter(location=location).aggregate(last=Max("sequence"))["last"] or 0
    made = []
    for zone in zones:
        for aisle, bay, level in _walk(aisles, bays, levels):
            code = f"{zone}{aisle:02d}-{bay:02d}-{level}"
            if code in existing:
                continue
            last += 1
            made.append(
                Bin(
                    location=location,
                    code=code,
                    zone=zone[:16],
                    aisle=aisle,
                    bay=bay,
                    level=level,
                    sequence=last,
                )
            )
    Bin.objects.bulk_create(made)
    return made


@transaction.atomic
def home_bins_assign(*, location: Location, products: Sequence[Product]) -> int:
    """Slot ``products`` that have no home bin at ``location`` into its free active bins, in
    the order given (put the fast movers first: they get the first bins of the walk). Returns
    how many were slotted; the rest wait for bins (and are picked last, by SKU)."""
    homed = set(HomeBin.objects.filter(location=location).values_list("product_id", flat=True))
    taken = HomeBin.objects.filter(location=location).values("bin_id")
    free = iter(
        Bin.objects.filter(location=location, active=True)
        .exclude(pk__in=taken)
        .order_by("sequence")
    )
    slotted = []
    for product in products:
        if product.pk in homed:
            continue
        bin = next(free, None)
        if bin is None:
            break
        homed.add(product.pk)
        slotted.append(HomeBin(location=location, product=product, bin=bin))
    HomeBin.objects.bulk_create(slotted)
    return len(slotted)
