"""The pure reorder-policy maths: window distributions, fill-rate levels, the textbook (s, S),
pack rounding and the replay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purchasing.policy.distribution import (
    DemandModel,
    drop_stockouts,
    expected_shortfall,
    impute_stockouts,
    window_demand,
)
from purchasing.policy.levels import (
    cycle_shortfall,
    fill_rate_levels,
    holding_increment,
    textbook_levels,
)
from purchasing.policy.policies import (
    PolicyConfig,
    SeriesInput,
    min_max_policy,
    service_level_policies,
)
from purchasing.policy.replay import replay


def poisson(rate: float, days: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate, days).astype(float)


def test_expected_shortfall_is_the_loss_function():
    pmf = np.array([1 / 3, 1 / 3, 1 / 3])  # D uniform on {0, 1, 2}
    loss = expected_shortfall(pmf, 4)
    assert loss == pytest.approx([1.0, 1 / 3, 0.0, 0.0])


def test_window_distribution_keeps_the_level_and_is_not_a_sum_of_daily_quantiles():
    values = poisson(3.0, 365, seed=1)
    demand = window_demand(values, 7, 7, DemandModel(level_weight=0.0))
    assert demand.method == "compound_bootstrap"
    assert demand.window_mean == pytest.approx(values.mean() * 14, rel=1e-6)
    assert float(np.dot(np.arange(demand.lead.size), demand.lead)) == pytest.approx(
        values.mean() * 7, rel=1e-6
    )
    q95_window = int(np.searchsorted(np.cumsum(demand.window), 0.95))
    q95_day = float(np.quantile(values, 0.95))
    assert q95_window < 14 * q95_day  # errors cancel over a window


def test_intermittent_series_are_drawn_as_compound_days():
    values = np.zeros(300)
    values[::9] = [1, 4, 2] * 11 + [3]
    demand = window_demand(values, 7, 7)
    assert demand.demand_class in ("intermittent", "lumpy")
    assert demand.method == "compound_bootstrap"
    assert demand.window[0] > 0.1  # a fortnight without a sale is a real possibility


def test_empirical_windows_when_asked_for_smooth_series():
    values = poisson(5.0, 300, seed=2)
    model = DemandModel(compound_classes=("intermittent", "lumpy"))
    assert window_demand(values, 7, 7, model).method == "window_empirical"


def test_a_series_without_demand_needs_no_stock():
    policies = service_level_policies(
        [SeriesInput("A", "DC", np.zeros(50))],
        PolicyConfig(lead_days=7, review_days=7, service_level=0.95, pooled=False),
    )
    assert (policies[0].order_up_to, policies[0].method) == (0, "no_demand")


def test_an_improbable_run_of_zeros_is_a_stockout_and_left_out():
    values = np.concatenate([poisson(4.0, 200, seed=3), np.zeros(40), poisson(4.0, 20, seed=4)])
    kept = drop_stockouts(values)
    assert kept.size == 220
    assert kept.mean() > values.mean()


def test_a_stockout_run_is_imputed_by_the_same_weekday_before_it():
    week = np.array([5.0, 3.0, 3.0, 4.0, 6.0, 9.0, 8.0])
    values = np.concatenate([np.tile(week, 8), np.zeros(10), np.tile(week, 2)])
    values[3] = 0.0  # one ordinary zero day: demand, not an empty shelf
    filled = impute_stockouts(values)
    assert filled[3] == 0.0
    run = slice(56, 66)
    assert filled[run] == pytest.approx(np.tile(week, 2)[:10])  # the weekly pattern continues
    assert np.array_equal(filled[66:], values[66:])
    assert np.array_equal(np.delete(filled, np.arange(56, 66)), drop_stockouts(values))


def test_observed_lead_times_mix_the_distributions():
    values = poisson(2.0, 365, seed=5)
    model = DemandModel(level_weight=0.0)
    mixed = window_demand(values, (5, 9), 7, model)
    assert mixed.window_mean == pytest.approx(values.mean() * 14, rel=1e-6)
    single = window_demand(values, 7, 7, model)
    spread = np.dot((np.arange(mixed.window.size) - mixed.window_mean) ** 2, mixed.window)
    single_spread = np.dot((np.arange(single.window.size) - single.window_mean) ** 2, single.window)
    assert spread > single_spread


@pytest.mark.parametrize("lead", [-1, (3, -2)])
def test_a_negative_lead_time_is_refused_by_name(lead):
    with pytest.raises(ValueError, match="lead_days"):
        window_demand(poisson(1.0, 60, seed=6), lead, 7)


def test_per_series_levels_reach_their_target_and_no_lower_level_does():
    demands = [window_demand(poisson(rate, 365, seed=i), 7, 7) for i, rate in enumerate((0.3, 6))]
    levels = fill_rate_levels(demands, 0.95, pooled=False)
    for demand, level in zip(demands, levels.order_up_to, strict=True):
        esc = cycle_shortfall(demand)
        assert 1 - esc[level] / esc[0] >= 0.95 - 1e-9
        assert 1 - esc[level - 1] / esc[0] < 0.95


def test_pooled_levels_reach_the_group_target_with_less_stock():
    demands = [
        window_demand(poisson(rate, 365, seed=10 + i), 7, 7)
        for i, rate in enumerate((0.1, 0.2, 0.5, 8.0, 20.0))
    ]
    alone = fill_rate_levels(demands, 0.95, pooled=False)
    pooled = fill_rate_levels(demands, 0.95, pooled=True)
    assert pooled.pooled_fill >= 0.95 - 1e-9
    assert pooled.order_up_to.sum() < alone.order_up_to.sum()
    floored = fill_rate_levels(demands, 0.95, pooled=True, floor=0.8)
    assert floored.expected_fill.min() >= 0.8 - 1e-9


@settings(max_examples=40, deadline=None)
@given(
    rates=st.lists(st.floats(0.05, 15.0), min_size=1, max_size=6),
    target=st.floats(0.5, 0.995),
    seed=st.integers(0, 1000),
)
def test_levels_always_reach_the_target(rates, target, seed):
    demands = [window_demand(poisson(r, 120, seed + i), 7, 7) for i, r in enumerate(rates)]
    pooled = fill_rate_levels(demands, target, pooled=True)
    assert pooled.pooled_fill >= target - 1e-9
    alone = fill_rate_levels(demands, target, pooled=False)
    assert np.all(alone.expected_fill >= target - 1e-9)


def test_targets_outside_zero_and_one_are_refused():
    demand = window_demand(poisson(1.0, 60, seed=7), 7, 7)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="service_level"):
            fill_rate_levels([demand], bad)
    with pytest.raises(ValueError, match="service_level"):
        PolicyConfig(lead_days=7, review_days=7, service_level=95)


def test_textbook_levels_follow_the_formula():
    values = np.array([0.0, 2.0, 4.0, 2.0] * 10)  # mean 2, σ √2
    s, big_s = textbook_levels(values, 7, 7, 0.95)
    z = 1.6448536269514722
    expected_s = 2 * 14 + z * math.sqrt(2) * math.sqrt(14)
    assert s == math.ceil(expected_s)
    assert big_s == math.ceil(expected_s + 2 * 7)


def test_min_max_passes_hand_set_values_through_and_checks_them():
    policy = min_max_policy("A", "DC", 5, 20)
    assert (policy.reorder_point, policy.order_up_to, policy.method) == (5, 20, "min_max")
    with pytest.raises(ValueError, match="maximum"):
        min_max_policy("A", "DC", 5, 4)
    with pytest.raises(ValueError, match="minimum"):
        min_max_policy("A", "DC", -1, 4)


def test_replay_by_hand():
    # s = S = 4, L = 1, R = 2, demand 2 a day. Day 0: review at position 4 (no order), sell 2.
    # Day 1: sell 2. Day 2: review at 0, order 4 (arrives day 3), 2 lost. Day 3: sell 2.
    result = replay(np.array([[2, 2, 2, 2]]), [4], [4], lead_days=1, review_days=2)
    assert result.served.tolist() == [6.0]
    assert result.fill_rate == pytest.approx(0.75)
    assert result.average_on_hand.tolist() == [1.0]
    assert result.orders.tolist() == [1]


def test_replay_with_a_reorder_point_below_order_up_to_and_no_lead_time():
    # s = 3, S = 6, L = 0, R = 1, demand 2: day 0 position 6 > 3; day 1 position 4 > 3;
    # day 2 position 2 <= 3: 4 arrive at once.
    result = replay(np.array([[2, 2, 2]]), [3], [6], lead_days=0, review_days=1)
    assert result.fill_rate == 1.0
    assert result.average_on_hand.tolist() == pytest.approx([(4 + 2 + 4) / 3])


def test_replay_refuses_order_up_to_below_reorder_point():
    with pytest.raises(ValueError, match="order-up-to"):
        replay(np.array([[1, 1]]), [5], [4], lead_days=1, review_days=1)


def test_an_extra_unit_of_stock_is_held_only_on_the_days_it_is_not_sold():
    demand = window_demand(poisson(2.0, 365, seed=8), 3, 4)
    assert len(demand.cycle) == 4
    increment = holding_increment(demand, 40)
    assert np.all(np.diff(increment) >= -1e-12)
    assert increment[0] < 0.05  # S = 1 is nearly always sold before the cycle ends
    assert increment[-1] == pytest.approx(1.0)
