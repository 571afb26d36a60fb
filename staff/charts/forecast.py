"""Server-side SVG charts of a forecast (matplotlib's Agg backend, no JavaScript): the recent
history, the forecast and its quantile band; under them, where the series has window totals,
the forecast summed from its first day with each window total's quantiles. Text stays text in
the SVG (``svg.fonttype`` ``none``), so a chart is small, searchable and readable by a screen
reader through its ``<title>``."""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

HISTORY_DAYS = 91  # thirteen weeks before the forecast
# The chart's own words; the page passes them in the staff's language.
WORDS = {
    "sold": "sold per day",
    "capped": "capped",
    "forecast": "forecast",
    "units": "units per day",
    "cumulative": "forecast, summed from the first day",
    "window_band": "window total %(range)s",
    "days_ahead": "days from the first forecast day",
    "window_units": "units in the window",
}
# The window panel's SVG groups: ``window-panel`` (the panel), ``window-<days>`` (an interval).
WINDOW_PANEL_ID = "window-panel"


def forecast_chart_svg(
    *,
    title: str,
    history_start: date,
    history: np.ndarray,
    forecast_start: date,
    forecast: Sequence[float],
    band: tuple[str, Sequence[float], str, Sequence[float]] | None = None,
    capped: Sequence[date] = (),
    windows: Mapping[int, Mapping[str, float]] | None = None,
    words: Mapping[str, str] = WORDS,
) -> str:
    """An SVG document: daily history as bars, the forecast as a line, and ``band`` (lower
    name and values, upper name and values) shaded between them.

    ``windows`` (days -> ``{"total": …, "q50": …, …}``, a series' window totals) adds a panel
    underneath: the forecast summed from its first day as a line, and at each window's length
    its total's lowest to highest quantile as a vertical interval, with a tick at q90 — how
    much a window may sell, not the sum of daily quantiles."""
    words = {**WORDS, **words}
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    hist_days = np.datetime64(history_start, "D") + np.arange(len(history))
    fc_days = np.datetime64(forecast_start, "D") + np.arange(len(forecast))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9}):
        shown = {days: w for days, w in (windows or {}).items() if 0 < days <= len(forecast)}
        figure = Figure(figsize=(9, 6.0 if shown else 3.4), dpi=100)
        if shown:
            axes, window_axes = figure.subplots(2, 1, height_ratios=[3.4, 2.6])
        else:
            axes, window_axes = figure.add_subplot(), None
        axes.bar(hist_days, history, width=0.8, color="#9fb3c8", label=words["sold"])
        marked = [d for d in capped if 0 <= (d - history_start).days < len(history)]
        if marked:
            tops = [float(history[(d - history_start).days]) for d in marked]
            axes.scatter(
                np.array(marked, dtype="datetime64[D]"),
                tops,
                marker="v",
                color="#b42318",
                zorder=3,
                label=words["capped"],
            )
        if band is not None:
            low_name, low, high_name, high = band
            axes.fill_between(
                fc_days,
                low,
                high,
                step="mid",
                color="#f5a524",
                alpha=0.3,
                linewidth=0,
                label=f"{low_name}–{high_name}",
            )
        axes.plot(fc_days, forecast, color="#c2410c", linewidth=2, label=words["forecast"])
        boundary = mdates.date2num(np.datetime64(forecast_start, "h") - np.timedelta64(12, "h"))
        axes.axvline(float(boundary), color="#667085", linewidth=0.8)
        axes.set_ylim(bottom=0)
        axes.set_ylabel(words["units"])
        axes.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=2))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", color="#e4e7ec", linewidth=0.6)
        axes.legend(loc="upper left", frameon=False, ncols=4)
        axes.set_title(title, loc="left", fontsize=10)
        if window_axes is not None:
            _window_panel(window_axes, forecast, shown, words)
        buffer = io.StringIO()
        with warnings.catch_warnings():
            # Text stays text: the browser draws CJK words the bundled font has no glyphs for.
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            figure.tight_layout()
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Title": title})
    svg = buffer.getvalue()
    # Drop the XML prolog and DOCTYPE so the chart can be inlined in an HTML page.
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    label = escape(title, {'"': "&quot;"})
    return svg.replace(
        "<svg ", f'<svg role="img" aria-label="{label}" style="max-width:100%;height:auto" ', 1
    )


