"""Suppliers, the items they sell, and reorder policies: saved whole after every field is
checked, so a bad value is refused with the field named and nothing is written."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, LocationKind, Product
from omni.errors import Conflict
from omni.models import User

from ..errors import ReorderPolicyInvalid, SupplierInvalid, SupplierItemInvalid
from ..models import ReorderPolicy, ReorderPolicyKind, Supplier, SupplierItem, company_currency

CURRENCY = re.compile(r"^[A-Z]{3}$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
# Far above any real figure, far below the columns' limits.
MAX_DAYS = 3650
MAX_UNITS = 1_000_000
MAX_MONEY = Decimal("99999999")


def _whole(value: Any, *, field: str, low: int, high: int, error: type, **who: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise error(
            field,
            value,
            _("%(field)s must be a whole number from %(low)s to %(high)s, not %(value)s"),
            low=low,
            high=high,
            **who,
        )
    return value


def _money(value: Any, *, field: str, error: type, **who: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_MONEY:
        raise error(
            field, str(value), _("%(field)s must be an amount of 0 or more, not %(value)s"), **who
        )
    return amount.quantize(Decimal("0.0001"))


def currency_code(value: str, *, error: type, **who: Any) -> str:
    """A currency's code (three capital letters), or ``error`` naming the field."""
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise error("currency", value, _("currency must be a three-letter code such as CNY"), **who)
    return value


@transaction.atomic
def supplier_save(
    *,
    code: str,
    name: str,
    supplier: Supplier | None = None,
    currency: str = "",
    delivers_to_dc: bool = True,
    delivers_to_stores: bool = False,
    over_receipt_tolerance: Decimal | int | str = 0,
    active: bool = True,
    email: str = "",
    note: str = "",
) -> Supplier:
    """Create a supplier, or update ``supplier``. Every field is checked before anything is
    written; the first bad one is named in the error (``SupplierInvalid``)."""
    code = (code or "").strip()
    if not CODE.match(code):
        raise SupplierInvalid(
            "code", code, _("code must be 1 to 32 letters, digits, '.', '_' or '-'")
        )
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise SupplierInvalid("name", name, _("name must name the supplier in 1 to 200 characters"))
    kept = supplier.currency if supplier is not None else company_currency()
    currency = currency_code(currency or kept, error=SupplierInvalid)
    if supplier is not None and currency != supplier.currency and supplier.items.exists():
        raise SupplierInvalid(
            "currency",
            currency,
            _(
                "currency cannot change to %(value)s: the supplier's items are priced in"
                " %(current)s (price them again under a new supplier code)"
            ),
            current=supplier.currency,
        )
    if not (delivers_to_dc or delivers_to_stores):
        raise SupplierInvalid(
            "delivers_to_dc",
            False,
            _("delivers_to_dc or delivers_to_stores must be true: a supplier delivers somewhere"),
        )
    tolerance = _money(
        over_receipt_tolerance, field="over_receipt_tolerance", error=SupplierInvalid
    )
    if tolerance > 100:
        raise SupplierInvalid(
            "over_receipt_tolerance",
            str(tolerance),
            _("over_receipt_tolerance is a percentage from 0 to 100, not %(value)s"),
        )
    taken = Supplier.objects.filter(code=code)
    if supplier is not None:
        taken = taken.exclude(pk=supplier.pk)
    if taken.exists():
        raise SupplierInvalid("code", code, _("code %(value)s is taken by another supplier"))
    target = supplier or Supplier()
    target.code = code
    target.name = name
    target.currency = currency
    target.delivers_to_dc = delivers_to_dc
    target.delivers_to_stores = delivers_to_stores
    target.over_receipt_tolerance = tolerance
    target.active = active
    target.email = (email or "").strip()[:254]
    target.note = (note or "").strip()[:255]
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError as clash:  # the same code saved a moment ago by someone else
        raise SupplierInvalid(
            "code", code, _("code %(value)s is taken by another supplier")
        ) from clash
    return target


