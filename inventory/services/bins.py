"""Bins and home bins: where things sit in a location, and the order a picker walks them."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from omni.models import User

from ..errors import BinOtherLocation, BinTaken, NotAStockLocation
from ..models import Bin, HomeBin, Location, Product


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
