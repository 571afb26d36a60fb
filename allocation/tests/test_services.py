"""Allocation runs from the database: the problem built, the plan saved, approve once."""

from __future__ import annotations

import pytest

from allocation import services
from allocation.errors import AllocationAlreadyDecided, AllocationNoPlan
from allocation.models import AllocationRun, RunDecision, RunStatus
from inventory.models import Transfer, TransferStatus
from omni.models import City
from tests.helpers import sell

pytestmark = pytest.mark.django_db


def run_for(city: City, **params) -> AllocationRun:
    run = services.allocation_run_create(city=city, parameters=params)
    return services.allocation_run_execute(run=run)


def test_problem_from_the_database(allocation_setup) -> None:
    city, _dc, store, _store2, product = allocation_setup
    sell(store, product, 28)  # 1 a day over the last 28 days, on average
    built = services.allocation_problem_build(city=city, parameters={"service_level": 0.9})
    p = built.problem
    assert p.source_ids == ["DC1"] and p.store_ids == ["S01", "S02"]
    assert p.available[0, 0] == 120
    assert p.pack[0] == 6 and p.penalty[0] == pytest.approx(4.0)
    assert built.need_source == "moving_average"
    # store 1 sold: need = mean over the cover window + safety; store 2 sold nothing
    assert p.need[0, 0] >= 8 and p.need[0, 1] == 0


def test_run_saves_the_plan_and_approve_creates_transfers_once(allocation_setup) -> None:
    city, _dc, store, _store2, product = allocation_setup
    sell(store, product, 28)
    run = run_for(city)
    assert run.status == RunStatus.OPTIMAL
    assert run.fill_rate["S01"] == 1.0 and run.total_fill_rate == 1.0
    assert run.inputs["stores"][0]["id"] == "S01" and run.progress == 100
    transfers = services.allocation_run_approve(run=run)
    assert len(transfers) == 1
    transfer = transfers[0]
    assert transfer.status == TransferStatus.APPROVED and transfer.destination == store
    units = sum(line.quantity for line in transfer.lines.all())
    assert units % 6 == 0 and units >= run.lines.get(store=store).need
    again = services.allocation_run_approve(run=run)
    assert [t.pk for t in again] == [transfer.pk]
    assert Transfer.objects.count() == 1
    run.refresh_from_db()
    assert run.decision == RunDecision.APPROVED
    with pytest.raises(AllocationAlreadyDecided):
        services.allocation_run_reject(run=run)


def test_a_run_without_a_plan_cannot_be_approved(allocation_setup) -> None:
    city, *_ = allocation_setup
    run = services.allocation_run_create(city=city)
    AllocationRun.objects.filter(pk=run.pk).update(status=RunStatus.TIMEOUT)
    for status in (RunStatus.TIMEOUT, RunStatus.INFEASIBLE, RunStatus.QUEUED):
        AllocationRun.objects.filter(pk=run.pk).update(status=status)
        with pytest.raises(AllocationNoPlan):
            services.allocation_run_approve(run=run)
    assert Transfer.objects.count() == 0


def test_a_solver_timeout_marks_the_run(allocation_setup, monkeypatch) -> None:
    city, _dc, store, _store2, product = allocation_setup
    sell(store, product, 28)
    from allocation import optimizer as model

    monkeypatch.setattr(
        model,
        "solve",
        lambda p, method=None: model.solve_exact(
            model.Problem(**{**p.__dict__, "time_limit": 0.0}), warm_start=False
        ),
    )
    run = run_for(city)
    assert run.status == RunStatus.TIMEOUT and run.lines.filter(units__gt=0).count() == 0
    with pytest.raises(AllocationNoPlan):
        services.allocation_run_approve(run=run)


def test_reject(allocation_setup) -> None:
    city, *_ = allocation_setup
    run = run_for(city)
    services.allocation_run_reject(run=run)
    with pytest.raises(AllocationAlreadyDecided):
        services.allocation_run_approve(run=run)


def test_api_run_review_approve(
    allocation_setup, api, planner, store_user, django_capture_on_commit_callbacks
) -> None:
    city, _dc, store, _store2, product = allocation_setup
    sell(store, product, 28)
    client = api(planner)
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post("/api/v1/allocation/runs", {"city": city.code}, key="run-1")
    assert res.status_code == 202, res.content
    run_id = res.json()["id"]
    run = client.get(f"/api/v1/allocation/runs/{run_id}").json()
    assert run["status"] == "optimal" and run["progress"] == 100  # eager Celery
    lines = client.get(f"/api/v1/allocation/runs/{run_id}/lines").json()
    assert any(ln["store"] == "S01" and ln["units"] > 0 for ln in lines)
    first = client.post(f"/api/v1/allocation/runs/{run_id}/approve")
    second = client.post(f"/api/v1/allocation/runs/{run_id}/approve")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and len(first.json()) == 1
    # a store user can neither read nor approve runs
    other = api(store_user)
    assert other.get(f"/api/v1/allocation/runs/{run_id}").status_code == 403
    denied = other.post(f"/api/v1/allocation/runs/{run_id}/approve")
    assert denied.status_code == 403 and denied.json()["code"]
    assert client.get("/api/v1/allocation/runs/999999").json()["code"] == "not_found"


def _forecast(city: City, store, product, *, calibration: dict | None) -> None:
    from django.utils import timezone

    from forecasting.models import ForecastRun, ForecastSeries
    from forecasting.models import RunStatus as ForecastStatus
    from omni.selectors import city_today

    run = ForecastRun.objects.create(
        city=city,
        scope=city.code,
        status=ForecastStatus.SUCCEEDED,
        horizon=28,
        summary={"window_calibration": calibration} if calibration is not None else {},
        finished_at=timezone.now(),
    )
    ForecastSeries.objects.create(
        run=run,
        product=product,
        location=store,
        model="blend",
        method="backtest",
        start=city_today(city),
        values=[2.0] * 28,
        quantiles={"q90": [3.0] * 28},
    )


def test_safety_stock_is_the_window_totals_quantile_not_summed_daily_ones(
    allocation_setup,
) -> None:
    import math

    city, _dc, store, _store2, product = allocation_setup
    # The run calibrated every window: the 90th percentile of a total is z = 2 spreads above it.
    calibration = {str(n): {"q50": 0.0, "q90": 2.0} for n in range(1, 29)}
    _forecast(city, store, product, calibration=calibration)
    built = services.allocation_problem_build(city=city, parameters={"service_level": 0.9})
    w = built.lead_days["S01"] + 7  # lead time + review period
    total = 2.0 * w
    assert built.problem.need[0, 0] == math.ceil(total + 2.0 * math.sqrt(total + 1))
    assert built.need_source.startswith("forecast run")


def test_a_run_without_window_calibration_sums_daily_quantiles(allocation_setup) -> None:
    city, _dc, store, _store2, product = allocation_setup
    _forecast(city, store, product, calibration=None)
    built = services.allocation_problem_build(city=city, parameters={"service_level": 0.9})
    w = built.lead_days["S01"] + 7
    assert built.problem.need[0, 0] == 3 * w  # the summed daily q90s
