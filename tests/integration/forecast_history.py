"""A city with synthetic daily demand imported for every SKU at every store, for the forecast
worker tests (real Celery workers read it from PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from forecasting.models import DemandImport, DemandRecord
from inventory.models import Product
from omni.models import City
from tests.factories import CityFactory, StoreFactory


def synthetic_city(
    *,
    code: str,
    prefix: str,
    stores: int,
    skus: int,
    days: int,
    as_of: date,
    seed: int,
    sell_first_day: bool = False,
) -> City:
    """``skus`` × ``stores`` series of ``days`` days to ``as_of``, selling on a random share of
    days; ``sell_first_day`` makes every series start on the first day."""
    city = CityFactory.create(code=code, name=f"{prefix} City", latitude=30, longitude=120)
    locations = [
        StoreFactory.create(code=f"{prefix}-S{n}", name=f"S{n}", city=city) for n in range(stores)
    ]
    products = Product.objects.bulk_create(
        [Product(sku=f"{prefix}-{n:04d}", name=f"Item {n}") for n in range(skus)]
    )
    batch = DemandImport.objects.create(file_name="synthetic.csv", rows=0)
    rng = np.random.default_rng(seed)
    start = as_of - timedelta(days=days - 1)
    records = []
    for product in products:
        for store in locations:
            sold = (rng.random(days) < rng.uniform(0.2, 0.9)) * rng.poisson(rng.uniform(1, 6), days)
            if sell_first_day:
                sold[0] += 1
            records += [
                DemandRecord(
                    product=product,
                    location=store,
                    day=start + timedelta(days=int(i)),
                    quantity=float(sold[i]),
                    source=batch,
                )
                for i in np.flatnonzero(sold)
            ]
    DemandRecord.objects.bulk_create(records, batch_size=5000)
    return city
