"""Reorder policies per ABC/XYZ class: classify the SKUs a location buys and write the policy
suggested for each class (``purchasing.policy.classes``), keeping every policy a planner set;
and revert one planner's policy to its class's suggestion.

**What is classified.** A DC: every active SKU an active supplier delivering to DCs sells, and
every SKU with a policy there already. A store: only the SKUs it has a policy for (a store buys
directly only what a planner made it buy). A city: its active DCs and the stores that buy
(``proposals.build.buying_locations``, the daily proposal's own list).

**Demand** is the recorded daily history of the SKU at the location, read as the proposal run
reads it (``proposals.build.buying_history``: a DC's is the whole city's), ending yesterday.
XYZ is the weekly CV of it (``classes.xyz_class``); the daily mean is over its last year (from
the first recorded day when younger).

**Value**, which ABC ranks (per location), is the units of the last 364 days × the unit cost:
the SKU's moving-average cost (``inventory.ProductCost``) when it has one above zero, else the
cost of the supplier item the location buys from (the preferred one, else the cheapest that
delivers there), else the product's standard cost, else its price.

**Writing.** One transaction, a handful of statements whatever the number of SKUs (2,000 SKUs
at a DC: about 4 s on PostgreSQL, 2.7 s of it reading the history; ``bench/policy_classes.py``).
The location's policies are locked (``locks.lock_reorder_policies``, by id) and read in one
query; new ones are inserted in bulk (a policy a planner creates meanwhile wins: conflicts are
ignored), the others rewritten in bulk: a policy not ``overridden`` gets its class's suggestion
and its class, an overridden one only its class (the planner's settings are kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, LocationKind, Product, ProductCost
from omni.models import City, User

from ..errors import PolicyClassificationInvalid, ReorderPolicyNotClassified, UnknownReorderPolicy
from ..locks import lock_reorder_policies, lock_reorder_policy
from ..models import ReorderPolicy, ReorderPolicyKind, SupplierItem
from ..policy.classes import abc_classes, starting_min_max, suggest, weekly_cv, xyz_class
from ..proposals import build
from .currency import exchange_rates_known

YEAR_DAYS = 364  # 52 whole weeks, as XYZ reads
DEFAULT_LEAD_DAYS = 7  # a SKU no supplier sells here yet: a week, the usual promise
CLASS_FIELDS = ["abc_class", "xyz_class", "class_value", "weekly_cv", "daily_mean", "classified_at"]
SUGGESTED_FIELDS = [
    "kind",
    "min_quantity",
    "max_quantity",
    "service_level",
    "set_by",
    "note",
    "updated_at",
]
BATCH = 1000
CELLS = [a + x for a in "ABC" for x in "XYZ"]


@dataclass
class ClassifyResult:
    """What a classification did: SKUs per class cell (``"AX"`` …), policies created and
    updated with their class's suggestion, and overridden ones kept (their class refreshed)."""

    locations: list[str]
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CELLS, 0))
    created: int = 0
    updated: int = 0
    kept: int = 0


@dataclass(frozen=True)
class Classified:
    abc: str
    xyz: str
    value: Decimal
    cv: float | None
    daily_mean: float
    lead_days: int


def _buying_locations(city: City | None, location: Location | None) -> tuple[City, list[Location]]:
    if (city is None) == (location is None):
        raise PolicyClassificationInvalid(
            "location", None, _("name a city or a location to classify, not both or neither")
        )
    if location is not None:
        if location.kind not in (LocationKind.WAREHOUSE, LocationKind.STORE) or not location.active:
            raise PolicyClassificationInvalid(
                "location",
                location.code,
                _("%(value)s is not an active DC or store, so it buys nothing"),
            )
        if location.city is None:
            raise PolicyClassificationInvalid(
                "location", location.code, _("%(value)s belongs to no city")
            )
        return location.city, [location]
    assert city is not None
    locations = build.buying_locations(city)
    if not locations:
        raise PolicyClassificationInvalid(
            "city", city.code, _("city %(value)s has no active DC, so it buys nothing")
        )
    return city, locations


