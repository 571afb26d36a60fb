"""Server-side SVG charts of a forecast (matplotlib's Agg backend, no JavaScript): the recent
history, the forecast and its quantile band. Text stays text in the SVG (``svg.fonttype``
``none``), so a chart is small, searchable and readable by a screen reader through its
``<title>``."""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from datetime import date
from xml.sax.saxutils import escape

import numpy as np

HISTORY_DAYS = 91  # thirteen weeks before the forecast
# The chart's own words; the page passes them in the staff's language.
WORDS = {
    "sold": "sold per day",
    "capped": "capped",
    "forecast": "forecast",
    "units": "units per day",
}


def forecast_chart_svg(
    *,
    title: str,
    history_start: date,
    history: np.ndarray,
    forecast_start: date,
    forecast: Sequence[float],
    band: tuple[str, Sequence[float], str, Sequence[float]] | None = None,
    capped: Sequence[date] = (),
    words: Mapping[str, str] = WORDS,
) -> str:
    """An SVG document: daily history as bars, the forecast as a line, and ``band`` (lower
    name and values, upper name and values) shaded between them."""
    words = {**WORDS, **words}
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    hist_days = np.datetime64(history_start, "D") + np.arange(len(history))
    fc_days = np.datetime64(forecast_start, "D") + np.arange(len(forecast))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(9, 3.4), dpi=100)
        axes = figure.add_subplot()
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
