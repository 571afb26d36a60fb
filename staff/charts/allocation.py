"""Server-side SVG chart of an allocation run (matplotlib's Agg backend, no JavaScript): the
fill rate each store's need gets from the plan. Text stays text in the SVG (``svg.fonttype``
``none``), so the chart is small, searchable and readable by a screen reader through its
``aria-label``, as the forecast charts are."""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape


def fill_rate_chart_svg(*, title: str, stores: Sequence[str], fill_rates: Sequence[float]) -> str:
    """An SVG document: one horizontal bar per store, its fill rate in percent (0–100)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    percents = [max(0.0, min(1.0, rate)) * 100 for rate in fill_rates]
    height = max(1.6, 0.8 + 0.32 * len(stores))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(9, height), dpi=100)
        axes = figure.add_subplot()
        rows = list(range(len(stores)))
        colors = [
            "#027a48" if p >= 99.95 else "#f5a524" if p >= 80 else "#b42318" for p in percents
        ]
        axes.barh(rows, percents, height=0.6, color=colors)
        for row, percent in zip(rows, percents, strict=True):
            axes.text(min(percent, 100) + 1, row, f"{percent:.1f}%", va="center", fontsize=8)
        axes.set_yticks(rows, list(stores))
        axes.invert_yaxis()  # the first store on top, as in the table
        axes.set_xlim(0, 110)
        axes.set_xticks([0, 20, 40, 60, 80, 100])
        axes.set_xlabel("fill rate of the need (%)")
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="x", color="#e4e7ec", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_title(title, loc="left", fontsize=10)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Title": title})
    svg = buffer.getvalue()
    # Drop the XML prolog and DOCTYPE so the chart can be inlined in an HTML page.
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    label = escape(title, {'"': "&quot;"})
    return svg.replace(
        "<svg ", f'<svg role="img" aria-label="{label}" style="max-width:100%;height:auto" ', 1
    )
