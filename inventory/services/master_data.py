"""Products and locations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy

from omni.errors import Conflict
from omni.services import save_by_key

from ..models import (
    Location,
    Product,
)

# --------------------------------------------------------------------------- master data


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    barcode: str | None = None,
    unit: str = "each",
    pack_size: int = 1,
    unit_volume: float | Decimal = Decimal("0.001"),
    cost: float | Decimal = Decimal("0"),
    price: float | Decimal = Decimal("0"),
    active: bool = True,
) -> Product:
    if Product.objects.filter(sku=sku).exists():
        raise Conflict.saying(
            gettext_lazy("a product with SKU %(sku)r exists"), detail={"sku": sku}, sku=sku
        )
    if barcode and Product.objects.filter(barcode=barcode).exists():
        raise Conflict.saying(
            gettext_lazy("barcode %(barcode)r belongs to another product"),
            detail={"barcode": barcode},
            barcode=barcode,
        )
    return Product.objects.create(
        sku=sku,
        name=name,
        barcode=barcode or None,
        unit=unit,
        pack_size=pack_size,
        unit_volume=Decimal(str(unit_volume)).quantize(Decimal("0.0001")),
        cost=Decimal(str(cost)).quantize(Decimal("0.01")),
        price=Decimal(str(price)).quantize(Decimal("0.01")),
        active=active,
    )


@transaction.atomic
def location_save(*, code: str, **fields: Any) -> Location:
    """Create the location ``code`` or update the ``fields`` given (name, kind, city, latitude,
    longitude, capacity, active). Stock never moves here: a location's stock is the ledger's."""
    return save_by_key(Location, {"code": code}, fields)
