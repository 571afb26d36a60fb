"""A run's summary merged from its chunks': what one engine run over all their series would
report, and nothing the merge does not know dropped."""

from __future__ import annotations

import pytest

from forecasting.summaries import merge_summaries


def chunk(series, backtested, selection, baseline, per_model, **extra):
    return {
        "as_of": "2024-06-30",
        "horizon": 7,
        "models": ["seasonal_naive", "ets"],
        "series": series,
        "backtested": backtested,
        "short_history": 1,
        "idle": series - backtested - 1,
        "kept_for_open_orders": 0,
        "capped_series": 1,
        "capped_days": 2,
        "per_model": per_model,
        "selection": selection,
        "baseline": baseline,
        "improvement_pct": 100 * (1 - selection["rmsse"] / baseline["rmsse"]),
        "demand_classes": {"smooth": backtested},
        "seconds": 1.5,
        **extra,
    }


def accuracy(rmsse, mase=1.0, bias=0.0):
    return {"rmsse": rmsse, "mase": mase, "bias": bias}


def model(name, series, wins, rmsse):
    return {"model": name, "series": series, "wins": wins, **accuracy(rmsse)}


def test_counts_add_up_and_accuracy_is_the_mean_over_every_series():
    a = chunk(
        10,
        8,
        accuracy(0.6, bias=0.1),
        accuracy(1.0),
        [model("seasonal_naive", 8, 2, 1.0), model("ets", 8, 6, 0.7)],
    )
    b = chunk(
        4,
        2,
        accuracy(0.9, bias=-0.4),
        accuracy(1.2),
        [model("seasonal_naive", 2, 0, 1.2), model("ets", 2, 2, 0.9)],
    )
    b["demand_classes"] = {"lumpy": 2}
    merged = merge_summaries([a, b])
    assert (merged["series"], merged["backtested"], merged["short_history"]) == (14, 10, 2)
    assert (merged["idle"], merged["capped_series"], merged["capped_days"]) == (2, 2, 4)
    assert merged["demand_classes"] == {"lumpy": 2, "smooth": 8}
    assert merged["as_of"] == "2024-06-30" and merged["seconds"] == 3.0
    assert merged["selection"]["rmsse"] == pytest.approx((8 * 0.6 + 2 * 0.9) / 10)
    assert merged["selection"]["bias"] == pytest.approx((8 * 0.1 - 2 * 0.4) / 10)
    assert merged["baseline"]["rmsse"] == pytest.approx((8 * 1.0 + 2 * 1.2) / 10)
    assert merged["improvement_pct"] == pytest.approx(100 * (1 - 0.66 / 1.04))
    ets = merged["per_model"][1]
    assert (ets["model"], ets["series"], ets["wins"]) == ("ets", 10, 8)
    assert ets["rmsse"] == pytest.approx((8 * 0.7 + 2 * 0.9) / 10)
    assert "chunks" not in merged


def test_a_chunk_with_nothing_backtested_weighs_nothing():
    a = chunk(5, 5, accuracy(0.5), accuracy(1.0), [model("ets", 5, 5, 0.5)])
    b = chunk(1, 0, accuracy(0.5), accuracy(1.0), [model("ets", 0, 0, 0.5)])
    b["selection"] = b["baseline"] = {"rmsse": None, "mase": None, "bias": None}
    b["per_model"][0].update(rmsse=None, mase=None, bias=None)
    merged = merge_summaries([a, b])
    assert merged["selection"] == accuracy(0.5, 1.0, 0.0)
    assert merged["per_model"] == [{**model("ets", 5, 5, 0.5), "weight": 0.0}]


def test_what_the_merge_does_not_know_is_kept_per_chunk():
    a = chunk(
        3,
        3,
        accuracy(0.5),
        accuracy(1.0),
        [{**model("ets", 3, 3, 0.5), "spread": 0.7}],
        sources=["2024-05-01", "2024-06-01"],
        segments={"smooth": {"ets": 1.0}},
    )
    b = chunk(3, 3, accuracy(0.5), accuracy(1.0), [model("ets", 3, 3, 0.5)], sources=[])
    merged = merge_summaries([a, b])
    assert "sources" not in merged and "segments" not in merged
    assert merged["chunks"] == [
        {
            "sources": ["2024-05-01", "2024-06-01"],
            "segments": {"smooth": {"ets": 1.0}},
            "per_model": [{"model": "ets", "spread": 0.7}],
        },
        {"sources": []},
    ]


def test_one_chunk_is_the_run():
    only = chunk(3, 3, accuracy(0.5), accuracy(1.0), [model("ets", 3, 3, 0.5)], origins=["x"])
    assert merge_summaries([only]) == only


def test_blends_and_window_calibrations_merge_weighted_by_series():
    def blend(segment, series, weights, own, rmsse):
        return {
            "segment": segment,
            "weights": weights,
            "series": series,
            "validation_rmsse": rmsse,
            "held_out_rmsse": rmsse + 0.01,
            "global_held_out_rmsse": rmsse + 0.02,
            "own": own,
        }

    a = chunk(
        10,
        8,
        accuracy(0.6),
        accuracy(1.0),
        [model("ets", 8, 8, 0.6)],
        origins=["2024-06-02", "2024-06-09", "2024-06-16"],
        blends=[
            blend("*", 8, {"ets": 1.0}, True, 0.6),
            blend("smooth", 6, {"ets": 1.0}, True, 0.5),
        ],
        window_calibration={"7": {"q50": 0.0, "q90": 2.0}},
    )
    b = chunk(
        4,
        2,
        accuracy(0.9),
        accuracy(1.2),
        [model("ets", 2, 2, 0.9)],
        origins=["2024-06-02", "2024-06-09", "2024-06-16"],
        blends=[blend("*", 2, {"ets": 0.5, "tsb": 0.5}, True, 0.9)],
        window_calibration={"7": {"q50": 1.0, "q90": 3.0}},
    )
    merged = merge_summaries([a, b])
    assert merged["origins"] == a["origins"] and "chunks" not in merged
    everyone = next(x for x in merged["blends"] if x["segment"] == "*")
    assert everyone["series"] == 10
    assert everyone["weights"] == pytest.approx({"ets": 0.9, "tsb": 0.1})
    assert everyone["validation_rmsse"] == pytest.approx(0.66)
    assert merged["window_calibration"]["7"] == pytest.approx({"q50": 0.2, "q90": 2.2})
