"""The effect statistics (loyalty.effect) on simulated campaigns with a known injected uplift."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from loyalty.effect import MemberOutcomes, campaign_effect, welch_interval

# Simulated members: a share buys in the window, a buyer spends a log-normal amount (skewed, a
# long right tail, like real baskets) and buys a Poisson number of units; the coupon raises the
# share that buys. Most members spend nothing: the hard case for a t interval.
BUY_SHARE = 0.30
LOG_MEAN, LOG_SIGMA = math.log(60.0), 0.8
MEAN_SPEND = math.exp(LOG_MEAN + LOG_SIGMA**2 / 2)
MEAN_UNITS = 3.0


def simulate(
    seed: int, *, members: int = 3000, holdout_share: float = 0.10, lift: float = 0.0
) -> tuple[MemberOutcomes, float, float]:
    """A campaign's outcomes, and the true uplift in revenue and in units per member."""
    rng = np.random.default_rng(seed)
    treated = rng.random(members) >= holdout_share
    share = np.where(treated, BUY_SHARE + lift, BUY_SHARE)
    buys = rng.random(members) < share
    revenue = np.where(buys, rng.lognormal(LOG_MEAN, LOG_SIGMA, members), 0.0)
    units = np.where(buys, 1 + rng.poisson(MEAN_UNITS - 1, members), 0)
    redeemed = treated & buys & (rng.random(members) < 0.8)
    online = rng.random(members) < 0.4
    outcomes = MemberOutcomes.of(
        treated=treated,
        revenue=revenue,
        units=units,
        redeemed=redeemed,
        home_store=[f"S0{i}" for i in rng.integers(1, 4, members)],
        channel_revenue={
            "app": np.where(online, revenue, 0),
            "store": np.where(online, 0, revenue),
        },
        channel_units={"app": np.where(online, units, 0), "store": np.where(online, 0, units)},
    )
    return outcomes, lift * MEAN_SPEND, lift * MEAN_UNITS


def coverage(lift: float, *, confidence: float = 0.95, runs: int = 200) -> tuple[float, float]:
    """The share of seeded simulations whose interval holds the true revenue / units uplift."""
    revenue_hits = units_hits = 0
    for seed in range(runs):
        outcomes, true_revenue, true_units = simulate(seed, lift=lift)
        effect = campaign_effect(outcomes, confidence=confidence).overall
        revenue_hits += effect.revenue_uplift.contains(true_revenue)
        units_hits += effect.units_uplift.contains(true_units)
    return revenue_hits / runs, units_hits / runs


# 200 runs: the coverage of a true 95 % interval falls in [0.91, 0.985] with probability above
# 99 % (binomial sd 1.5 points); a too-narrow interval (below) falls out of it.
NOMINAL = (0.91, 0.985)


def test_a_known_uplift_is_recovered_within_its_interval():
    outcomes, true_revenue, true_units = simulate(7, members=20000, lift=0.06)
    effect = campaign_effect(outcomes).overall
    assert effect.revenue_uplift.contains(true_revenue)
    assert effect.units_uplift.contains(true_units)
    # An uplift of 6 points of buyers is large enough to be told from none with 20,000 members.
    assert effect.revenue_uplift.excludes_zero and effect.revenue_uplift.estimate > 0
    assert effect.units_uplift.excludes_zero
    assert effect.treated.redemption_rate > 0.2
    assert effect.holdout.redemption_rate == 0.0
    assert effect.incremental_revenue.estimate == pytest.approx(
        effect.revenue_uplift.estimate * effect.treated.members
    )


def test_no_effect_is_shown_when_none_was_injected():
    outcomes, _, _ = simulate(7, members=20000, lift=0.0)
    effect = campaign_effect(outcomes).overall
    assert effect.revenue_uplift.contains(0.0)
    assert effect.units_uplift.contains(0.0)
    assert not effect.revenue_uplift.excludes_zero


def test_the_interval_covers_the_true_uplift_at_its_nominal_rate():
    revenue, units = coverage(lift=0.05)
    assert NOMINAL[0] <= revenue <= NOMINAL[1], revenue
    assert NOMINAL[0] <= units <= NOMINAL[1], units


def test_with_no_effect_the_interval_holds_zero_at_its_nominal_rate():
    revenue, units = coverage(lift=0.0)
    assert NOMINAL[0] <= revenue <= NOMINAL[1], revenue
    assert NOMINAL[0] <= units <= NOMINAL[1], units


def test_the_coverage_check_catches_an_interval_that_is_too_narrow():
    # The same machinery with a 70 % interval reported as if it were 95 %: the check must fail it.
    revenue, units = coverage(lift=0.05, confidence=0.70, runs=100)
    assert not NOMINAL[0] <= revenue
    assert not NOMINAL[0] <= units


def test_the_interval_is_welchs_as_scipy_computes_it():
    rng = np.random.default_rng(3)
    treated = rng.lognormal(3, 1, 900) * (rng.random(900) < 0.4)
    holdout = rng.lognormal(3, 0.5, 100) * (rng.random(100) < 0.3)
    ours = welch_interval(treated, holdout)
    theirs = stats.ttest_ind(treated, holdout, equal_var=False).confidence_interval(0.95)
    assert ours.low == pytest.approx(theirs.low)
    assert ours.high == pytest.approx(theirs.high)
    # The pooled interval (equal variances) differs here: unequal sizes and spreads.
    pooled = stats.ttest_ind(treated, holdout, equal_var=True).confidence_interval(0.95)
    assert abs(pooled.low - ours.low) > 0.5


def test_small_and_constant_groups_give_no_interval_or_an_exact_one():
    single = welch_interval(np.array([10.0, 20.0]), np.array([5.0]))
    assert single.estimate == 10.0 and not single.known and not single.excludes_zero
    empty = welch_interval(np.array([1.0, 2.0]), np.array([]))
    assert not empty.known
    nobody_bought = welch_interval(np.zeros(50), np.zeros(5))
    assert (nobody_bought.low, nobody_bought.high) == (0.0, 0.0)


def test_channel_slices_add_up_to_the_whole_and_store_slices_partition_members():
    outcomes, _, _ = simulate(11, lift=0.05)
    report = campaign_effect(outcomes)
    assert [e.label for e in report.by_channel] == ["app", "store"]
    assert sum(e.revenue_uplift.estimate for e in report.by_channel) == pytest.approx(
        report.overall.revenue_uplift.estimate
    )
    assert all(e.treated.members == report.overall.treated.members for e in report.by_channel)
    assert [e.label for e in report.by_store] == ["S01", "S02", "S03"]
    assert sum(e.treated.members + e.holdout.members for e in report.by_store) == 3000
    # A store has a third of the members: its interval is wider than the whole campaign's.
    whole = report.overall.revenue_uplift
    store = report.by_store[0].revenue_uplift
    assert store.high - store.low > whole.high - whole.low  # type: ignore[operator]


def test_mismatched_arrays_are_refused():
    with pytest.raises(ValueError, match="one entry per member"):
        MemberOutcomes.of(treated=[True, False], revenue=[1.0], units=[1, 0])
    with pytest.raises(ValueError, match="same channels"):
        MemberOutcomes.of(
            treated=[True, False], revenue=[1, 0], units=[1, 0], channel_revenue={"app": [1, 0]}
        )


def test_the_effect_module_imports_without_django():
    code = (
        "import sys, loyalty.effect; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin"})
