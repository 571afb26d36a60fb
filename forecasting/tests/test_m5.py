"""Real store demand: a sample of the M5 subset, held out over its last 28 days. The full
204-series table is ``python -m forecasting.evaluate_m5`` (docs/forecasting.md)."""

from __future__ import annotations

import pytest

from forecasting.engine import ForecastConfig
from forecasting.evaluate_m5 import M5_FILE, PER_SERIES, SELECTION, evaluate, load_m5

pytestmark = pytest.mark.skipif(not M5_FILE.exists(), reason=f"no M5 data at {M5_FILE}")


def test_selection_beats_weekly_seasonal_naive_by_ten_percent_on_held_out_days():
    result = evaluate(load_m5(), config=ForecastConfig(jobs=1), sample=30)
    assert result.series == 30
    assert result.improvement >= 10.0, result.table()
    assert result.row(SELECTION).accuracy.rmsse < result.row(PER_SERIES).accuracy.rmsse * 1.05
    # The quantiles hold what they promise on days the run never saw.
    assert 0.85 <= result.coverage["q90"] <= 0.95, result.coverage
