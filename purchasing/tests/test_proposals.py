"""Replenishment proposal runs: lines from positions and demand, the budget, edits, approval
into purchase orders (once), rejection, the daily job, bad parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import F

from inventory.models import Location
from inventory.services import transfer_create
from omni.models import User
from purchasing.models import PurchaseOrder, PurchaseOrderStatus
from purchasing.proposal_models import (
    ProposalDecision,
    ProposalLine,
    ProposalStatus,
    ReplenishmentRun,
)
from purchasing.proposals import services
from purchasing.proposals.errors import (
    ProposalAlreadyDecided,
    ProposalParameterInvalid,
    ProposalQuantityNotOrderable,
)
from purchasing.tests.proposal_fixtures import ProposalCity

pytestmark = pytest.mark.django_db


def _run(pc: ProposalCity, **kw: object) -> ReplenishmentRun:
    run = services.replenishment_run_create(city=pc.city, **kw)  # type: ignore[arg-type]
    return services.replenishment_run_execute(run=run)


def test_a_run_proposes_orderable_quantities_and_says_why(proposal_city: ProposalCity) -> None:
    run = _run(proposal_city)
    assert run.status == ProposalStatus.READY, run.message
    assert run.solver_status == "unconstrained"
    assert run.demand_source == "history"
    lines = list(ProposalLine.objects.filter(run=run).select_related("product"))
    assert len(lines) == len(proposal_city.products)  # every SKU at the DC
    bought = [ln for ln in lines if ln.quantity > 0]
    assert bought, "a DC with 5–45 units and 2 stores selling should need something"
    for ln in lines:
        assert ln.position == ln.on_hand + ln.on_order + ln.inbound - ln.held - ln.allocated_out
        assert ln.order_up_to >= ln.reorder_point >= 0
        if ln.quantity:
            assert ln.quantity >= 12 and ln.quantity % 6 == 0
            assert ln.quantity >= ln.need > 0
            assert ln.position <= ln.reorder_point
        assert "position" in ln.why and "history" in ln.why
    spend = sum((Decimal(ln.quantity) * ln.unit_cost for ln in lines), Decimal("0"))
    assert run.spend == spend.quantize(Decimal("0.01"))


def test_draft_transfers_out_and_open_orders_count_in_the_position(
    proposal_city: ProposalCity, planner: User
) -> None:
    pc = proposal_city
    p = pc.products[1]
    transfer_create(source=pc.dc, destination=pc.stores[0], lines=[(p, 3)])
    first = _run(pc)
    services.replenishment_run_approve(run=first, actor=planner)
    line = ProposalLine.objects.get(run=first, product=p)
    second = _run(pc)
    again = ProposalLine.objects.get(run=second, product=p)
    assert line.allocated_out == 3
    assert again.on_order == line.final_quantity  # yesterday's draft PO is on order
    assert again.quantity <= max(0, line.quantity - line.final_quantity) + 12


def test_a_binding_budget_is_kept_and_cuts_lines(proposal_city: ProposalCity) -> None:
    full = _run(proposal_city)
    budget = (full.unconstrained_spend / 2).quantize(Decimal("0.01"))
    assert budget > 0
    run = _run(proposal_city, budget=budget)
    assert run.solver_status == "optimal"
    assert run.spend <= budget
    assert run.expected_sold < run.unconstrained_expected_sold
    cut = ProposalLine.objects.filter(run=run, quantity__lt=F("unconstrained_quantity"))
    assert cut.exists()
    assert all("budget" in ln.why for ln in cut)


def test_approve_makes_one_draft_po_per_supplier_once(
    proposal_city: ProposalCity, planner: User
) -> None:
    run = _run(proposal_city)
    lines = list(ProposalLine.objects.filter(run=run, quantity__gt=0))
    edited = lines[0]
    services.proposal_line_edit(line=edited, quantity=0, actor=planner)
    orders = services.replenishment_run_approve(run=run, actor=planner)
    suppliers = {ln.supplier_id for ln in lines[1:]}
    assert len(orders) == len(suppliers)
    assert all(o.status == PurchaseOrderStatus.DRAFT for o in orders)
    assert all(o.reference == run.reference and o.ship_to == proposal_city.dc for o in orders)
    ordered = {(ln.product_id): ln.quantity_ordered for o in orders for ln in o.lines.all()}
    assert edited.product_id not in ordered
    assert ordered == {ln.product_id: ln.quantity for ln in lines[1:]}
    again = services.replenishment_run_approve(run=run, actor=planner)
    assert [o.pk for o in again] == [o.pk for o in orders]
    assert PurchaseOrder.objects.count() == len(orders)
    run.refresh_from_db()
    assert run.decision == ProposalDecision.APPROVED and run.decided_by == planner
    with pytest.raises(ProposalAlreadyDecided):
        services.replenishment_run_reject(run=run, actor=planner)
    with pytest.raises(ProposalAlreadyDecided):
        services.proposal_line_edit(line=lines[1], quantity=12, actor=planner)


def test_an_edit_must_be_orderable(proposal_city: ProposalCity, planner: User) -> None:
    run = _run(proposal_city)
    line = ProposalLine.objects.filter(run=run).first()
    assert line is not None
    with pytest.raises(ProposalQuantityNotOrderable) as caught:
        services.proposal_line_edit(line=line, quantity=13, actor=planner)
    assert caught.value.detail["suggested"] == 18
    with pytest.raises(ProposalParameterInvalid, match="quantity"):
        services.proposal_line_edit(line=line, quantity=-1, actor=planner)
    line.refresh_from_db()
    assert line.edited_quantity is None
    assert services.proposal_line_edit(line=line, quantity=24, actor=planner).final_quantity == 24


def test_a_rejected_run_orders_nothing(proposal_city: ProposalCity, planner: User) -> None:
    run = _run(proposal_city)
    services.replenishment_run_reject(run=run, actor=planner)
    with pytest.raises(ProposalAlreadyDecided):
        services.replenishment_run_approve(run=run, actor=planner)
    assert not PurchaseOrder.objects.exists()


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"budget": -1}, "budget"),
        ({"budget": "lots"}, "budget"),
        ({"capacity": -5.0}, "capacity"),
        ({"capacity_unit": "pallets"}, "capacity_unit"),
        ({"service_level": 1.0}, "service_level"),
        ({"review_days": 0}, "review_days"),
    ],
)
def test_bad_parameters_name_the_field(
    proposal_city: ProposalCity, kw: dict[str, object], field: str
) -> None:
    with pytest.raises(ProposalParameterInvalid) as caught:
        services.replenishment_run_create(city=proposal_city.city, **kw)  # type: ignore[arg-type]
    assert caught.value.detail["field"] == field
    assert not ReplenishmentRun.objects.exists()


def test_the_daily_job_makes_one_run_per_city_and_day(
    proposal_city: ProposalCity, dc: Location
) -> None:
    noon = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
    first = services.replenishment_runs_daily(now=noon)
    second = services.replenishment_runs_daily(now=noon)
    assert len(first) == 1 and second == []
    assert ReplenishmentRun.objects.filter(scheduled=True).count() == 1
    early = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)  # 03:00 the next local day: too early
    assert services.replenishment_runs_daily(now=early) == []


def test_forecast_window_quantiles_set_the_levels(proposal_city: ProposalCity) -> None:
    """The DC buys for the city: both stores' forecasts summed over L + R = 14 days, the run's
    calibrated window quantile applied to the sum (not a sum of daily quantiles)."""
    import math

    from django.utils import timezone

    from forecasting.models import ForecastRun, ForecastSeries
    from forecasting.models import RunStatus as ForecastStatus
    from omni.selectors import city_today

    pc = proposal_city
    product = pc.products[1]
    forecast = ForecastRun.objects.create(
        city=pc.city,
        scope=pc.city.code,
        status=ForecastStatus.SUCCEEDED,
        horizon=28,
        summary={"window_calibration": {"14": {"q50": 0.0, "q90": 1.0, "q95": 2.0}}},
        finished_at=timezone.now(),
    )
    for store in pc.stores:
        ForecastSeries.objects.create(
            run=forecast,
            product=product,
            location=store,
            model="blend",
            method="backtest",
            start=city_today(pc.city),
            values=[2.0] * 28,
            quantiles={"q95": [4.0] * 28},
        )
    run = _run(pc, service_level=0.95)
    line = ProposalLine.objects.get(run=run, product=product)
    total = 2 * 2.0 * 14
    assert line.method == f"forecast:{forecast.pk}"
    assert line.forecast == pytest.approx(total)
    assert line.order_up_to == math.ceil(total + 2.0 * math.sqrt(total + 1))
    assert line.reorder_point == line.order_up_to - 2 * 2 * 7  # − E[demand over the review]
    assert "forecast" in line.why
    other = ProposalLine.objects.get(run=run, product=pc.products[2])
    assert other.method.startswith("history")  # no forecast for it: the history stands in


def test_api_start_review_edit_approve(
    proposal_city: ProposalCity,
    api,
    planner: User,
    store_user: User,
    django_capture_on_commit_callbacks,
) -> None:
    client = api(planner)
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post(
            "/api/v1/replenishment/runs", {"city": proposal_city.city.code}, key="prop-1"
        )
    assert res.status_code == 202, res.content
    run_id = res.json()["id"]
    run = client.get(f"/api/v1/replenishment/runs/{run_id}").json()
    assert run["status"] == "ready" and run["city"] == proposal_city.city.code
    listed = client.get("/api/v1/replenishment/runs").json()
    assert [r["id"] for r in listed["results"]] == [run_id]
    page = client.get(f"/api/v1/replenishment/runs/{run_id}/lines?buying=true&page_size=2").json()
    assert len(page["results"]) <= 2 and page["results"][0]["why"]
    line = page["results"][0]
    assert Decimal(str(line["exchange_rate"])) == 1  # both suppliers sell in the company's
    bad = client.post(
        f"/api/v1/replenishment/runs/{run_id}/lines/{line['id']}", {"quantity": 13}, key="e-1"
    )
    assert bad.status_code == 422 and bad.json()["code"] == "proposal_quantity_not_orderable"
    assert bad.json()["detail"]["suggested"] == 18
    ok = client.post(
        f"/api/v1/replenishment/runs/{run_id}/lines/{line['id']}", {"quantity": 24}, key="e-2"
    )
    assert ok.status_code == 200 and ok.json()["final_quantity"] == 24
    first = client.post(f"/api/v1/replenishment/runs/{run_id}/approve", key="a-1")
    second = client.post(f"/api/v1/replenishment/runs/{run_id}/approve", key="a-2")
    assert first.status_code == second.status_code == 200, first.content
    assert first.json() == second.json() and len(first.json()) == 2
    assert PurchaseOrder.objects.count() == 2
    assert client.post(f"/api/v1/replenishment/runs/{run_id}/reject").status_code == 409
    other = api(store_user)
    assert other.get(f"/api/v1/replenishment/runs/{run_id}").status_code == 403
    assert client.get("/api/v1/replenishment/runs/999999").json()["code"] == "not_found"
    bad_run = client.post("/api/v1/replenishment/runs", {"city": "nowhere"})
    assert bad_run.status_code == 404