def _supplier_items(product_ids: set[int] | None) -> dict[tuple[int, bool], SupplierItem]:
    """Per (product, to a DC?) the item bought: the preferred one, else the cheapest."""
    items = SupplierItem.objects.filter(
        active=True, supplier__active=True, product__active=True
    ).select_related("supplier")
    if product_ids is not None:
        items = items.filter(product_id__in=product_ids)
    out: dict[tuple[int, bool], SupplierItem] = {}
    for item in items.order_by("-preferred", "cost", "supplier__code"):
        for to_dc in (True, False):
            delivers = item.supplier.delivers_to_dc if to_dc else item.supplier.delivers_to_stores
            if delivers:
                out.setdefault((item.product_id, to_dc), item)
    return out


def _keys(
    locations: list[Location],
    existing: dict[build.Key, ReorderPolicy],
    items: dict[tuple[int, bool], SupplierItem],
) -> list[build.Key]:
    keys = set(existing)
    for loc in locations:
        if loc.kind == LocationKind.WAREHOUSE:
            keys.update((p, loc.pk) for p, to_dc in items if to_dc)
    return sorted(keys)


def _unit_costs(
    product_ids: list[int], items: dict[tuple[int, bool], SupplierItem]
) -> dict[tuple[int, bool], float]:
    averages = dict(
        ProductCost.objects.filter(product_id__in=product_ids, average_cost__gt=0).values_list(
            "product_id", "average_cost"
        )
    )
    standard = {
        pk: (cost, price)
        for pk, cost, price in Product.objects.filter(pk__in=product_ids).values_list(
            "pk", "cost", "price"
        )
    }
    # A supplier's cost in the company currency; without a rate, the standard cost stands in.
    rates = exchange_rates_known({item.currency for item in items.values()}, timezone.localdate())
    out: dict[tuple[int, bool], float] = {}
    for p in product_ids:
        for to_dc in (True, False):
            item = items.get((p, to_dc))
            cost, price = standard.get(p, (Decimal(0), Decimal(0)))
            if p in averages:
                out[(p, to_dc)] = float(averages[p])
            elif item is not None and item.currency in rates:
                out[(p, to_dc)] = float(item.cost * rates[item.currency])
            else:
                out[(p, to_dc)] = float(cost or price or 0)
    return out


def _classify(
    city: City,
    locations: list[Location],
    keys: list[build.Key],
    items: dict[tuple[int, bool], SupplierItem],
) -> dict[build.Key, Classified]:
    history = build.buying_history(city, locations, keys)
    product_ids = sorted({p for p, _ in keys})
    costs = _unit_costs(product_ids, items)
    kinds = {loc.pk: loc.kind for loc in locations}
    out: dict[build.Key, Classified] = {}
    for loc in locations:
        mine = [k for k in keys if k[1] == loc.pk]
        to_dc = loc.kind == LocationKind.WAREHOUSE
        values: dict[build.Key, float] = {}
        stats: dict[build.Key, tuple[str, float | None, float]] = {}
        for key in mine:
            daily = history.get(key, np.zeros(0))
            recent = daily[-YEAR_DAYS:]
            values[key] = float(recent.sum()) * costs[(key[0], to_dc)]
            mean = float(recent.mean()) if recent.size else 0.0
            stats[key] = (xyz_class(daily), weekly_cv(daily), mean)
        abc = abc_classes(values)
        for key in mine:
            xyz, cv, mean = stats[key]
            item = items.get((key[0], kinds[key[1]] == LocationKind.WAREHOUSE))
            out[key] = Classified(
                abc=abc[key],
                xyz=xyz,
                value=Decimal(str(round(values[key], 2))),
                cv=cv,
                daily_mean=mean,
                lead_days=item.lead_time_days if item is not None else DEFAULT_LEAD_DAYS,
            )
    return out


