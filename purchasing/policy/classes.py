"""ABC/XYZ classes of SKUs and the reorder policy suggested for each class.

- **ABC by value**: SKUs sorted by the value they move (units × unit cost over the period,
  largest first). A SKU is ``A`` while the cumulative share of value *before* it is under 80 %,
  ``B`` while under 95 %, ``C`` after that (the last 5 %). The SKU that crosses a boundary
  belongs to the class it starts in, so one SKU holding 90 % of the value is ``A``. SKUs with
  no value are ``C``.
- **XYZ by variability**: the coefficient of variation (standard deviation / mean) of the
  SKU's **weekly** demand over the complete weeks of its recent history (at most 52):
  ``X`` below 0.5, ``Y`` below 1.0, ``Z`` otherwise (and ``Z`` without demand or with fewer
  than 4 weeks).

``SUGGESTED`` maps each of the nine classes to a policy: the fill-rate target falls with value
(A items are worth their stock) and with variability (each point of fill costs more stock on an
erratic item). A planner may override any SKU; the suggestion is where a new SKU starts.

A suggested ``min_max`` needs figures to start from: ``starting_min_max`` covers the mean demand
over the lead time plus the review period (the minimum) and one review period more (the
maximum), rounded up. No safety stock: a cheap, erratic SKU is where a planner's judgement
beats a distribution, and the planner is expected to set it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

ABC_LIMITS = (0.80, 0.95)  # cumulative value shares closing A and B
XYZ_LIMITS = (0.5, 1.0)  # weekly CV closing X and Y
XYZ_WEEKS = 52
XYZ_MIN_WEEKS = 4

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class SuggestedPolicy:
    method: str  # "service_level" or "min_max"
    service_level: float | None  # the fill-rate target of a service_level policy


SUGGESTED: dict[str, SuggestedPolicy] = {
    "AX": SuggestedPolicy("service_level", 0.97),
    "AY": SuggestedPolicy("service_level", 0.95),
    "AZ": SuggestedPolicy("service_level", 0.92),
    "BX": SuggestedPolicy("service_level", 0.95),
    "BY": SuggestedPolicy("service_level", 0.93),
    "BZ": SuggestedPolicy("service_level", 0.90),
    "CX": SuggestedPolicy("service_level", 0.92),
    "CY": SuggestedPolicy("service_level", 0.88),
    # Cheap and erratic: a forecast says little; a planner's hand-set min/max is as good.
    "CZ": SuggestedPolicy("min_max", None),
}


def abc_classes(values: Mapping[K, float]) -> dict[K, str]:
    """``A``, ``B`` or ``C`` per key from the value each moved (see the module docstring)."""
    keys = list(values)
    amounts = np.array([max(float(values[k]), 0.0) for k in keys])
    total = float(amounts.sum())
    result: dict[K, str] = {}
    if total <= 0:
        return dict.fromkeys(keys, "C")
    # Largest value first; ties in the order given, so the answer does not depend on hashing.
    order = np.argsort(-amounts, kind="stable")
    before = 0.0
    for i in order:
        share = before / total
        if amounts[i] <= 0:
            result[keys[i]] = "C"
        elif share < ABC_LIMITS[0]:
            result[keys[i]] = "A"
        elif share < ABC_LIMITS[1]:
            result[keys[i]] = "B"
        else:
            result[keys[i]] = "C"
        before += amounts[i]
    return result


def weekly_cv(daily: np.ndarray, weeks: int = XYZ_WEEKS) -> float | None:
    """The CV of the weekly totals of the last ``weeks`` complete weeks (the last day of
    ``daily`` ends a week); ``None`` with fewer than 4 weeks or no demand."""
    daily = np.asarray(daily, dtype=float)
    complete = min(daily.size // 7, weeks)
    if complete < XYZ_MIN_WEEKS:
        return None
    totals = daily[daily.size - complete * 7 :].reshape(complete, 7).sum(axis=1)
    mean = float(totals.mean())
    if mean <= 0:
        return None
    return float(totals.std() / mean)


def xyz_class(daily: np.ndarray) -> str:
    """``X``, ``Y`` or ``Z`` from the weekly CV of ``daily`` demand."""
    cv = weekly_cv(daily)
    if cv is None:
        return "Z"
    if cv < XYZ_LIMITS[0]:
        return "X"
    if cv < XYZ_LIMITS[1]:
        return "Y"
    return "Z"


def suggest(abc: str, xyz: str) -> SuggestedPolicy:
    """The policy suggested for a class such as ``("A", "X")``."""
    try:
        return SUGGESTED[f"{abc}{xyz}"]
    except KeyError:
        raise ValueError(f"unknown class {abc}{xyz!s} (expected A/B/C and X/Y/Z)") from None


def starting_min_max(daily_mean: float, *, lead_days: int, review_days: int) -> tuple[int, int]:
    """(min, max) of a suggested ``min_max`` policy (see the module docstring)."""
    mean = max(float(daily_mean), 0.0)
    low = math.ceil(mean * (max(lead_days, 0) + max(review_days, 0)) - 1e-9)
    high = low + math.ceil(mean * max(review_days, 1) - 1e-9)
    return low, max(high, low)
