"""The planners' valuation page: stock value by location, the turnover table per location, SKU
or city, and the chart; planners and admins only; in Chinese too."""

from __future__ import annotations

import pytest

from inventory import services
from tests.helpers import client_for, sell

pytestmark = pytest.mark.django_db
PAGE = "/staff/valuation/"


@pytest.fixture
def stocked(dc, store, store2, product, product2):
    services.stock_receive(
        location=dc,
        lines=[(product, 50), (product2, 20)],
        unit_costs={product.pk: "3", product2.pk: "1.25"},
    )
    sell(store, product, 4)


def test_a_planner_reads_stock_value_and_turnover(stocked, planner, city) -> None:
    client = client_for(planner)
    text = client.get(PAGE).content.decode()
    assert "Stock value by location" in text and "DC1 DC" in text
    assert "175.00" in text  # 50 × 3 + 20 × 1.25 at the DC
    assert "<svg" in text and "Stock value and turnover" in text
    assert 'data-table="turnover"' in text and "S01" in text
    by_sku = client.get(PAGE, {"grain": "sku", "days": "7", "city": city.code}).content.decode()
    assert "SKU-1" in by_sku and "SKU-2" in by_sku
    assert client.get(PAGE, {"grain": "nonsense", "days": "x"}).status_code == 200


def test_store_staff_may_not_open_it(stocked, store_user) -> None:
    assert client_for(store_user).get(PAGE).status_code == 403


def test_the_page_speaks_chinese(stocked, planner) -> None:
    text = client_for(planner).get(PAGE, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "库存金额" in text
