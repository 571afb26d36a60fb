"""Real store demand: a sample of the M5 subset, forecast from its last evaluation origin and
judged on the 28 days after it. The full table (204 series, three origins) is
``python -m forecasting.evaluate_m5`` (docs/forecasting.md)."""

from __future__ import annotations

import pytest

from forecasting.engine import BASELINE_MODEL, ForecastConfig
from forecasting.evaluate_m5 import M5_FILE, SELECTION, evaluate, load_m5

pytestmark = pytest.mark.skipif(not M5_FILE.exists(), reason=f"no M5 data at {M5_FILE}")


def test_the_blend_beats_seasonal_naive_and_holds_its_window_quantiles_on_unseen_days():
    result = evaluate(load_m5(), config=ForecastConfig(jobs=1), origins=1, sample=40)
    (origin,) = result.origins
    assert origin.series == 40
    blend = origin.row(SELECTION).accuracy.rmsse
    assert blend <= 0.9 * origin.row(BASELINE_MODEL).accuracy.rmsse, result.table()
    assert blend <= 1.03 * min(r.accuracy.rmsse for r in origin.singles), result.table()
    # The hierarchy reached the global model.
    assert load_m5().series[0].attributes.keys() == {"department", "category", "region"}
    # Window quantiles hold what they promise on days the run never saw.
    assert 0.8 <= origin.window_coverage[28]["q90"] <= 0.98, result.table()
    assert 0.8 <= origin.coverage["q90"] <= 0.95, origin.coverage
