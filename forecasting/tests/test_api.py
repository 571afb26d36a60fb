"""The forecasting API: start a run, follow it, read accuracy and forecasts; who may do what;
every error in the one shape."""

from __future__ import annotations

import pytest

from forecasting.demand_imports import demand_import
from forecasting.models import ForecastRun, RunStatus
from tests.factories import ChannelUserFactory

RUNS = "/api/v1/forecast-runs"


@pytest.fixture
def imported(write_csv, history_csv, products):
    demand_import(path=write_csv(history_csv))


@pytest.fixture
def ran(imported, api, planner, city, django_capture_on_commit_callbacks):
    """A run of the test city, started through the API and done by the (eager) task."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api(planner).post(RUNS, {"city": city.code, "horizon": 7})
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == code
    return body


def test_a_planner_starts_a_run_and_follows_it_to_the_end(ran, api, planner):
    body = api(planner).get(f"{RUNS}/{ran}").json()
    assert body["status"] == "succeeded" and body["progress"] == 100
    assert body["city"] == "testcity" and body["as_of"] == "2024-06-30"
    assert body["first_day"] == "2024-07-01" and body["series_total"] == 4
    assert body["quantiles"] == ["q50", "q80", "q90", "q95"]
    assert body["models"] == ["seasonal_naive", "ets", "theta", "tsb", "lightgbm"]
    assert body["accuracy"]["rmsse"] > 0 and body["improvement_pct"] is not None
    assert body["created_by"] == planner.username
    listed = api(planner).get(RUNS).json()
    assert [r["id"] for r in listed["results"]] == [ran]


def test_accuracy_per_model_and_per_series(ran, api, planner):
    accuracy = api(planner).get(f"{RUNS}/{ran}/accuracy").json()
    assert accuracy["series"] == 4 and accuracy["backtested"] == 2
    assert accuracy["short_history"] == 1 and accuracy["idle"] == 1
    models = {m["model"]: m for m in accuracy["per_model"]}
    assert models["seasonal_naive"]["rmsse"] == accuracy["baseline"]["rmsse"]
    assert sum(m["wins"] for m in models.values()) == 2
    series = api(planner).get(f"{RUNS}/{ran}/series", method="backtest").json()["results"]
    assert {(s["sku"], s["location"]) for s in series} == {("SKU-1", "S01"), ("SKU-1", "S02")}
    assert all(set(s["scores"]) == set(models) for s in series)
    assert all(sum(s["weights"].values()) == pytest.approx(1.0, abs=0.01) for s in series)
    (everyone,) = [b for b in accuracy["blends"] if b["segment"] == "*"]
    assert sum(everyone["weights"].values()) == pytest.approx(1.0, abs=0.01)
    assert len(accuracy["origins"]) == 3 and accuracy["origins"][-1] == "2024-06-23"
    assert set(accuracy["window_calibration"]) == {str(d) for d in range(1, 8)}


def test_forecasts_per_sku_location_and_day(ran, api, planner):
    body = api(planner).get("/api/v1/forecasts", sku="SKU-1", location="S01").json()
    (series,) = body["results"]
    assert (series["sku"], series["location"], series["run"]) == ("SKU-1", "S01", ran)
    days = series["days"]
    assert [d["date"] for d in days][:2] == ["2024-07-01", "2024-07-02"] and len(days) == 7
    assert set(days[0]["quantiles"]) == {"q50", "q80", "q90", "q95"}
    (week,) = series["windows"]  # a horizon of 7 shows the 7-day total
    assert week["days"] == 7
    assert week["total"] == pytest.approx(sum(d["forecast"] for d in days), abs=0.01)
    assert week["quantiles"]["q50"] <= week["quantiles"]["q95"]
    both = api(planner).get("/api/v1/forecasts?sku=SKU-1&sku=SKU-2&location=S01").json()
    assert {s["sku"] for s in both["results"]} == {"SKU-1", "SKU-2"}
    everything = api(planner).get("/api/v1/forecasts").json()["results"]
    assert len(everything) == 4


def test_store_staff_read_their_own_locations_only(ran, api, store_user, store2):
    client = api(store_user)
    rows = client.get("/api/v1/forecasts").json()["results"]
    assert {r["location"] for r in rows} == {"S01"}
    assert_error(client.get("/api/v1/forecasts", location="S02"), 404, "unknown_location")
    assert_error(client.get("/api/v1/forecasts", location="NOPE"), 404, "unknown_location")
    assert_error(client.get(f"{RUNS}/{ran}"), 403, "permission_denied")
    assert_error(client.get(f"{RUNS}/{ran}/accuracy"), 403, "permission_denied")
    assert_error(client.post(RUNS, {"horizon": 7}), 403, "permission_denied")


def test_a_channel_gets_nothing(ran, api, db):
    channel = ChannelUserFactory.create(username="shop")
    assert_error(api(channel).get("/api/v1/forecasts"), 403, "permission_denied")
    assert_error(api(channel).get(RUNS), 403, "permission_denied")
    assert_error(api(None).get("/api/v1/forecasts"), 401, "unauthenticated")


def test_bad_requests_are_refused_in_the_error_shape(imported, api, planner, city):
    client = api(planner)
    assert_error(client.post(RUNS, {"horizon": 0}), 422, "validation_error")
    assert_error(client.post(RUNS, {"horizon": "7"}), 422, "validation_error")
    assert_error(client.post(RUNS, {"horizn": 7}), 422, "validation_error")
    assert_error(client.post(RUNS, {"quantiles": [1.5]}), 422, "validation_error")
    body = assert_error(client.post(RUNS, {"models": ["ets", "prophet"]}), 422, "unknown_model")
    assert body["detail"]["models"] == ["prophet"]
    assert_error(client.post(RUNS, {"city": "atlantis"}), 404, "unknown_city")
    assert_error(client.get(f"{RUNS}/999"), 404, "unknown_forecast_run")
    assert_error(client.get(f"{RUNS}/abc"), 422, "validation_error")
    assert_error(client.get("/api/v1/forecasts", run="x"), 422, "validation_error")
    assert not ForecastRun.objects.exists()


def test_an_unfinished_run_is_not_served_and_blocks_a_second_start(imported, api, planner, city):
    client = api(planner)
    run = client.post(RUNS, {"city": city.code, "horizon": 7}).json()  # queued: no commit here
    assert_error(client.get(f"{RUNS}/{run['id']}/accuracy"), 409, "forecast_run_not_ready")
    assert_error(client.get("/api/v1/forecasts", run=run["id"]), 409, "forecast_run_not_ready")
    assert client.get("/api/v1/forecasts").json()["results"] == []
    busy = assert_error(client.post(RUNS, {"city": city.code}), 409, "forecast_run_in_progress")
    assert busy["detail"]["run"] == run["id"]
    cancelled = client.post(f"{RUNS}/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_error(client.post(f"{RUNS}/{run['id']}/cancel"), 409, "forecast_run_finished")
    again = client.post(f"{RUNS}/{run['id']}/rerun")
    assert again.status_code == 202 and again.json()["rerun_of"] == run["id"]


def test_a_repeated_start_with_its_idempotency_key_starts_one_run(imported, api, planner, city):
    client = api(planner)
    first = client.post(RUNS, {"city": city.code, "horizon": 7}, key="plan-1")
    second = client.post(RUNS, {"city": city.code, "horizon": 7}, key="plan-1")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert ForecastRun.objects.filter(status=RunStatus.QUEUED).count() == 1
