"""``manage.py demand_import``: all or nothing, every bad line named; the M5 file through a
small mapping."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from forecasting.demand_imports import demand_import, demand_mapping_load
from forecasting.errors import DemandFileInvalid
from forecasting.mappings import M5_HANGZHOU
from forecasting.models import DemandImport, DemandRecord
from inventory.models import Product
from tests.factories import StoreFactory, VirtualLocationFactory

from .test_m5 import M5_FILE


def nothing_imported() -> bool:
    return not DemandRecord.objects.exists() and not DemandImport.objects.exists()


def test_a_good_file_imports_and_a_second_import_replaces_its_days(write_csv, products, store):
    path = write_csv(
        f"sku,location,date,quantity\nSKU-1,{store.code},2024-01-01,3\n"
        f"SKU-1,{store.code},2024-01-02,1.5\n"
    )
    report = demand_import(path=path)
    assert (report.rows, report.series, str(report.first_day)) == (2, 1, "2024-01-01")
    again = write_csv(f"sku,location,date,quantity\nSKU-1,{store.code},2024-01-02,4\n", "b.csv")
    demand_import(path=again)
    assert sorted(DemandRecord.objects.values_list("day", "quantity")) == [
        (report.first_day, 3.0),
        (report.last_day, 4.0),
    ]


def test_bad_lines_are_all_named_and_nothing_is_imported(write_csv, products, store):
    code = store.code
    path = write_csv(
        "sku,location,date,quantity\n"
        f"SKU-1,{code},2024-01-01,3\n"
        f"SKU-1,{code},2024-01-32,1\n"
        f"SKU-2,{code},2024-01-02,-1\n"
        f"SKU-1,{code},2024-01-01,2\n"
    )
    with pytest.raises(DemandFileInvalid) as caught:
        demand_import(path=path)
    assert caught.value.detail["errors"] == [
        "history.csv:3: date: '2024-01-32' is not a date (YYYY-MM-DD)",
        "history.csv:4: quantity: -1 is negative",
        "history.csv:5: duplicate row: SKU-1 at S01 on 2024-01-01 is already on line 2",
    ]
    assert caught.value.http_status == 422
    assert nothing_imported()


def test_unknown_columns_are_refused(write_csv, products, store):
    path = write_csv(f"sku,store,date,quantity,margin\nSKU-1,{store.code},2024-01-01,3,9.9\n")
    with pytest.raises(DemandFileInvalid) as caught:
        demand_import(path=path)
    errors = caught.value.detail["errors"]
    assert "history.csv:1: unknown column 'store'" in errors[0]
    assert any("unknown column 'margin'" in e for e in errors)
    assert any("missing column 'location'" in e for e in errors)
    assert nothing_imported()


def test_unknown_skus_and_locations_name_their_first_line(write_csv, products, store, city):
    VirtualLocationFactory.create(code="VIRT", name="v")
    path = write_csv(
        "sku,location,date,quantity\n"
        f"SKU-1,{store.code},2024-01-01,3\n"
        "SKU-1,NOWHERE,2024-01-01,1\n"
        f"GHOST,{store.code},2024-01-01,1\n"
        f"GHOST,{store.code},2024-01-02,1\n"
        "SKU-1,VIRT,2024-01-03,1\n"
    )
    with pytest.raises(DemandFileInvalid) as caught:
        demand_import(path=path, create_products=False)
    assert caught.value.detail["errors"] == [
        "history.csv:3: location 'NOWHERE' does not exist (1 lines)",
        "history.csv:4: SKU 'GHOST' is not a product (2 lines; --create-products adds it)",
        "history.csv:6: location 'VIRT' is customer, not a store or DC",
    ]
    assert nothing_imported() and not Product.objects.filter(sku="GHOST").exists()


def test_the_command_prints_each_error_and_fails(write_csv, products, store):
    path = write_csv(f"sku,location,date,quantity\nSKU-1,{store.code},yesterday,3\n")
    err = StringIO()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("demand_import", str(path), stderr=err)
    assert "history.csv:2: date: 'yesterday' is not a date (YYYY-MM-DD)" in err.getvalue()
    assert nothing_imported()


@pytest.mark.skipif(not M5_FILE.exists(), reason="no M5 data")
def test_the_m5_file_imports_through_the_shipped_mapping(city):
    for n in range(1, 5):
        StoreFactory.create(code=f"HZ-S0{n}", name=f"S{n}", city=city)
    out = StringIO()
    call_command(
        "demand_import", str(M5_FILE), mapping=str(M5_HANGZHOU), create_products=True, stdout=out
    )
    assert "imported 94,758 rows, 204 series from 2015-01-01 to 2016-04-24" in out.getvalue()
    assert DemandRecord.objects.count() == 94_758
    assert Product.objects.filter(sku__startswith="M5-").count() == 198
    assert DemandRecord.objects.filter(location__code="HZ-S04").exists()  # WI_1


def test_a_mapping_store_missing_from_the_mapping_names_its_line(write_csv, tmp_path, store):
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[columns]\nsku = "item"\nlocation = "shop"\nignore = ["note"]\n'
        f'[skus]\nprefix = "X-"\n[locations]\nA = "{store.code}"\n'
    )
    path = write_csv("item,shop,date,quantity,note\n1,A,2024-01-01,2,x\n1,B,2024-01-01,2,y\n")
    with pytest.raises(DemandFileInvalid) as caught:
        demand_import(path=path, mapping=demand_mapping_load(mapping), create_products=True)
    assert caught.value.detail["errors"] == [
        "history.csv:3: store 'B' has no location in the mapping (1 lines)"
    ]
    assert nothing_imported() and not Product.objects.filter(sku="X-1").exists()


def test_a_broken_mapping_is_refused(tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text("[columns]\nsku = \n")
    with pytest.raises(DemandFileInvalid, match="cannot read the mapping"):
        demand_mapping_load(mapping)
    mapping.write_text('[colums]\nsku = "a"\n')
    with pytest.raises(DemandFileInvalid, match=r"unknown section \[colums\]"):
        demand_mapping_load(mapping)


def test_price_and_promo_columns_are_kept_and_reach_the_history(write_csv, products, store):
    from forecasting import selectors

    path = write_csv(
        "sku,location,date,quantity,price,promo\n"
        f"SKU-1,{store.code},2024-01-01,3,2.50,0\n"
        f"SKU-1,{store.code},2024-01-02,8,1.99,1\n"
        f"SKU-1,{store.code},2024-01-03,2,,\n"
    )
    demand_import(path=path)
    assert list(DemandRecord.objects.order_by("day").values_list("price", "promo")) == [
        (2.5, False),
        (1.99, True),
        (None, None),
    ]
    (series,) = selectors.demand_history(city=store.city, as_of=None).history.series
    assert series.price is not None and series.promo is not None
    assert series.promo[:2].tolist() == [0.0, 1.0] and series.price[1] == 1.99
    assert series.attributes == {"region": store.city.code, "kind": store.kind}
