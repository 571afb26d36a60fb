"""The pure forecasting core: no Django, no database."""

from __future__ import annotations

import gzip
import io
import logging
import subprocess
import sys
import time
from datetime import date, timedelta

import numpy as np
import pytest

from forecasting.engine import (
    ForecastConfig,
    HistoryError,
    Method,
    Scale,
    SeriesHistory,
    accuracy,
    history_from_rows,
    pool,
    read_history,
    run_forecast,
)
from forecasting.engine.blend import GLOBAL, choose_blends, forward_select
from forecasting.engine.global_model import GlobalSeries, global_forecasts
from forecasting.engine.history import History
from forecasting.engine.hygiene import demand_class, outlier_threshold
from forecasting.engine.metrics import backtest_accuracy
from forecasting.engine.run import BLEND, model_forecasts
from forecasting.engine.windows import calibrate, window_quantiles

from .fixtures import AS_OF, WEEKLY, csv_text, weekly_series

FAST = ForecastConfig(horizon=7, jobs=1)


def read(text: str) -> History:
    return read_history(io.StringIO(text), name="history.csv")


def errors_of(text: str) -> list[str]:
    with pytest.raises(HistoryError) as caught:
        read(text)
    return caught.value.errors


# --------------------------------------------------------------------------- the file format


def test_history_fills_missing_days_with_zero_from_the_first_row():
    history = read("sku,location,date,quantity\nA,S1,2024-01-01,3\nA,S1,2024-01-04,2\n")
    (series,) = history.series
    assert series.start == date(2024, 1, 1)
    assert series.values.tolist() == [3, 0, 0, 2]
    assert history.as_of == date(2024, 1, 4)


def test_every_series_runs_to_the_last_day_of_the_file_in_any_column_order():
    history = read("date,quantity,location,sku\n2024-01-01,1,S1,A\n2024-01-03,5,S2,B\n")
    by_key = {s.key: s.values.tolist() for s in history.series}
    assert by_key == {("A", "S1"): [1, 0, 0], ("B", "S2"): [5]}


def test_a_gzipped_history_reads_the_same(tmp_path):
    path = tmp_path / "h.csv.gz"
    with gzip.open(path, "wt") as out:
        out.write("sku,location,date,quantity\nA,S1,2024-01-01,2\n")
    assert read_history(path).series[0].values.tolist() == [2]


def test_an_unknown_column_names_the_header_line():
    errors = errors_of("sku,location,date,quantity,colour\nA,S1,2024-01-01,1,red\n")
    assert errors == [
        "history.csv:1: unknown column 'colour' "
        "(expected sku, location, date, quantity; optional price, promo)"
    ]


def test_a_missing_column_names_the_header_line():
    assert errors_of("sku,location,date\nA,S1,2024-01-01\n") == [
        "history.csv:1: missing column 'quantity'"
    ]


def test_bad_dates_negative_sales_and_duplicates_each_name_their_line():
    text = (
        "sku,location,date,quantity\n"
        "A,S1,2024-01-01,1\n"  # 2
        "A,S1,2024-02-30,1\n"  # 3: no such day
        "A,S1,01/03/2024,1\n"  # 4: not ISO
        "B,S1,2024-01-01,-2\n"  # 5: negative
        "B,S1,2024-01-02,many\n"  # 6: not a number
        "A,S1,2024-01-01,4\n"  # 7: duplicate of line 2
        ",S1,2024-01-05,1\n"  # 8: no SKU
    )
    assert errors_of(text) == [
        "history.csv:3: date: '2024-02-30' is not a date (YYYY-MM-DD)",
        "history.csv:4: date: '01/03/2024' is not a date (YYYY-MM-DD)",
        "history.csv:5: quantity: -2 is negative",
        "history.csv:6: quantity: 'many' is not a number",
        "history.csv:7: duplicate row: A at S1 on 2024-01-01 is already on line 2",
        "history.csv:8: sku: empty",
    ]


def test_a_row_with_too_many_fields_names_its_line():
    (error,) = errors_of("sku,location,date,quantity\nA,S1,2024-01-01,1\nA,S1,2024-01-02,1,9\n")
    assert "line 3" in error


def test_an_empty_file_is_refused():
    assert errors_of("") == ["history.csv:1: the file is empty (expected a header row)"]


