"""Fixtures of replenishment proposals (a pytest plugin, listed in the root conftest): a city
whose DC buys from two suppliers, with a sales history to propose from."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from forecasting.models import DemandImport, DemandRecord
from forecasting.selectors import local_today
from inventory.models import Location, Product
from omni.models import City
from purchasing.models import Supplier
from purchasing.services import supplier_item_save, supplier_save
from tests.factories import ProductFactory, ReceiptFactory


@dataclass
class ProposalCity:
    city: City
    dc: Location
    stores: list[Location]
    products: list[Product]
    suppliers: list[Supplier]


def make_proposal_city(
    city: City, dc: Location, stores: list[Location], *, skus: int, days: int = 120, seed: int = 7
) -> ProposalCity:
    """``skus`` SKUs sold at the stores for ``days`` days (imported history: 0–6 a day, a few
    slow movers), bought from two suppliers (every other SKU each; MOQ 12 in packs of 6, lead
    time 7 days), with some stock at the DC."""
    r = random.Random(seed)
    north = supplier_save(code="SUP-N", name="North Foods")
    south = supplier_save(code="SUP-S", name="South Goods")
    products = [ProductFactory.create(sku=f"PR-{n:04d}") for n in range(skus)]
    source = DemandImport.objects.create(file_name="fixture.csv", rows=0)
    today = local_today(city)
    records = []
    for n, product in enumerate(products):
        rate = 0.2 if n % 5 == 0 else r.uniform(1.0, 4.0)
        supplier_item_save(
            supplier=north if n % 2 == 0 else south,
            product=product,
            cost=Decimal(r.choice(["2.50", "4.00", "7.25"])),
            lead_time_days=7,
            moq=12,
            order_multiple=6,
            preferred=True,
        )
        for store in stores:
            for d in range(days, 0, -1):
                q = sum(1 for _ in range(6) if r.random() < rate / 6)
                if q:
                    records.append(
                        DemandRecord(
                            product=product,
                            location=store,
                            day=today - timedelta(days=d),
                            quantity=float(q),
                            source=source,
                        )
                    )
    DemandRecord.objects.bulk_create(records, batch_size=5000)
    ReceiptFactory.create(location=dc, lines={p: 5 + (i % 3) * 20 for i, p in enumerate(products)})
    return ProposalCity(city, dc, stores, products, [north, south])


@pytest.fixture
def proposal_city(city: City, dc: Location, store: Location, store2: Location) -> ProposalCity:
    return make_proposal_city(city, dc, [store, store2], skus=8)
