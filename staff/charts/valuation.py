"""Server-side SVG chart of the valuation page (matplotlib's Agg backend, no JavaScript): stock
value and turnover per location side by side. Text stays text in the SVG (``svg.fonttype``
``none``), readable by a screen reader through its ``aria-label``, as the other charts are."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from xml.sax.saxutils import escape


def value_turnover_chart_svg(
    *,
    title: str,
    locations: Sequence[str],
    values: Sequence[float],
    turnovers: Sequence[float],
    value_label: str,
    turnover_label: str,
) -> str:
    """An SVG document: per location, a bar of its stock value and one of its turnover."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height = max(1.8, 0.9 + 0.3 * len(locations))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(8, height), dpi=100)
        left, right = figure.subplots(1, 2, sharey=True)
        rows = list(range(len(locations)))
        left.barh(rows, values, height=0.6, color="#2e90fa")
        right.barh(rows, turnovers, height=0.6, color="#027a48")
        for row, turnover in zip(rows, turnovers, strict=True):
            right.text(turnover, row, f" {turnover:.2f}", va="center", fontsize=8)
        left.set_yticks(rows, list(locations))
        left.invert_yaxis()
        left.set_xlabel(value_label)
        right.set_xlabel(turnover_label)
        right.set_xlim(0, max([*turnovers, 0.1]) * 1.25)
        for axes in (left, right):
            axes.spines[["top", "right"]].set_visible(False)
            axes.grid(axis="x", color="#e4e7ec", linewidth=0.6)
            axes.set_axisbelow(True)
        left.set_title(title, loc="left", fontsize=10)
        buffer = io.StringIO()
        with warnings.catch_warnings():
            # Text stays text: the browser draws CJK words the bundled font has no glyphs for.
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            figure.tight_layout()
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Title": title})
    svg = buffer.getvalue()
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    label = escape(title, {'"': "&quot;"})
    return svg.replace(
        "<svg ", f'<svg role="img" aria-label="{label}" style="max-width:100%;height:auto" ', 1
    )