def test_rows_after_as_of_are_left_out():
    rows = [("A", "S1", date(2024, 1, d), 1.0) for d in (1, 2, 3)]
    history = history_from_rows(rows, as_of=date(2024, 1, 2))
    assert history.series[0].values.tolist() == [1, 1]
    assert history.notes == ["1 row(s) after 2024-01-02 left out"]


# --------------------------------------------------------------------------- hygiene


def test_an_item_without_a_sale_for_180_days_forecasts_zero():
    values = np.concatenate([weekly_series(100), np.zeros(180)])
    history = History([SeriesHistory("A", "S1", AS_OF - timedelta(279), values)], AS_OF)
    (item,) = run_forecast(history, FAST).series
    assert (item.method, item.model) == (Method.IDLE, "idle")
    assert item.forecast.tolist() == [0.0] * 7
    assert all(q.sum() == 0 for q in item.quantiles.values())


def test_an_idle_item_with_open_orders_is_forecast():
    values = np.concatenate([weekly_series(100), np.zeros(180)])
    history = History([SeriesHistory("A", "S1", AS_OF - timedelta(279), values)], AS_OF)
    result = run_forecast(history, FAST, open_orders=[("A", "S1")])
    (item,) = result.series
    assert item.method == Method.BACKTEST and item.open_orders
    assert result.summary.kept_for_open_orders == 1


def test_179_quiet_days_are_not_idle_yet():
    values = np.concatenate([weekly_series(100), np.zeros(179)])
    history = History([SeriesHistory("A", "S1", AS_OF - timedelta(278), values)], AS_OF)
    assert run_forecast(history, FAST).series[0].method == Method.BACKTEST


def test_a_series_too_short_to_backtest_gets_a_moving_average():
    values = np.array([0, 0, 4, 0, 2, 6, 0, 0, 3, 1], dtype=float)  # two leading zeros
    history = History([SeriesHistory("A", "S1", AS_OF - timedelta(9), values)], AS_OF)
    (item,) = run_forecast(history, ForecastConfig(horizon=28, jobs=1)).series
    assert (item.method, item.model) == (Method.SHORT_HISTORY, "moving_average")
    # from the first sale: 4 0 2 6 0 0 3 1
    assert item.forecast.tolist() == pytest.approx([2.0] * 28)
    assert item.history_days == 8
    assert item.quantiles["q50"][0] == pytest.approx(1.5)


def test_a_one_off_bulk_sale_is_capped_before_fitting_and_logged(caplog):
    values = weekly_series(160, seed=5)
    values[100] = 400.0  # a wholesale customer cleared the shelf once
    history = History([SeriesHistory("A", "S1", AS_OF - timedelta(159), values)], AS_OF)
    with caplog.at_level(logging.INFO, logger="forecasting.engine"):
        result = run_forecast(history, FAST)
    (item,) = result.series
    (cap,) = item.capped
    assert cap.day == AS_OF - timedelta(59) and cap.quantity == 400.0
    assert cap.capped_to < 40
    assert result.summary.capped_days == 1
    assert any("outlier capped" in r.message and "400" in r.getMessage() for r in caplog.records)
    assert item.forecast.max() < 20  # the bulk sale did not lift the forecast


def test_ordinary_busy_days_are_not_outliers():
    values = weekly_series(365, seed=6)
    threshold = outlier_threshold(values, k=10.0, min_sales=8)
    assert threshold is not None and values.max() < threshold


def test_demand_classes():
    assert demand_class(np.array([3, 4, 3, 5, 4, 3], dtype=float)) == "smooth"
    assert demand_class(np.array([1, 30, 2, 1, 40, 1], dtype=float)) == "erratic"
    assert demand_class(np.array([0, 0, 2, 0, 0, 2, 0, 2], dtype=float)) == "intermittent"
    assert demand_class(np.array([0, 0, 1, 0, 0, 40, 0, 3], dtype=float)) == "lumpy"


# --------------------------------------------------------------------------- selection