@transaction.atomic
def supplier_item_save(
    *,
    supplier: Supplier,
    product: Product,
    cost: Decimal | int | str,
    lead_time_days: int,
    moq: int = 1,
    order_multiple: int = 1,
    preferred: bool = False,
    currency: str | None = None,
    supplier_sku: str = "",
    active: bool = True,
) -> SupplierItem:
    """Create or update what ``supplier`` sells of ``product``. ``moq`` and ``order_multiple``
    are at least 1 and ``lead_time_days`` at least 0 (``SupplierItemInvalid`` names the field;
    nothing is written). Marking it ``preferred`` takes the flag from the SKU's other supplier."""
    who = {"supplier": supplier.code, "sku": product.sku}
    moq = _whole(moq, field="moq", low=1, high=MAX_UNITS, error=SupplierItemInvalid, **who)
    order_multiple = _whole(
        order_multiple,
        field="order_multiple",
        low=1,
        high=MAX_UNITS,
        error=SupplierItemInvalid,
        **who,
    )
    lead_time_days = _whole(
        lead_time_days,
        field="lead_time_days",
        low=0,
        high=MAX_DAYS,
        error=SupplierItemInvalid,
        **who,
    )
    amount = _money(cost, field="cost", error=SupplierItemInvalid, **who)
    currency = currency_code(currency or supplier.currency, error=SupplierItemInvalid, **who)
    if currency != supplier.currency:
        # A purchase order is in its supplier's currency; its lines take the items' costs.
        raise SupplierItemInvalid(
            "currency",
            currency,
            _("currency must be the supplier's (%(supplier_currency)s), not %(value)s"),
            supplier_currency=supplier.currency,
            **who,
        )
    if preferred and not product.active:
        raise SupplierItemInvalid(
            "preferred",
            True,
            _("preferred: %(sku)s is not active, so it has no preferred supplier"),
            **who,
        )
    item = SupplierItem.objects.filter(supplier=supplier, product=product).first()
    item = item or SupplierItem(supplier=supplier, product=product)
    item.cost = amount
    item.currency = currency
    item.moq = moq
    item.order_multiple = order_multiple
    item.lead_time_days = lead_time_days
    item.preferred = preferred
    item.supplier_sku = (supplier_sku or "").strip()[:64]
    item.active = active
    item.updated_at = timezone.now()
    try:
        with transaction.atomic():
            if preferred:
                others = SupplierItem.objects.filter(product=product, preferred=True)
                if item.pk:
                    others = others.exclude(pk=item.pk)
                others.update(preferred=False)
            item.save()
    except IntegrityError as clash:  # two suppliers made preferred for one SKU at once
        raise Conflict.saying(
            _("another supplier of %(sku)s was made preferred at the same time; try again"),
            detail={"field": "preferred", **who},
            sku=product.sku,
        ) from clash
    return item


@transaction.atomic
def reorder_policy_set(
    *,
    product: Product,
    location: Location,
    kind: str,
    min_quantity: int | None = None,
    max_quantity: int | None = None,
    service_level: Decimal | float | str | None = None,
    review_days: int = 7,
    actor: User | None = None,
    overridden: bool = True,
    note: str = "",
) -> ReorderPolicy:
    """Set the reorder policy of ``product`` at ``location``: ``min_max`` needs
    0 ≤ min ≤ max; ``service_level`` a target strictly between 0 and 1; the location a DC or a
    store. A planner's setting is ``overridden`` (kept when policies are suggested per class);
    the SKU's class, if it has one, is left as it is."""
    who = {"sku": product.sku, "location": location.code}
    if location.kind not in (LocationKind.WAREHOUSE, LocationKind.STORE):
        raise ReorderPolicyInvalid(
            "location",
            location.code,
            _("location must be a DC or a store (the places that buy), not %(value)s"),
            **who,
        )
    if kind not in ReorderPolicyKind.values:
        raise ReorderPolicyInvalid(
            "kind", kind, _("kind must be min_max or service_level, not %(value)s"), **who
        )
    review_days = _whole(
        review_days, field="review_days", low=0, high=MAX_DAYS, error=ReorderPolicyInvalid, **who
    )
    level: Decimal | None = None
    if kind == ReorderPolicyKind.MIN_MAX:
        low = _whole(
            min_quantity,
            field="min_quantity",
            low=0,
            high=MAX_UNITS,
            error=ReorderPolicyInvalid,
            **who,
        )
        high = _whole(
            max_quantity,
            field="max_quantity",
            low=0,
            high=MAX_UNITS,
            error=ReorderPolicyInvalid,
            **who,
        )
        if high < low:
            raise ReorderPolicyInvalid(
                "max_quantity", high, _("max_quantity %(value)s is below min_quantity"), **who
            )
        min_quantity, max_quantity = low, high
    else:
        try:
            level = Decimal(str(service_level))
        except (InvalidOperation, ValueError):
            level = Decimal("NaN")
        if not level.is_finite() or not Decimal(0) < level < Decimal(1):
            raise ReorderPolicyInvalid(
                "service_level",
                str(service_level),
                _("service_level must be a fraction between 0 and 1, such as 0.95, not %(value)s"),
                **who,
            )
        level = level.quantize(Decimal("0.0001"))
        min_quantity = max_quantity = None
    policy, _created = ReorderPolicy.objects.update_or_create(
        product=product,
        location=location,
        defaults={
            "kind": kind,
            "min_quantity": min_quantity,
            "max_quantity": max_quantity,
            "service_level": level,
            "review_days": review_days,
            "set_by": actor,
            "overridden": overridden,
            "note": (note or "").strip()[:255],
            "updated_at": timezone.now(),
        },
    )
    return policy
