"""ABC by value, XYZ by weekly variability, and the suggested policy per class."""

from __future__ import annotations

import numpy as np
import pytest

from purchasing.policy.classes import SUGGESTED, abc_classes, suggest, weekly_cv, xyz_class


def test_abc_by_cumulative_share_of_value():
    classes = abc_classes({"a": 70.0, "b": 15.0, "c": 10.0, "d": 5.0, "e": 0.0})
    # Shares before each: a 0 %, b 70 %, c 85 %, d 95 %; no value is C.
    assert classes == {"a": "A", "b": "A", "c": "B", "d": "C", "e": "C"}


def test_abc_one_item_holding_most_value_is_a_and_nothing_moved_is_all_c():
    assert abc_classes({"big": 90.0, "small": 10.0}) == {"big": "A", "small": "B"}
    assert abc_classes({"x": 0.0, "y": 0.0}) == {"x": "C", "y": "C"}


def test_xyz_by_weekly_cv():
    steady = np.tile([1.0, 2, 1, 2, 1, 2, 1], 10)  # every week the same
    assert weekly_cv(steady) == pytest.approx(0.0)
    assert xyz_class(steady) == "X"
    weeks = np.repeat([10.0, 4.0], 7 * 5)  # weekly totals 70 and 28: CV 3/7
    assert xyz_class(weeks) == "X"
    moderate = np.concatenate([np.full(7, 1.0), np.full(7, 5.0)] * 5)  # 7 and 35: CV 2/3
    assert xyz_class(moderate) == "Y"
    lumpy = np.zeros(70)
    lumpy[::21] = 30
    assert xyz_class(lumpy) == "Z"


def test_xyz_without_enough_weeks_or_demand_is_z():
    assert xyz_class(np.ones(20)) == "Z"
    assert xyz_class(np.zeros(100)) == "Z"


def test_every_class_has_a_suggestion_and_fill_falls_with_value_and_variability():
    assert set(SUGGESTED) == {a + x for a in "ABC" for x in "XYZ"}
    targets = {key: policy.service_level or 0.0 for key, policy in SUGGESTED.items()}
    assert targets["AX"] > targets["BX"] > targets["CX"]
    assert targets["AX"] > targets["AY"] > targets["AZ"]
    assert suggest("C", "Z").method == "min_max"
    with pytest.raises(ValueError, match="unknown class"):
        suggest("D", "X")