def test_a_weekly_pattern_is_forecast_by_a_model_that_sees_the_week():
    values = weekly_series(200, seed=7, scale=3.0)
    history = History([SeriesHistory("A", "S1", AS_OF - timedelta(199), values)], AS_OF)
    result = run_forecast(history, FAST)
    (item,) = result.series
    # A blend of the models that see the week (the intermittent TSB cannot).
    assert item.model in {BLEND, "seasonal_naive", "ets", "theta", "lightgbm"}
    assert sum(item.weights.values()) == pytest.approx(1.0)
    assert item.weights.get("tsb", 0) < 0.5
    # The forecast follows the weekday pattern from the day after AS_OF.
    expected = np.array([WEEKLY[(AS_OF + timedelta(days=i + 1)).weekday()] for i in range(7)])
    assert np.corrcoef(item.forecast, expected)[0, 1] > 0.9
    assert result.summary.improvement is not None
    assert item.accuracy is not None and item.baseline is not None
    assert set(item.backtests) == set(FAST.models)


def test_quantiles_rise_with_the_level_and_are_never_negative():
    values = weekly_series(200, seed=8)
    history = History([SeriesHistory("A", "S1", AS_OF - timedelta(199), values)], AS_OF)
    (item,) = run_forecast(history, FAST).series
    q = np.vstack([item.quantiles[name] for name in FAST.quantile_names])
    assert (q >= 0).all()
    assert (np.diff(q, axis=0) >= -1e-9).all()
    assert (item.quantiles["q95"] >= item.forecast).all()


