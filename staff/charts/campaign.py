"""Server-side SVG chart of a campaign's effect (matplotlib's Agg backend, no JavaScript): the
uplift in revenue per member, treated − holdout, of the whole campaign and of each store and
channel, as a point with its confidence interval as an error bar, against the zero line. Text
stays text in the SVG, as in the other charts."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class UpliftRow:
    label: str
    estimate: float
    low: float | None  # None: too few members for an interval
    high: float | None


def uplift_chart_svg(*, title: str, x_label: str, rows: Sequence[UpliftRow]) -> str:
    """An SVG document: one row per slice, its uplift and interval; green when the interval lies
    above zero, red below, grey when it holds zero (no effect the data can tell from none)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height = max(2.0, 1.0 + 0.4 * len(rows))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 11}):
        figure = Figure(figsize=(6.4, height), dpi=100)  # legible at a handheld's width too
        axes = figure.add_subplot()
        for y, row in enumerate(rows):
            known = row.low is not None and row.high is not None
            above = known and row.low > 0  # type: ignore[operator]
            below = known and row.high < 0  # type: ignore[operator]
            color = "#027a48" if above else "#b42318" if below else "#667085"
            if known:
                axes.errorbar(
                    [row.estimate],
                    [y],
                    xerr=[[row.estimate - row.low], [row.high - row.estimate]],  # type: ignore[operator]
                    fmt="o",
                    color=color,
                    ecolor=color,
                    elinewidth=2,
                    capsize=4,
                    markersize=5,
                )
            else:
                axes.plot([row.estimate], [y], marker="o", color=color, fillstyle="none")
        axes.axvline(0, color="#101828", linewidth=0.8)
        axes.set_yticks(list(range(len(rows))), [row.label for row in rows])
        axes.invert_yaxis()  # the whole campaign on top, as in the table
        axes.set_ylim(len(rows) - 0.5, -0.5)
        axes.set_xlabel(x_label)
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="x", color="#e4e7ec", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_title(title, loc="left", fontsize=11)
        figure.tight_layout()
        buffer = io.StringIO()
        with warnings.catch_warnings():
            # Text stays text: the browser draws CJK words the bundled font has no glyphs for.
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Title": title})
    svg = buffer.getvalue()
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    label = escape(title, {'"': "&quot;"})
    return svg.replace(
        "<svg ", f'<svg role="img" aria-label="{label}" style="max-width:100%;height:auto" ', 1
    )