def _suggested(policy: ReorderPolicy, c: Classified, now: Any) -> None:
    """Give ``policy`` its class's suggestion (in memory)."""
    hint = suggest(c.abc, c.xyz)
    policy.kind = hint.method
    if hint.method == ReorderPolicyKind.MIN_MAX:
        policy.min_quantity, policy.max_quantity = starting_min_max(
            c.daily_mean, lead_days=c.lead_days, review_days=policy.review_days
        )
        policy.service_level = None
    else:
        policy.min_quantity = policy.max_quantity = None
        policy.service_level = Decimal(str(hint.service_level))
    policy.set_by = None
    policy.note = ""
    policy.overridden = False
    policy.updated_at = now


def _with_class(policy: ReorderPolicy, c: Classified, now: Any) -> None:
    policy.abc_class, policy.xyz_class = c.abc, c.xyz
    policy.class_value = c.value
    policy.weekly_cv = None if c.cv is None else round(c.cv, 4)
    policy.daily_mean = round(c.daily_mean, 4)
    policy.classified_at = now


@transaction.atomic
def reorder_policies_classify(
    *, city: City | None = None, location: Location | None = None
) -> ClassifyResult:
    """Classify the SKUs of ``location``, or of every buying location of ``city`` (one of the
    two), and write each one's suggested policy unless a planner overrode it (see the module
    docstring). Bad input raises ``PolicyClassificationInvalid`` naming the field; nothing is
    written then."""
    city, locations = _buying_locations(city, location)
    location_ids = [loc.pk for loc in locations]
    existing = {
        (pol.product_id, pol.location_id): pol for pol in lock_reorder_policies(location_ids)
    }
    items = _supplier_items(None)
    keys = _keys(locations, existing, items)
    classes = _classify(city, locations, keys, items)
    now = timezone.now()
    review = int(getattr(settings, "OMNI_REPLENISHMENT_REVIEW_DAYS", 7))
    result = ClassifyResult(locations=[loc.code for loc in locations])
    new: list[ReorderPolicy] = []
    suggested: list[ReorderPolicy] = []
    kept: list[ReorderPolicy] = []
    for key in keys:
        c = classes[key]
        result.counts[c.abc + c.xyz] += 1
        policy = existing.get(key)
        if policy is None:
            policy = ReorderPolicy(product_id=key[0], location_id=key[1], review_days=review)
            _suggested(policy, c, now)
            new.append(policy)
        elif policy.overridden:
            kept.append(policy)
        else:
            _suggested(policy, c, now)
            suggested.append(policy)
        _with_class(policy, c, now)
    ReorderPolicy.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
    # Rows that exist (locked above) are rewritten by an upsert on their id: one statement per
    # batch. ``bulk_update``'s CASE per field took 20 s for 2,000 policies on PostgreSQL.
    for rows, fields in (
        (suggested, [*SUGGESTED_FIELDS, "overridden", *CLASS_FIELDS]),
        (kept, CLASS_FIELDS),
    ):
        ReorderPolicy.objects.bulk_create(
            rows,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=fields,
        )
    result.created, result.updated, result.kept = len(new), len(suggested), len(kept)
    return result


@transaction.atomic
def reorder_policy_revert(
    *, product: Product, location: Location, actor: User | None = None
) -> ReorderPolicy:
    """Put the policy of ``product`` at ``location`` back to its class's suggestion and clear
    ``overridden``, so classifying keeps it current again. ``UnknownReorderPolicy`` without a
    policy; ``ReorderPolicyNotClassified`` before its SKU was ever classified."""
    policy = lock_reorder_policy(product.pk, location.pk)
    if policy is None:
        raise UnknownReorderPolicy()
    if not policy.abc_class or not policy.xyz_class:
        raise ReorderPolicyNotClassified(product, location)
    items = _supplier_items({product.pk})
    item = items.get((product.pk, location.kind == LocationKind.WAREHOUSE))
    c = Classified(
        abc=policy.abc_class,
        xyz=policy.xyz_class,
        value=policy.class_value,
        cv=policy.weekly_cv,
        daily_mean=policy.daily_mean,
        lead_days=item.lead_time_days if item is not None else DEFAULT_LEAD_DAYS,
    )
    _suggested(policy, c, timezone.now())
    policy.set_by = actor
    policy.save()
    return policy