def _windows(level: float, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.poisson(level, (n, 3, 7)).astype(float)


def test_forward_selection_weighs_a_better_model_more_and_sums_to_one():
    rng = np.random.default_rng(1)
    actual = _windows(5, 60, rng)
    good = actual + rng.normal(0, 0.5, actual.shape)
    poor = actual + rng.normal(0, 3.0, actual.shape)
    weights = forward_select(np.stack([poor, good]), actual, np.ones(60), steps=20)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    assert weights[1] > 0.8


def test_a_blend_of_opposite_biases_beats_each_model_alone():
    rng = np.random.default_rng(2)
    actual = _windows(10, 80, rng)
    high, low = (
        actual + 2 + rng.normal(0, 1, actual.shape),
        actual - 2 + rng.normal(0, 1, actual.shape),
    )
    weights = forward_select(np.stack([high, low]), actual, np.ones(80), steps=20)
    assert 0.3 <= weights[0] <= 0.7


def test_a_segment_gets_its_own_weights_only_where_that_pays_on_a_held_out_origin():
    rng = np.random.default_rng(3)
    n = 200
    actual = _windows(6, n, rng)
    segments = ["smooth"] * 100 + ["lumpy"] * 90 + ["erratic"] * 10
    a = actual + rng.normal(0, 0.4, actual.shape)  # good for smooth series
    b = actual + rng.normal(0, 3.0, actual.shape)
    a[100:] = actual[100:] + rng.normal(0, 3.0, actual[100:].shape)  # poor elsewhere
    b[100:] = actual[100:] + rng.normal(0, 0.4, actual[100:].shape)
    choice = choose_blends(np.stack([a, b]), actual, np.ones(n), segments, ["a", "b"])
    assert choice.blends["smooth"].own and choice.blends["smooth"].weights.get("a", 0) > 0.8
    assert choice.blends["lumpy"].own and choice.blends["lumpy"].weights.get("b", 0) > 0.8
    # Ten series are too few to trust weights of their own: the run's global ones serve them.
    assert not choice.blends["erratic"].own
    assert choice.blends["erratic"].weights == choice.blends[GLOBAL].weights
    smooth = choice.blends["smooth"]
    assert smooth.held_out_rmsse is not None and smooth.global_held_out_rmsse is not None
    assert smooth.held_out_rmsse < smooth.global_held_out_rmsse


def test_window_quantiles_are_calibrated_on_window_totals_not_summed_days():
    rng = np.random.default_rng(4)
    level = rng.uniform(0.2, 5, 400)
    actual = rng.poisson(level[:, None, None], (400, 3, 28)).astype(float)
    forecasts = np.broadcast_to(level[:, None, None], actual.shape).copy()
    z = calibrate(forecasts, actual, 28, (0.5, 0.9, 0.95))
    assert z[0] < z[1] < z[2]
    fresh = rng.poisson(level[:, None], (400, 28)).sum(axis=1)
    q = [window_quantiles(np.full(28, lv), 28, z, ["q50", "q90", "q95"]) for lv in level]
    covered = np.mean(fresh <= np.array([w["q90"] for w in q]))
    assert 0.85 <= covered <= 0.95
    # The sum of daily q90s is far above the window's q90.
    daily_q90 = np.quantile(rng.poisson(level[:, None], (400, 5000)), 0.9, axis=1) * 28
    assert np.mean(np.array([w["q90"] for w in q]) < daily_q90) > 0.9
    assert q[0]["total"] == pytest.approx(28 * level[0], rel=1e-3)


def test_a_run_gives_window_quantiles_for_each_window_asked():
    series = [
        SeriesHistory(f"S{i}", "L", AS_OF - timedelta(149), weekly_series(150, seed=i))
        for i in range(12)
    ]
    config = ForecastConfig(horizon=14, jobs=1, window_days=(7, 14))
    result = run_forecast(History(series, AS_OF), config)
    item = result.series[0]
    assert set(item.window) == {7, 14}
    w = item.window[14]
    assert w["total"] == pytest.approx(float(item.forecast.sum()), rel=1e-3)
    assert 0 <= w["q50"] <= w["q80"] <= w["q90"] <= w["q95"]
    assert set(result.summary.window_calibration) == {7, 14}
    assert result.summary.origins == config.origins(AS_OF)
    with pytest.raises(ValueError, match="window days"):
        ForecastConfig(horizon=14, window_days=(28,))


def test_the_global_model_learns_a_pattern_shared_across_series_it_did_not_all_see():
    rng = np.random.default_rng(5)
    start = AS_OF - timedelta(299)
    weekday = np.array([(start + timedelta(days=i)).weekday() for i in range(300)])
    series = [
        GlobalSeries(
            start=start,
            values=rng.poisson(level * np.where(weekday >= 5, 3.0, 1.0)).astype(float),
            attributes={"sku": f"S{i}", "location": "L"},
        )
        for i, level in enumerate(rng.uniform(1, 8, 30))
    ]
    out = global_forecasts(series, horizon=14, cuts=[14, 0], threads=1)
    assert out[0].shape == out[14].shape == (30, 14)
    days = [(AS_OF + timedelta(days=i + 1)).weekday() >= 5 for i in range(14)]
    weekend, weekdays = out[0][:, days].mean(), out[0][:, [not d for d in days]].mean()
    assert weekend > 2 * weekdays
    assert (out[0] >= 0).all()


def test_the_pool_and_one_process_give_the_same_forecasts():
    series = [
        SeriesHistory(f"S{i}", "L", AS_OF - timedelta(149), weekly_series(150, seed=i))
        for i in range(40)
    ]
    one = run_forecast(History(series, AS_OF), ForecastConfig(horizon=7, jobs=1, block_size=16))
    # A run in this process keeps neither its series nor their prepared versions after it.
    assert not pool.RUN_SERIES and not pool._PREPARED
    two = run_forecast(History(series, AS_OF), ForecastConfig(horizon=7, jobs=2, block_size=16))
    for a, b in zip(one.series, two.series, strict=True):
        assert a.key == b.key and a.model == b.model
        assert np.allclose(a.forecast, b.forecast)


def _nap(task: tuple[int, float]) -> None:
    """A pool task that only takes time."""
    time.sleep(task[1])


def test_waiting_tasks_go_to_the_pool_by_priority_whenever_they_were_submitted():
    with pool.Workers([], 2) as workers:
        # Both processes busy and one task ready behind them: the rest wait here.
        for name in ("first", "second", "third"):
            workers.submit("nap", name, _nap, (0.3,), priority=5, label=name)
        for name, priority in (("late", 9), ("urgent", 1), ("soon", 5)):
            workers.submit("nap", name, _nap, (0.0,), priority=priority, label=name)
        finished = [key for _, key, _ in workers.completed()]
    assert sorted(finished) == sorted(["first", "second", "third", "late", "urgent", "soon"])
    started = [t.label for t in sorted(workers.timeline.tasks, key=lambda t: t.start)]
    assert [name for name in started if name in ("late", "urgent", "soon")] == [
        "urgent",
        "soon",
        "late",
    ]
    # Every task's process, time and CPU are on the run's timeline.
    assert {t.step for t in workers.timeline.tasks} == {"nap"}
    assert all(t.end >= t.start and t.pid for t in workers.timeline.tasks)


def test_model_forecasts_give_every_model_for_every_series():
    series = [SeriesHistory("A", "S1", AS_OF - timedelta(99), weekly_series(100))]
    out = model_forecasts(History(series, AS_OF), FAST, ["seasonal_naive", "tsb", "lightgbm"])
    assert out["seasonal_naive"].shape == out["lightgbm"].shape == (1, 7)
    assert out["seasonal_naive"][0].tolist() == series[0].values[-7:].tolist()


# --------------------------------------------------------------------------- metrics


def test_rmsse_mase_and_bias_on_known_numbers():
    scale = Scale.of(np.array([0, 2, 0, 2], dtype=float))  # changes ±2: squared 4, absolute 2
    acc = accuracy(np.array([1.0, 3.0]), np.array([2.0, 2.0]), scale)
    assert acc.rmsse == pytest.approx(0.5)  # sqrt(mean(1, 1) / 4)
    assert acc.mase == pytest.approx(0.5)  # mean(1, 1) / 2
    assert acc.bias == pytest.approx(0.0)
    over = backtest_accuracy(np.zeros((2, 2)), np.ones((2, 2)), scale)
    assert over.bias == pytest.approx(0.5)


def test_a_constant_history_does_not_divide_by_zero():
    acc = accuracy(np.array([2.0]), np.array([3.0]), Scale.of(np.array([2.0, 2.0])))
    assert acc.rmsse == pytest.approx(1.0)


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="horizon"):
        ForecastConfig(horizon=0)
    with pytest.raises(ValueError, match="quantiles"):
        ForecastConfig(quantiles=(0.9, 0.5))
    with pytest.raises(ValueError, match="unknown model"):
        ForecastConfig(models=("prophet",))


