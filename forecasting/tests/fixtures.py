"""Fixtures of forecasting tests: demand histories as CSV text, imported into the test city."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inventory.models import Location, Product
from tests.factories import ProductFactory

AS_OF = date(2024, 6, 30)
WEEKLY = np.array([2.0, 2.0, 3.0, 3.0, 5.0, 9.0, 8.0])  # Mon..Sun


def weekly_series(days: int, *, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """Poisson demand with a strong weekly pattern, ending on AS_OF."""
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(days=days - 1)
    weekday = np.array([(start + timedelta(days=i)).weekday() for i in range(days)])
    return rng.poisson(WEEKLY[weekday] * scale).astype(float)


def csv_text(series: dict[tuple[str, str], np.ndarray], *, end: date = AS_OF) -> str:
    lines = ["sku,location,date,quantity"]
    for (sku, location), values in series.items():
        start = end - timedelta(days=len(values) - 1)
        for i, value in enumerate(values):
            if value:  # missing days are zeros
                lines.append(f"{sku},{location},{start + timedelta(days=i)},{value:g}")
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _one_process(settings: Any) -> Iterator[None]:
    """Runs in tests compute in the test process: no fork inside pytest."""
    settings.OMNI_FORECAST_JOBS = 1
    yield


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "history.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def products(db: Any) -> list[Product]:
    return [ProductFactory.create(sku=f"SKU-{n}") for n in range(1, 4)]


@pytest.fixture
def history_csv(store: Location, store2: Location) -> str:
    """Three SKUs at two stores: two long weekly series, a short one, an idle one."""
    return csv_text(
        {
            ("SKU-1", store.code): weekly_series(160, seed=1),
            ("SKU-1", store2.code): weekly_series(160, seed=2, scale=0.5),
            ("SKU-2", store.code): weekly_series(30, seed=3),  # too short to backtest
            ("SKU-3", store.code): np.concatenate([weekly_series(60, seed=4), np.zeros(200)]),
        }
    )
