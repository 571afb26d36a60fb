"""Demand history from the ledger (sale, ship and pickup moves, net of returns), merged with
imported history. (The open orders that keep an item from being idled come from orders: that
flow is tested in ``tests/test_flows_forecasting.py``.)"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from forecasting.models import DemandImport, DemandRecord
from forecasting.selectors import demand_history, demand_series_keys
from inventory.models import LocationKind, MoveReason, StockMove
from inventory.services import virtual_location

SHANGHAI = ZoneInfo("Asia/Shanghai")
D1 = date(2024, 3, 4)


def move(product, store, reason, quantity, when: datetime, *, back: bool = False) -> None:
    customer = virtual_location(LocationKind.CUSTOMER)
    StockMove.objects.create(
        product=product,
        from_location=customer if back else store,
        to_location=store if back else customer,
        quantity=quantity,
        reason=reason,
        created_at=when,
    )


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def series_of(result, sku, code):
    return next(s for s in result.history.series if s.key == (sku, code))


def test_sales_ships_and_pickups_net_of_returns_by_local_day(products, store):
    sku = products[0]
    move(sku, store, MoveReason.SALE, 2, local(D1, 10))
    move(sku, store, MoveReason.SHIP, 1, local(D1, 11))
    move(sku, store, MoveReason.PICKUP, 3, local(D1, 12))
    move(sku, store, MoveReason.RETURN, 1, local(D1, 13), back=True)
    move(sku, store, MoveReason.SALE, 1, local(D1 + timedelta(1), 9))
    move(sku, store, MoveReason.RETURN, 3, local(D1 + timedelta(1), 10), back=True)  # floor 0
    move(sku, store, MoveReason.TRANSFER_OUT, 9, local(D1 + timedelta(2), 9))  # not demand
    move(
        sku, store, MoveReason.SALE, 4, local(D1 + timedelta(3), 0, 30)
    )  # 16:30 UTC the day before
    result = demand_history(city=store.city)
    series = series_of(result, "SKU-1", "S01")
    assert series.start == D1
    assert series.values.tolist() == [5, 0, 0, 4]
    assert result.history.as_of == D1 + timedelta(3)
    assert result.ids(series.key) == (sku.pk, store.pk)


def test_a_return_before_the_first_sale_starts_no_series(products, store):
    move(products[0], store, MoveReason.RETURN, 2, local(D1, 10), back=True)
    assert demand_history(city=store.city).history.series == []


def test_imported_history_fills_the_days_before_the_ledger(products, store, store2):
    batch = DemandImport.objects.create(file_name="legacy.csv", rows=3)
    for day, qty in ((D1 - timedelta(2), 7), (D1 - timedelta(1), 0), (D1, 50)):
        DemandRecord.objects.create(
            product=products[0], location=store, day=day, quantity=qty, source=batch
        )
    DemandRecord.objects.create(
        product=products[1], location=store2, day=D1, quantity=2, source=batch
    )
    move(products[0], store, MoveReason.SALE, 3, local(D1, 10))
    result = demand_history(city=store.city, as_of=D1 + timedelta(1))
    # From the first ledger sale on the ledger alone counts: the imported 50 is dropped.
    assert series_of(result, "SKU-1", "S01").values.tolist() == [7, 0, 3, 0]
    assert series_of(result, "SKU-2", "S02").values.tolist() == [2, 0]


def test_as_of_is_never_today(products, store):
    move(products[0], store, MoveReason.SALE, 3, datetime.now(SHANGHAI))
    result = demand_history(city=store.city)
    assert result.history.as_of == datetime.now(SHANGHAI).date() - timedelta(days=1)


def test_the_series_keys_a_run_is_split_on_are_the_series_of_its_history(products, store, store2):
    """``demand_series_keys`` reads aggregates, not days: it must still name exactly the series
    ``demand_history`` builds, and resolve the same ``as_of``."""
    batch = DemandImport.objects.create(file_name="legacy.csv", rows=5)
    imported = [
        (products[0], store, D1 - timedelta(5), 4),  # imported, then the ledger takes over
        (products[0], store, D1 + timedelta(9), 8),  # after the ledger's first sale: ignored
        (products[1], store2, D1 - timedelta(3), 1),  # imported only
        (products[1], store2, D1 + timedelta(2), 0),
        (products[2], store2, D1 + timedelta(3), 2),
    ]
    for product, location, day, qty in imported:
        DemandRecord.objects.create(
            product=product, location=location, day=day, quantity=qty, source=batch
        )
    move(products[0], store, MoveReason.SALE, 3, local(D1, 10))
    move(products[0], store, MoveReason.RETURN, 1, local(D1 + timedelta(4), 0, 30), back=True)
    move(products[1], store, MoveReason.RETURN, 1, local(D1, 9), back=True)  # never sold there
    move(products[2], store, MoveReason.PICKUP, 1, local(D1 + timedelta(2), 0, 30))  # UTC: D1+1

    def history_keys(as_of):
        result = demand_history(city=store.city, as_of=as_of)
        keys = sorted(result.ids(s.key) for s in result.history.series)
        return result.history.as_of, keys

    for as_of in (None, D1 + timedelta(1), D1 + timedelta(2), D1 - timedelta(4)):
        keys = demand_series_keys(city=store.city, as_of=as_of)
        assert (keys.as_of, keys.series) == history_keys(as_of), as_of
    # The last day is the ledger's return, not the import's ignored day after it.
    assert demand_series_keys(city=store.city).as_of == D1 + timedelta(4)


def test_the_history_of_some_series_only(products, store, store2):
    batch = DemandImport.objects.create(file_name="legacy.csv", rows=3)
    for product, location in ((products[0], store), (products[0], store2), (products[1], store)):
        DemandRecord.objects.create(
            product=product, location=location, day=D1, quantity=1, source=batch
        )
    wanted = [(products[0].pk, store2.pk), (products[1].pk, store.pk)]
    result = demand_history(city=store.city, series=wanted)
    assert sorted(result.ids(s.key) for s in result.history.series) == sorted(wanted)
