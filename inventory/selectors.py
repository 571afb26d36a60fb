"""Reads of the stock model, scoped to what the asking user may see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import F, Prefetch, Q, QuerySet

from omni.access import scope_to_locations, visible_one
from omni.models import User

from .errors import (
    UnknownBin,
    UnknownLocation,
    UnknownProduct,
    UnknownReservation,
    UnknownTransfer,
)
from .models import (
    Bin,
    HomeBin,
    Location,
    Product,
    Reservation,
    StockCount,
    StockCountLine,
    StockLevel,
    StockMove,
    Transfer,
    TransferLine,
)

# Forward keys are joined inside a prefetch (select_related), never prefetched on their own:
# Django 5.2 prefetches a forward key with a tuple lookup that SQLite spells as one OR per
# distinct key, and SQLite refuses expressions of more than 1,000 terms.
TRANSFER_LINES = Prefetch("lines", queryset=TransferLine.objects.select_related("product"))
COUNT_LINES = Prefetch("lines", queryset=StockCountLine.objects.select_related("product"))


def product_by_sku(sku: str) -> Product:
    product = Product.objects.filter(sku=sku).first()
    if product is None:
        raise UnknownProduct(sku)
    return product


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    """All the named products in one query; every unknown SKU is named in the error."""
    wanted = list(dict.fromkeys(skus))
    found = {p.sku: p for p in Product.objects.filter(sku__in=wanted)}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise UnknownProduct(skus=unknown)
    return found


def location_by_code(code: str) -> Location:
    """Any location, for callers who may name every one (admins and planners, a channel naming
    a pickup store, the far end of a transfer); scoped callers use ``location_visible``."""
    return visible_one(Location.objects.select_related("city"), UnknownLocation, code=code)


def locations_visible(user: User) -> QuerySet[Location]:
    """The locations the user may see: their own; admins and planners every one."""
    return scope_to_locations(user, Location.objects.select_related("city"), "id")


def location_visible(user: User, code: str) -> Location:
    """A location the user may see; one outside their reach is as unknown as a missing one."""
    return visible_one(locations_visible(user), UnknownLocation, code=code)


def location_list(
    *, user: User, kind: str | None = None, city: str | None = None
) -> QuerySet[Location]:
    qs = locations_visible(user)
    if kind:
        qs = qs.filter(kind=kind)
    if city:
        qs = qs.filter(city__code=city)
    return qs.order_by("id")


def product_list(*, q: str | None = None, active: bool | None = None) -> QuerySet[Product]:
    qs = Product.objects.all()
    if q:
        qs = qs.filter(Q(sku__icontains=q) | Q(name__icontains=q) | Q(barcode=q))
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("id")


def stock_level_list(
    *,
    user: User,
    sku: str | None = None,
    location: str | None = None,
    city: str | None = None,
    in_stock: bool | None = None,
) -> QuerySet[StockLevel]:
    qs = scope_to_locations(
        user, StockLevel.objects.select_related("product", "location"), "location_id"
    )
    if sku:
        qs = qs.filter(product__sku=sku)
    if location:
        qs = qs.filter(location__code=location)
    if city:
        qs = qs.filter(location__city__code=city)
    if in_stock is True:
        qs = qs.filter(on_hand__gt=F("reserved"))
    elif in_stock is False:
        qs = qs.filter(on_hand__lte=F("reserved"))
    return qs.order_by("id")


def stock_move_list(
    *,
    user: User,
    sku: str | None = None,
    location: str | None = None,
    reason: str | None = None,
    reference: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[StockMove]:
    qs = scope_to_locations(
        user,
        StockMove.objects.select_related("product", "from_location", "to_location", "actor"),
        "from_location_id",
        "to_location_id",
    )
    if sku:
        qs = qs.filter(product__sku=sku)
    if location:
        qs = qs.filter(Q(from_location__code=location) | Q(to_location__code=location))
    if reason:
        qs = qs.filter(reason=reason)
    if reference:
        qs = qs.filter(reference=reference)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs


def reservation_list(
    *,
    user: User,
    status: str | None = None,
    location: str | None = None,
    sku: str | None = None,
    owner_type: str | None = None,
    owner_id: str | None = None,
) -> QuerySet[Reservation]:
    qs = scope_to_locations(
        user, Reservation.objects.select_related("product", "location"), "location_id"
    )
    if status:
        qs = qs.filter(status=status)
    if location:
        qs = qs.filter(location__code=location)
    if sku:
        qs = qs.filter(product__sku=sku)
    if owner_type:
        qs = qs.filter(owner_type=owner_type)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    return qs


def reservation_visible(user: User, reservation_id: int) -> Reservation:
    return visible_one(reservation_list(user=user), UnknownReservation, pk=reservation_id)


def transfer_list(
    *, user: User, status: str | None = None, location: str | None = None
) -> QuerySet[Transfer]:
    qs = scope_to_locations(
        user,
        Transfer.objects.select_related("source", "destination").prefetch_related(TRANSFER_LINES),
        "source_id",
        "destination_id",
    )
    if status:
        qs = qs.filter(status=status)
    if location:
        qs = qs.filter(Q(source__code=location) | Q(destination__code=location))
    return qs


def transfer_visible(user: User, transfer_id: int) -> Transfer:
    """A transfer with an end at one of the user's locations (any, for admins and planners)."""
    return visible_one(transfer_list(user=user), UnknownTransfer, pk=transfer_id)


def stock_count_detail(count_id: int) -> StockCount:
    return (
        StockCount.objects.select_related("location").prefetch_related(COUNT_LINES).get(pk=count_id)
    )


# --------------------------------------------------------------------------- bins


def location_bins(location: Location, *, active_only: bool = False) -> QuerySet[Bin]:
    """The bins of ``location`` in walking order."""
    bins = Bin.objects.filter(location=location).select_related("location")
    return (bins.filter(active=True) if active_only else bins).order_by("sequence")


def home_bin_for(location: Location, product: Product) -> Bin | None:
    """Where ``product`` lives at ``location`` (receiving proposes it for put-away), or None
    when it has no home bin there yet. One query."""
    home = HomeBin.objects.filter(location=location, product=product).select_related("bin").first()
    return home.bin if home is not None else None


def home_bins(location: Location) -> QuerySet[HomeBin]:
    """Every SKU's home bin at ``location``, in walking order."""
    return (
        HomeBin.objects.filter(location=location)
        .select_related("product", "bin", "location")
        .order_by("bin__sequence", "product__sku")
    )


def bins_unused(location: Location) -> list[Bin]:
    """Active bins of ``location`` no SKU calls home, in walking order (where to slot a new
    SKU)."""
    taken = HomeBin.objects.filter(location=location).values("bin_id")
    return list(location_bins(location, active_only=True).exclude(pk__in=taken))


def bin_by_code(location: Location, code: str) -> Bin:
    found = Bin.objects.filter(location=location, code=code).first()
    if found is None:
        raise UnknownBin(location, code)
    return found
