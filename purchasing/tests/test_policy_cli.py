"""``python -m purchasing.policy history.csv --lead-time-days L --review-days R --service-level
P --out policy.csv``: the file interface, run as a user would, without Django settings."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
START = date(2025, 1, 1)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "purchasing.policy", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def history_csv(path: Path, series: dict[tuple[str, str], np.ndarray], header: str = "") -> Path:
    lines = [header or "sku,location,date,quantity"]
    for (sku, location), values in series.items():
        for i, value in enumerate(values):
            lines.append(f"{sku},{location},{START + timedelta(days=i)},{value:g}")
    path.write_text("\n".join(lines) + "\n")
    return path


def policy_args(history: Path, out: Path, *extra: str) -> list[str]:
    return [
        str(history),
        "--lead-time-days",
        "7",
        "--review-days",
        "7",
        "--service-level",
        "0.95",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def test_policy_csv_has_the_contract_columns_one_row_per_series(tmp_path):
    rng = np.random.default_rng(1)
    intermittent = np.zeros(200)
    intermittent[::6] = 2
    history = history_csv(
        tmp_path / "history.csv",
        {
            ("A", "DC"): rng.poisson(5, 200).astype(float),
            ("B", "DC"): intermittent,
            ("A", "S1"): rng.poisson(1, 200).astype(float),
        },
    )
    out = tmp_path / "policy.csv"
    done = run_cli(*policy_args(history, out))
    assert done.returncode == 0, done.stderr
    with out.open() as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == [
        "sku",
        "location",
        "reorder_point",
        "order_up_to",
        "safety_stock",
        "method",
    ]
    assert [(r["sku"], r["location"]) for r in rows] == [("A", "DC"), ("A", "S1"), ("B", "DC")]
    assert {r["method"] for r in rows} == {"compound_bootstrap"}
    by_key = {(r["sku"], r["location"]): r for r in rows}
    assert int(by_key[("A", "DC")]["order_up_to"]) > int(by_key[("A", "S1")]["order_up_to"])
    for row in rows:
        assert int(row["reorder_point"]) <= int(row["order_up_to"])


def test_details_add_classes_and_per_series_holds_each_series(tmp_path):
    rng = np.random.default_rng(2)
    history = history_csv(
        tmp_path / "history.csv",
        {("A", "DC"): rng.poisson(5, 120).astype(float), ("B", "DC"): rng.poisson(0.2, 120)},
    )
    out = tmp_path / "policy.csv"
    done = run_cli(*policy_args(history, out, "--details", "--per-series"))
    assert done.returncode == 0, done.stderr
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["abc"] == "A" and rows[1]["abc"] in ("B", "C")
    assert all(float(r["expected_fill"]) >= 0.95 for r in rows)
    assert all(r["xyz"] in "XYZ" and r["suggested"] for r in rows)


def test_unknown_columns_are_named_and_nothing_is_written(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("sku,location,date,quantity,colour\nA,DC,2025-01-01,3,red\n")
    out = tmp_path / "policy.csv"
    done = run_cli(*policy_args(history, out))
    assert done.returncode == 1
    assert "unknown column 'colour'" in done.stderr
    assert "nothing written" in done.stderr
    assert not out.exists()


def test_bad_dates_and_negative_quantities_name_their_lines(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(
        "sku,location,date,quantity\nA,DC,2025-01-01,3\nA,DC,2025-02-30,1\nA,DC,2025-01-03,-2\n"
    )
    out = tmp_path / "policy.csv"
    out.write_text("an older policy\n")
    done = run_cli(*policy_args(history, out))
    assert done.returncode == 1
    assert "history.csv:3: date: '2025-02-30' is not a date" in done.stderr
    assert "history.csv:4: quantity: -2 is negative" in done.stderr
    assert out.read_text() == "an older policy\n"


def test_bad_arguments_exit_2_naming_the_option(tmp_path):
    history = history_csv(tmp_path / "history.csv", {("A", "DC"): np.ones(30)})
    for option, value in (
        ("--service-level", "1.5"),
        ("--lead-time-days", "-1"),
        ("--review-days", "0"),
    ):
        args = policy_args(history, tmp_path / "policy.csv")
        args[args.index(option) + 1] = value
        done = run_cli(*args)
        assert done.returncode == 2
        assert option in done.stderr
    assert not (tmp_path / "policy.csv").exists()
