"""The planner pages: runs with their progress, a run's accuracy, the SVG chart of a SKU at a
store; planners and admins only."""

from __future__ import annotations

import pytest
from django.test import Client

from forecasting.models import ForecastRun, RunStatus
from forecasting.services import demand_import, forecast_run_execute, forecast_run_start
from tests.factories import ChannelUserFactory
from tests.helpers import client_for

PAGES = "/staff/forecasts/"


@pytest.fixture
def run(write_csv, history_csv, products, city) -> ForecastRun:
    demand_import(path=write_csv(history_csv))
    started = forecast_run_start(city=city, horizon=7, enqueue=False)
    return forecast_run_execute(run_id=started.pk)


def test_the_runs_page_lists_runs_and_starts_one(
    run, planner, city, django_capture_on_commit_callbacks
):
    client = client_for(planner)
    page = client.get(PAGES)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"#{run.pk}" in text and "Succeeded" in text and "Start a run" in text
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(PAGES, {"city": city.code, "horizon": 7})
    new = ForecastRun.objects.exclude(pk=run.pk).get()
    assert started.status_code == 302 and started["Location"] == f"{PAGES}{new.pk}/"
    new.refresh_from_db()
    assert new.status == RunStatus.SUCCEEDED and new.created_by == planner


def test_a_second_start_while_one_runs_is_shown_not_raised(run, planner, city):
    forecast_run_start(city=city, horizon=7, enqueue=False)
    page = client_for(planner).post(PAGES, {"city": city.code, "horizon": 7})
    assert page.status_code == 409
    assert "forecast_run_in_progress" in page.content.decode()


def test_a_run_page_shows_accuracy_and_a_chart_of_a_sku_at_a_store(run, planner):
    page = client_for(planner).get(f"{PAGES}{run.pk}/", {"sku": "SKU-1", "location": "S01"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Accuracy (rolling-origin backtest)" in text and "seasonal_naive" in text
    assert "<svg" in text and 'aria-label="SKU-1 at S01' in text
    assert "forecast" in text and "q50–q95" in text
    assert text.count("<tr>") > 7  # the per-day table under the chart


def test_the_chart_is_an_svg_image(run, planner):
    chart = client_for(planner).get(
        f"{PAGES}{run.pk}/chart.svg", {"sku": "SKU-1", "location": "S02"}
    )
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    assert chart.content.startswith(b"<svg")
    missing = client_for(planner).get(
        f"{PAGES}{run.pk}/chart.svg", {"sku": "NOPE", "location": "S02"}
    )
    assert missing.status_code == 404


def test_the_progress_panel_polls_while_a_run_is_active(planner, city, db):
    queued = forecast_run_start(city=city, horizon=7, enqueue=False)
    panel = client_for(planner).get(f"{PAGES}{queued.pk}/progress/")
    assert 'hx-trigger="every 2s"' in panel.content.decode()
    ForecastRun.objects.filter(pk=queued.pk).update(status=RunStatus.CANCELLED)
    done = client_for(planner).get(f"{PAGES}{queued.pk}/progress/?active=1", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


def test_others_get_a_403_and_strangers_the_login(run, store_user):
    assert client_for(store_user).get(PAGES).status_code == 403
    assert client_for(store_user).get(f"{PAGES}{run.pk}/chart.svg").status_code == 403
    channel = ChannelUserFactory.create(username="shop")
    assert client_for(channel).get(f"{PAGES}{run.pk}/").status_code == 403
    anonymous = Client().get(PAGES)
    assert anonymous.status_code == 302 and "/staff/login/" in anonymous["Location"]


def test_an_admin_may_cancel_and_rerun(run, admin_user):
    client = client_for(admin_user)
    again = client.post(f"{PAGES}{run.pk}/rerun/")
    new = ForecastRun.objects.exclude(pk=run.pk).get()
    assert again["Location"] == f"{PAGES}{new.pk}/"
    client.post(f"{PAGES}{new.pk}/cancel/")
    new.refresh_from_db()
    assert new.status == RunStatus.CANCELLED