def _window_panel(
    axes: Any,
    forecast: Sequence[float],
    windows: Mapping[int, Mapping[str, float]],
    words: Mapping[str, str],
) -> None:
    """The forecast summed from its first day, and each window total's quantiles at the
    window's length: the lowest to the highest as an interval, q90 as a tick, each labelled."""
    axes.set_gid(WINDOW_PANEL_ID)
    horizon = len(forecast)
    days = np.arange(horizon + 1)
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(forecast, dtype=float))])
    axes.plot(days, cumulative, color="#c2410c", linewidth=2, label=words["cumulative"])
    names = _quantile_names(next(iter(windows.values())))
    low, high = (names[0], names[-1]) if names else (None, None)
    top = float(cumulative[-1])
    band_label: str | None = words["window_band"] % {"range": f"{low}–{high}"}
    tick_label: str | None = "q90"
    for length, totals in sorted(windows.items()):
        total = float(totals.get("total", cumulative[length]))
        if low is not None and high is not None:
            lower, upper = float(totals[low]), float(totals[high])
            interval = axes.vlines(
                length, lower, upper, color="#f5a524", linewidth=7, alpha=0.55, label=band_label
            )
            interval.set_gid(f"window-{length}")
            band_label = None
            top = max(top, upper)
            labels = [(upper, f"{high} {_units(upper)}")]
            if low != high:
                labels.append((lower, f"{low} {_units(lower)}"))
            if "q90" in totals and "q90" not in (low, high):
                q90 = float(totals["q90"])
                axes.hlines(
                    q90,
                    length - 0.35,
                    length + 0.35,
                    color="#7c2d12",
                    linewidth=1.6,
                    label=tick_label,
                )
                tick_label = None
                labels.insert(1, (q90, f"q90 {_units(q90)}"))
            # Left of the interval and above the total: the summed forecast rises to the right,
            # so the space above it on the left is free.
            gap = 0.075 * max(top, 1.0)
            for y, text in _spaced(labels, gap=gap, floor=total + 0.6 * gap):
                axes.text(
                    length - 0.6, y, text, ha="right", va="center", fontsize=7.5, color="#344054"
                )
        axes.plot([length], [total], marker="o", color="#c2410c", markersize=4)
    axes.set_xlim(0, horizon + max(0.5, 0.03 * horizon))
    axes.set_ylim(0, top * 1.3 if top > 0 else 1)  # room for the legend above the data
    axes.set_xticks(sorted({0, *windows}))
    axes.set_xlabel(words["days_ahead"])
    axes.set_ylabel(words["window_units"])
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#e4e7ec", linewidth=0.6)
    axes.legend(loc="upper left", frameon=False, ncols=3)


def _quantile_names(totals: Mapping[str, float]) -> list[str]:
    """The quantile names of a window (``q50``, ``q97.5`` …), lowest level first."""
    return sorted((k for k in totals if k != "total"), key=lambda name: float(name[1:]))


def _units(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _spaced(
    labels: list[tuple[float, str]], *, gap: float, floor: float
) -> list[tuple[float, str]]:
    """Labels (top first) moved apart so that none overlaps the one above it, then all raised
    together until the lowest is at ``floor`` or above."""
    out: list[tuple[float, str]] = []
    for y, text in labels:
        if out and out[-1][0] - y < gap:
            y = out[-1][0] - gap
        out.append((y, text))
    lift = max(0.0, floor - out[-1][0]) if out else 0.0
    return [(y + lift, text) for y, text in out]
