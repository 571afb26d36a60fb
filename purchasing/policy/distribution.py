"""The distribution of a series' total demand over a window (lead time, lead time + review).

A reorder policy buys against the **total** over the window, so Omni estimates that total's
distribution directly, never by summing daily quantiles (which are not quantiles of the sum).
Two estimators, both as a probability mass function over whole units ``0, 1, 2, …``:

- ``compound_bootstrap`` (the default for every SBC class) — a day sells with the recent
  probability ``p`` and, when it does, a quantity drawn from the recent non-zero sizes (a
  compound Bernoulli, Syntetos–Boylan's view of intermittent demand); the window total is the
  ``n``-fold convolution of that daily distribution — exact, no simulation, never a normal with
  mass below zero, and the lumps of lumpy items kept.
- ``window_empirical`` (for the classes left out of ``DemandModel.compound_classes``) — the
  overlapping ``n``-day totals of the recent history, which keep autocorrelation and drift.

On M5's validation windows the compound bootstrap for every class needed less stock for the
same realised fill than empirical windows for smooth series (docs/purchasing-policy.md).

Both are rescaled to the recent **level** (the mean of the last ``level_days``, shrunk toward the
history mean by ``level_weight``) when that differs from the sample's mean: totals are
multiplied by the ratio, their mass split between the two nearest whole units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from forecasting.engine.hygiene import demand_class


@dataclass(frozen=True)
class DemandModel:
    """How window distributions are estimated (``DEFAULT_MODEL`` was chosen on validation days
    inside the M5 history, see docs/purchasing-policy.md)."""

    history_days: int = 365  # the recent days the distribution is drawn from
    level_days: int = 28  # the recent level: mean of the last this many days
    level_weight: float = 0.5  # 0: the sample's own level, 1: the recent level alone
    min_window_samples: int = 56  # fewer overlapping totals than this: compound instead
    # A run of zero days this improbable for the series (its share of zero days to the power
    # of the run's length) is a stock-out, not a lack of demand: left out of the sample.
    stockout_probability: float = 0.001
    # SBC classes drawn as compound Bernoulli days rather than as window totals.
    compound_classes: tuple[str, ...] = ("smooth", "erratic", "intermittent", "lumpy")


DEFAULT_MODEL = DemandModel()


@dataclass(frozen=True)
class WindowDemand:
    """A series' demand over the lead time (``lead``) and the lead time + review period
    (``window``), as pmfs over 0, 1, 2, … units, and its expected demand per review period."""

    lead: np.ndarray
    window: np.ndarray
    review_mean: float  # E[D over R]
    daily_mean: float  # the level used
    method: str
    demand_class: str
    # Demand over L + 1, …, L + R days: what has left the shelf by the end of each day of a
    # cycle (for the stock a level holds). Empty: use ``lead`` and ``window`` alone.
    cycle: tuple[np.ndarray, ...] = ()

    @property
    def window_mean(self) -> float:
        return float(np.dot(np.arange(self.window.size), self.window))


def window_demand(
    values: np.ndarray,
    lead_days: int | Sequence[int],
    review_days: int,
    model: DemandModel = DEFAULT_MODEL,
    *,
    level: float | None = None,
) -> WindowDemand:
    """The window distributions of one daily series (``values``, oldest first, trimmed to its
    first sale; may be empty). ``lead_days`` is the lead time, or the lead times actually seen
    (each equally likely: the distributions are then mixtures over them). ``level`` (units a
    day, e.g. a forecast's mean over the window) replaces the recent level when given."""
    leads = _lead_times(lead_days)
    if review_days < 1:
        raise ValueError(f"review_days: must be at least 1, not {review_days}")
    values = drop_stockouts(np.maximum(np.asarray(values, dtype=float), 0.0), model)
    recent = values[-model.history_days :]
    klass = demand_class(recent) if recent.size else "none"
    if recent.size == 0 or not np.any(recent > 0):
        zero = np.ones(1)
        return WindowDemand(zero, zero, 0.0, 0.0, "no_demand", klass)
    sample_mean = float(recent.mean())
    if level is None:
        level = float(values[-model.level_days :].mean())
        level = model.level_weight * level + (1.0 - model.level_weight) * sample_mean
    scale = level / sample_mean if sample_mean > 0 else 1.0
    longest = max(leads) + review_days
    enough = recent.size - longest + 1 >= model.min_window_samples
    if klass not in model.compound_classes and enough:
        method = "window_empirical"

        def pmf(days: int) -> np.ndarray:
            return _empirical(recent, days, scale)
    else:
        method = "compound_bootstrap"
        daily = _daily_pmf(recent, scale)

        def pmf(days: int) -> np.ndarray:
            return _convolve_power(daily, days)

    # Per lead time: D_L, then D_{L+1} … D_{L+R} (the last is D_{L+R}).
    paths = []
    for lead in leads:
        if method == "compound_bootstrap":
            path = [pmf(lead)]
            for _ in range(review_days):
                path.append(_convolve(path[-1], daily))
        else:
            path = [pmf(lead + day) for day in range(review_days + 1)]
        paths.append(path)
    steps = [_mixture([path[day] for path in paths]) for day in range(review_days + 1)]
    return WindowDemand(
        lead=steps[0],
        window=steps[-1],
        review_mean=level * review_days,
        daily_mean=level,
        method=method,
        demand_class=klass,
        cycle=tuple(steps[1:]),
    )


def _lead_times(lead_days: int | Sequence[int]) -> list[int]:
    leads = [lead_days] if isinstance(lead_days, int | np.integer) else list(lead_days)
    if not leads:
        raise ValueError("lead_days: no lead time given")
    for lead in leads:
        if int(lead) != lead or lead < 0:
            raise ValueError(f"lead_days: a lead time must be a whole number >= 0, not {lead}")
    return [int(lead) for lead in leads]


def _mixture(pmfs: list[np.ndarray]) -> np.ndarray:
    if len(pmfs) == 1:
        return pmfs[0]
    out = np.zeros(max(p.size for p in pmfs))
    for p in pmfs:
        out[: p.size] += p / len(pmfs)
    return out


def stockout_days(values: np.ndarray, model: DemandModel = DEFAULT_MODEL) -> np.ndarray:
    """True on the days of ``values`` inside an improbable run of zero days (censored demand:
    the shelf was empty). A run of ``k`` zeros is improbable when
    ``p0 ** k < stockout_probability``, ``p0`` the series' share of zero days."""
    out = np.zeros(values.size, dtype=bool)
    if values.size == 0 or model.stockout_probability <= 0:
        return out
    zero = values <= 0
    p0 = float(zero.mean())
    if p0 <= 0 or p0 >= 1:
        return out
    longest = int(np.ceil(np.log(model.stockout_probability) / np.log(p0)))
    edges = np.diff(np.concatenate(([0], zero.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for start, stop in zip(starts, stops, strict=True):
        if stop - start >= longest:
            out[start:stop] = True
    return out


def drop_stockouts(values: np.ndarray, model: DemandModel = DEFAULT_MODEL) -> np.ndarray:
    """``values`` without its stock-out days (``stockout_days``)."""
    return values[~stockout_days(values, model)]


def impute_stockouts(
    values: np.ndarray, model: DemandModel = DEFAULT_MODEL, *, weeks: int = 4
) -> np.ndarray:
    """``values`` with every stock-out day (``stockout_days``) replaced by the mean of the same
    weekday over the ``weeks`` weeks before it (days already filled count; 0 with nothing
    before). Dates and the weekly pattern are kept, so a forecasting model can run on the
    result and see the demand the empty shelf hid, not zeros."""
    out = np.asarray(values, dtype=float).copy()
    for day in np.flatnonzero(stockout_days(out, model)):
        before = [out[day - 7 * k] for k in range(1, weeks + 1) if day - 7 * k >= 0]
        out[day] = float(np.mean(before)) if before else 0.0
    return out


def _empirical(values: np.ndarray, days: int, scale: float) -> np.ndarray:
    """The pmf of the overlapping ``days``-day totals of ``values``, times ``scale``."""
    if days == 0:
        return np.ones(1)
    sums = np.convolve(values, np.ones(days), mode="valid") * scale
    return _histogram(sums, np.full(sums.size, 1.0 / sums.size))


def _daily_pmf(values: np.ndarray, scale: float) -> np.ndarray:
    """One day's demand: zero with the recent share of zero days, else a recent non-zero size
    (each equally likely), times ``scale``."""
    return _histogram(values * scale, np.full(values.size, 1.0 / values.size))


def _histogram(amounts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A pmf over whole units: each amount's weight split between its two nearest units so the
    mean is kept exactly."""
    low = np.floor(amounts).astype(np.int64)
    frac = amounts - low
    pmf = np.zeros(int(low.max()) + 2)
    np.add.at(pmf, low, weights * (1.0 - frac))
    np.add.at(pmf, low + 1, weights * frac)
    pmf = np.trim_zeros(pmf, "b")
    return pmf / pmf.sum()


def _convolve_power(pmf: np.ndarray, times: int) -> np.ndarray:
    """The pmf of the sum of ``times`` independent draws (binary powering, FFT when large)."""
    result = np.ones(1)
    base = pmf
    while times:
        if times & 1:
            result = _convolve(result, base)
        times >>= 1
        if times:
            base = _convolve(base, base)
    return result


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size * b.size < 250_000:
        out = np.convolve(a, b)
    else:
        n = a.size + b.size - 1
        size = 1 << (n - 1).bit_length()
        out = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]
    out = np.clip(out, 0.0, None)
    # Mass below 1e-12 at the tail is numerical noise: dropping it keeps supports small.
    keep = np.flatnonzero(out > 1e-12)
    out = out[: keep[-1] + 1] if keep.size else np.ones(1)
    return out / out.sum()


def expected_shortfall(pmf: np.ndarray, size: int) -> np.ndarray:
    """``E[(D − S)+]`` for ``S = 0 … size − 1`` (the loss function of ``D``)."""
    survival = 1.0 - np.cumsum(pmf)  # P(D > k), k = 0 … len − 1
    survival = np.clip(survival, 0.0, None)
    loss = np.cumsum(survival[::-1])[::-1]  # Σ_{k ≥ S} P(D > k)
    out = np.zeros(size)
    n = min(size, loss.size)
    out[:n] = loss[:n]
    return out
