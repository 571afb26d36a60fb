"""Buying in another currency: the rates, a PO fixing its rate when sent, receipts valued in
the company currency at it, proposals counting every supplier in the company currency."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.invariants import assert_invariants
from inventory.models import Location, Product, ProductCost
from omni.models import User
from purchasing import services
from purchasing.errors import (
    ExchangeRateInvalid,
    ExchangeRateMissing,
    SupplierInvalid,
    SupplierItemInvalid,
)
from purchasing.models import ExchangeRate, PurchaseOrder, PurchaseOrderStatus, Supplier
from purchasing.proposal_models import ProposalLine, ProposalStatus
from purchasing.proposals import services as proposals
from purchasing.proposals.selectors import run_totals
from purchasing.tests.proposal_fixtures import ProposalCity
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db

Api = Callable[[User | None], ApiClient]
TODAY = datetime.date(2026, 3, 2)


@pytest.fixture
def usd_supplier(product: Product) -> Supplier:
    supplier = services.supplier_save(code="IMP", name="Import Co", currency="USD")
    services.supplier_item_save(
        supplier=supplier, product=product, cost=Decimal("6.00"), lead_time_days=14
    )
    return supplier


def usd_order(supplier: Supplier, dc: Location, product: Product) -> PurchaseOrder:
    return services.purchase_order_create(
        supplier=supplier, ship_to=dc, lines=[services.OrderLine(product=product, quantity=10)]
    )


@pytest.mark.parametrize(
    ("currency", "rate", "field"),
    [
        ("usd", "7.1", "currency"),
        ("CNY", "1", "currency"),  # the company currency is always 1
        ("USD", "0", "rate"),
        ("USD", "-7", "rate"),
        ("USD", "seven", "rate"),
        ("USD", "0.000000001", "rate"),  # rounds to 0 at 8 places
        ("USD", "-1e30", "rate"),  # too many digits to round: refused, not an error
    ],
)
def test_a_bad_rate_is_refused_naming_the_field(currency: str, rate: str, field: str) -> None:
    with pytest.raises(ExchangeRateInvalid) as refused:
        services.exchange_rate_set(currency=currency, rate=rate, valid_from=TODAY)
    assert refused.value.detail["field"] == field
    assert not ExchangeRate.objects.exists()


def test_the_rate_in_force_is_the_latest_from_on_or_before_the_day() -> None:
    services.exchange_rate_set(currency="USD", rate="7.10", valid_from=TODAY)
    services.exchange_rate_set(
        currency="USD", rate="7.25", valid_from=TODAY + datetime.timedelta(7)
    )
    services.exchange_rate_set(currency="USD", rate="7.20", valid_from=TODAY)  # replaces 7.10
    assert ExchangeRate.objects.filter(currency="USD").count() == 2
    assert services.exchange_rate_on("USD", TODAY + datetime.timedelta(6)) == Decimal("7.2")
    assert services.exchange_rate_on("USD", TODAY + datetime.timedelta(7)) == Decimal("7.25")
    assert services.exchange_rate_on("CNY", TODAY) == 1
    with pytest.raises(ExchangeRateMissing) as missing:
        services.exchange_rates_on(["USD", "EUR"], TODAY)
    assert missing.value.detail == {"currency": "EUR", "date": TODAY.isoformat()}
    with pytest.raises(ExchangeRateMissing):
        services.exchange_rate_on("USD", TODAY - datetime.timedelta(1))


def test_a_po_in_a_currency_without_a_rate_is_not_sent(
    usd_supplier: Supplier, dc: Location, product: Product
) -> None:
    order = usd_order(usd_supplier, dc, product)
    assert order.currency == "USD"
    with pytest.raises(ExchangeRateMissing) as missing:
        services.purchase_order_send(purchase_order=order)
    assert missing.value.detail["currency"] == "USD"
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.DRAFT and order.exchange_rate is None


def test_receipts_are_valued_at_the_rate_the_po_was_sent_at(
    usd_supplier: Supplier, dc: Location, product: Product
) -> None:
    """6.00 USD at 7.10: the SKU comes in at 42.60. A rate set after sending changes nothing
    for that PO."""
    today = timezone.localdate()
    services.exchange_rate_set(currency="USD", rate="7.10", valid_from=today)
    order = services.purchase_order_send(purchase_order=usd_order(usd_supplier, dc, product))
    assert order.exchange_rate == Decimal("7.1")
    services.exchange_rate_set(currency="USD", rate="9.99", valid_from=today)
    services.purchase_order_receive(
        purchase_order=order,
        lines=[services.ReceiveLine(product=product, quantity=10)],
        key="usd-1",
    )
    assert ProductCost.objects.get(product=product).average_cost == Decimal("42.6000")
    line = order.lines.get()
    assert line.unit_cost == Decimal("6.0000")  # the PO stays in its supplier's currency
    assert_invariants()


def test_a_company_currency_po_is_sent_at_one(
    supplier_items: object, sent_order: PurchaseOrder
) -> None:
    assert sent_order.currency == "CNY" and sent_order.exchange_rate == 1


def test_an_item_is_priced_in_its_supplier_currency(
    usd_supplier: Supplier, product2: Product
) -> None:
    with pytest.raises(SupplierItemInvalid) as refused:
        services.supplier_item_save(
            supplier=usd_supplier, product=product2, cost=1, lead_time_days=3, currency="CNY"
        )
    assert refused.value.detail["field"] == "currency"
    with pytest.raises(SupplierInvalid) as changed:
        services.supplier_save(supplier=usd_supplier, code="IMP", name="Import", currency="EUR")
    assert changed.value.detail["field"] == "currency"
    # saved again without a currency, it keeps its own
    kept = services.supplier_save(supplier=usd_supplier, code="IMP", name="Import Co.")
    assert kept.currency == "USD"


def test_proposals_count_a_foreign_supplier_in_the_company_currency(
    proposal_city: ProposalCity,
) -> None:
    pc = proposal_city
    home = proposals.replenishment_run_execute(run=proposals.replenishment_run_create(city=pc.city))
    assert home.status == ProposalStatus.READY, home.message
    value = run_totals(home)["value"]
    assert value > 0

    south = pc.suppliers[1]
    south.items.update(currency="USD")
    Supplier.objects.filter(pk=south.pk).update(currency="USD")
    missing = proposals.replenishment_run_execute(
        run=proposals.replenishment_run_create(city=pc.city)
    )
    assert missing.status == ProposalStatus.FAILED and "USD" in missing.message

    services.exchange_rate_set(currency="USD", rate="2", valid_from=timezone.localdate())
    run = proposals.replenishment_run_execute(run=proposals.replenishment_run_create(city=pc.city))
    assert run.status == ProposalStatus.READY, run.message
    lines = list(ProposalLine.objects.filter(run=run).select_related("supplier"))
    assert {ln.exchange_rate for ln in lines if ln.supplier == south} == {2}
    expected = sum(
        (Decimal(ln.final_quantity) * ln.unit_cost * ln.exchange_rate for ln in lines),
        Decimal(0),
    )
    assert run_totals(run)["value"] == expected.quantize(Decimal("0.01"))
    assert run.spend == expected.quantize(Decimal("0.01"))


def test_rates_over_the_api(api: Api, planner: User, store_user: User) -> None:
    client = api(planner)
    body = {"currency": "USD", "rate": 7.1, "valid_from": "2026-03-02"}
    made = client.post("/api/v1/purchasing/exchange-rates", body)
    assert made.status_code == 201, made.json()
    assert Decimal(str(made.json()["rate"])) == Decimal("7.1")
    listed = client.get("/api/v1/purchasing/exchange-rates?currency=USD").json()
    assert [row["valid_from"] for row in listed["results"]] == ["2026-03-02"]
    bad = client.post("/api/v1/purchasing/exchange-rates", {**body, "rate": 0})
    assert bad.status_code == 422
    assert bad.json()["code"] == "exchange_rate_invalid"
    assert bad.json()["detail"]["field"] == "rate"
    denied = api(store_user).post("/api/v1/purchasing/exchange-rates", body)
    assert denied.status_code == 403
    assert ExchangeRate.objects.count() == 1
