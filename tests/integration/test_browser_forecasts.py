"""The forecast run page in a real browser (Debian's chromium, headless, driven by Playwright)
against the app served by ``live_server`` on PostgreSQL: a planner opens a succeeded run of a
city's stores at a desktop's width and at a handheld's, reads the blend the run chose (its
weights per demand class) and a SKU's forecast with the quantiles of its window totals, in
English and in Chinese.

On a handheld the page itself must not scroll sideways: a wide table scrolls inside its card.
Screenshots go to ``test-artifacts/screenshots/forecast-run-<nn>-<step>.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, ViewportSize

from forecasting.demand_imports import demand_import
from forecasting.models import ForecastRun, RunStatus
from forecasting.services import forecast_run_execute, forecast_run_start
from forecasting.tests.fixtures import csv_text, weekly_series
from inventory.models import Location
from omni.models import City, User
from tests.factories import PlannerFactory, ProductFactory, StoreFactory

# The browser and the screenshots are those of the staff pages' browser test.
from .test_browser import Shots, browser, log_in, open_page, playwright  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP: ViewportSize = {"width": 1366, "height": 768}
HANDHELD: ViewportSize = {"width": 412, "height": 915}
HISTORY_DAYS = 224  # long enough for three 28-day validation origins after eight weeks
# The page's own width against the viewport's: more means the page scrolls sideways.
PAGE_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def history(stores: list[str]) -> dict[tuple[str, str], np.ndarray]:
    """A city's demand: weekly sellers (smooth), slow sellers that sell on a few days
    (intermittent) and odd bulk buys (lumpy), at every store."""
    rng = np.random.default_rng(7)
    out: dict[tuple[str, str], np.ndarray] = {}
    for s, store in enumerate(stores):
        for n in range(1, 19):
            scale = 0.6 + 0.15 * ((n + s) % 8)
            out[(f"TEA-{n:02d}", store)] = weekly_series(
                HISTORY_DAYS, seed=100 * s + n, scale=scale
            )
        for n in range(1, 5):
            sells = rng.random(HISTORY_DAYS) < 0.2
            out[(f"CUP-{n:02d}", store)] = np.where(sells, rng.poisson(2.0, HISTORY_DAYS) + 1, 0)
        for n in range(1, 3):
            sells = rng.random(HISTORY_DAYS) < 0.12
            out[(f"SET-{n:02d}", store)] = np.where(sells, rng.geometric(0.15, HISTORY_DAYS), 0)
    return out


@pytest.fixture
def forecast_run(
    city: City, store: Location, store2: Location, tmp_path: Path, monkeypatch: Any
) -> ForecastRun:
    """A succeeded 28-day run of 96 series at four stores, every model a candidate. Its chunks
    run in this process: the suite has a broker but no forecast worker."""
    from forecasting import services

    monkeypatch.setattr(
        services,
        "_send_chunks",
        lambda run_id, numbers: [
            services.forecast_chunk_execute(run_id=run_id, number=n, worker="test") for n in numbers
        ],
    )
    stores = [
        store,
        store2,
        StoreFactory.create(code="S03", name="Store 3", city=city),
        StoreFactory.create(code="S04", name="Store 4", city=city),
    ]
    demand = history([s.code for s in stores])
    for sku in sorted({sku for sku, _ in demand}):
        ProductFactory.create(sku=sku)
    path = tmp_path / "history.csv"
    path.write_text(csv_text(demand), encoding="utf-8")
    demand_import(path=path)
    started = forecast_run_start(city=city, horizon=28, enqueue=False)
    run = forecast_run_execute(run_id=started.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


@pytest.fixture
def planner_user(db: Any) -> User:
    return PlannerFactory.create(username="mei")


def overflow(tab: Page) -> int:
    return int(tab.evaluate(PAGE_OVERFLOW))


def test_a_planner_reads_the_blend_and_the_window_totals_of_a_run(
    live_server: Any,
    open_page: Any,  # noqa: F811
    forecast_run: ForecastRun,
    planner_user: User,
) -> None:
    base = live_server.url
    url = f"{base}/staff/forecasts/{forecast_run.pk}/?sku=TEA-03&location=S02#chart"

    desk = open_page(DESKTOP)
    shot = Shots(desk, "forecast-run")
    log_in(desk, base, planner_user, shot)
    desk.goto(url)
    blend = desk.locator("#blend")
    assert "Validation origins" in blend.inner_text()
    assert desk.locator("#blend [data-origins] time").count() == 3
    rows = desk.locator("#blends tbody tr")
    assert rows.first.get_attribute("data-segment") == "*"
    assert "All series" in rows.first.inner_text()
    segments = {rows.nth(i).get_attribute("data-segment") for i in range(rows.count())}
    assert {"smooth", "intermittent"} <= segments
    assert "Blend RMSSE" in desk.inner_text("#accuracy")
    assert desk.locator("#per-model [data-model=lightgbm] [data-weight]").count() == 1
    # The chart of the SKU with its window panel, and the window totals as a table.
    assert desk.locator("#chart svg #window-panel").count() == 1
    assert desk.locator("#chart svg #window-28").count() == 1
    assert [
        desk.locator("#window-totals tbody tr").nth(i).get_attribute("data-days") for i in range(3)
    ] == ["7", "14", "28"]
    assert "Over the next 28 days: about" in desk.inner_text("[data-window-words]")
    assert overflow(desk) <= 0
    shot("desktop")

    hand = open_page(HANDHELD, handheld=True)
    shot = Shots(hand, "forecast-run-handheld")
    log_in(hand, base, planner_user, shot)
    hand.goto(url)
    assert hand.locator("#chart svg #window-panel").count() == 1
    assert overflow(hand) <= 0, "the page scrolls sideways on a handheld"
    # The blend table is wider than the screen: it scrolls in its own box, the card stays put.
    table_box = hand.locator("#blend .scroll")
    assert table_box.evaluate("(el) => el.scrollWidth > el.clientWidth")
    assert table_box.evaluate("(el) => getComputedStyle(el).overflowX") == "auto"
    for card in ("#accuracy", "#blend", "#chart"):
        assert hand.locator(card).evaluate("(el) => el.scrollWidth <= el.clientWidth"), card
    shot("handheld")

    hand.click("button[name=language][value=zh-hans]")
    hand.wait_for_load_state()
    hand.goto(url)
    assert "验证起点" in hand.inner_text("#blend")
    assert "全部序列" in hand.inner_text("#blends")
    assert overflow(hand) <= 0, "the Chinese page scrolls sideways on a handheld"
    shot("handheld-zh")
