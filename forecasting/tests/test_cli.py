"""``python -m forecasting history.csv --horizon 28 --out forecast.csv``: the file interface, run
as a user would, without Django settings."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from .fixtures import AS_OF, csv_text, weekly_series

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "forecasting", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_forecast_csv_has_the_contract_columns_and_every_day(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(
        csv_text(
            {
                ("A", "S1"): weekly_series(150, seed=1),
                ("B", "S1"): weekly_series(20, seed=2),
                ("A", "S2"): np.concatenate([weekly_series(30, seed=3), np.zeros(190)]),
            }
        )
    )
    out = tmp_path / "forecast.csv"
    accuracy = tmp_path / "accuracy.csv"
    done = run_cli(
        str(history),
        "--horizon",
        "7",
        "--out",
        str(out),
        "--accuracy",
        str(accuracy),
        "--jobs",
        "1",
    )
    assert done.returncode == 0, done.stderr
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "sku",
        "location",
        "date",
        "forecast",
        "model",
        "q50",
        "q80",
        "q90",
        "q95",
    ]
    assert len(rows) == 3 * 7
    first_day = (AS_OF + timedelta(days=1)).isoformat()
    assert [r["date"] for r in rows[:7]] == [
        (AS_OF + timedelta(days=i + 1)).isoformat() for i in range(7)
    ]
    assert rows[0]["date"] == first_day
    models = {(r["sku"], r["location"]): r["model"] for r in rows}
    assert models[("A", "S2")] == "idle"
    assert models[("B", "S1")] == "moving_average"
    assert models[("A", "S1")] in {"blend", "seasonal_naive", "ets", "theta", "tsb", "lightgbm"}
    for r in rows:
        assert float(r["q50"]) <= float(r["q80"]) <= float(r["q90"]) <= float(r["q95"])
        assert float(r["forecast"]) >= 0
    with accuracy.open() as f:
        scored = {(r["sku"], r["location"]): r for r in csv.DictReader(f)}
    assert scored[("A", "S1")]["method"] == "backtest" and scored[("A", "S1")]["rmsse"]
    weights = dict(pair.split(":") for pair in scored[("A", "S1")]["weights"].split())
    assert sum(float(w) for w in weights.values()) == pytest.approx(1.0, abs=0.02)
    assert "blend" in done.stderr  # the summary table


def test_window_days_add_each_series_window_total_and_its_quantiles(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(csv_text({("A", f"S{i}"): weekly_series(150, seed=i) for i in range(6)}))
    done = run_cli(str(history), "--horizon", "14", "--window-days", "10", "--quiet")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0])[-6:] == [
        "window_days",
        "window_total",
        "window_q50",
        "window_q80",
        "window_q90",
        "window_q95",
    ]
    first = [r for r in rows if r["location"] == "S0"]
    assert {r["window_days"] for r in first} == {"10"}
    total = sum(float(r["forecast"]) for r in first[:10])
    assert float(first[0]["window_total"]) == pytest.approx(total, abs=0.01)
    assert float(first[0]["window_q50"]) <= float(first[0]["window_q95"])
    too_long = run_cli(str(history), "--horizon", "14", "--window-days", "20", "--quiet")
    assert too_long.returncode == 2 and "window days" in too_long.stderr


def test_quantiles_are_chosen_on_the_command_line(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("sku,location,date,quantity\nA,S1,2024-01-01,2\n")
    done = run_cli(str(history), "--horizon", "2", "--quantiles", "0.9,0.975", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "sku,location,date,forecast,model,q90,q97.5"


def test_a_bad_history_names_its_lines_and_writes_nothing(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(
        "sku,location,date,quantity\nA,S1,2024-01-01,1\nA,S1,2024-13-01,1\nA,S1,2024-01-01,2\n"
    )
    out = tmp_path / "forecast.csv"
    done = run_cli(str(history), "--out", str(out))
    assert done.returncode == 1
    assert "history.csv:3: date: '2024-13-01' is not a date (YYYY-MM-DD)" in done.stderr
    assert "history.csv:4: duplicate row" in done.stderr
    assert not out.exists()


def test_unknown_model_is_a_usage_error(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("sku,location,date,quantity\nA,S1,2024-01-01,2\n")
    done = run_cli(str(history), "--models", "ets,prophet")
    assert done.returncode == 2
    assert "unknown model(s) 'prophet'" in done.stderr