def test_the_core_imports_without_django():
    code = (
        "import sys, forecasting.engine, forecasting.__main__, forecasting.evaluate_m5; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin"})


def test_csv_text_helper_round_trips():
    values = weekly_series(20)
    history = read(csv_text({("A", "S1"): values}))
    first = int(np.flatnonzero(values)[0])
    assert history.series[0].values.tolist() == values[first:].tolist()


def test_price_and_promo_columns_are_read_per_day_where_a_history_has_them():
    history = read(
        "sku,location,date,quantity,price,promo\n"
        "A,S1,2024-01-01,3,2.5,0\nA,S1,2024-01-03,9,1.99,yes\nB,S1,2024-01-02,1,,\n"
    )
    a, b = history.series
    assert a.price is not None and a.promo is not None
    assert a.price[[0, 2]].tolist() == [2.5, 1.99] and np.isnan(a.price[1])
    assert a.promo[[0, 2]].tolist() == [0.0, 1.0]
    assert b.price is not None and np.isnan(b.price).all()
    errors = errors_of("sku,location,date,quantity,price,promo\nA,S1,2024-01-01,3,-1,maybe\n")
    assert errors == [
        "history.csv:2: price: -1 is negative",
        "history.csv:2: promo: 'maybe' is not 1/0, true/false or yes/no",
    ]
    assert read("sku,location,date,quantity\nA,S1,2024-01-01,3\n").series[0].price is None


def test_the_global_model_reads_a_promotion_spike_as_a_promotion():
    rng = np.random.default_rng(9)
    start = AS_OF - timedelta(299)
    series, plain = [], []
    for i in range(40):
        promo = (rng.random(300) < 0.15).astype(float)
        values = rng.poisson(np.where(promo > 0, 10.0, 2.0)).astype(float)
        values[0] = max(values[0], 1.0)
        ids = {"sku": f"S{i}", "location": "L"}
        series.append(GlobalSeries(start=start, values=values, attributes=ids, promo=promo))
        plain.append(GlobalSeries(start=start, values=values, attributes=ids))
    informed = global_forecasts(series, horizon=14, cuts=[0], threads=1)[0]
    blind = global_forecasts(plain, horizon=14, cuts=[0], threads=1)[0]
    # No promotion ahead: the informed model forecasts the base level, the blind one the
    # average with promotions in it.
    assert abs(informed.mean() - 2.0) < 0.6
    assert blind.mean() > informed.mean() + 0.5
