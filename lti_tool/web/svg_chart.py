"""Bar charts drawn on the server as SVG: no script and nothing fetched, so a page with a chart works in any
LMS frame and under the tool's Content-Security-Policy. A pure function of its numbers.

The chart names itself for screen readers (``role="img"`` with a ``<title>`` and ``<desc>``) and each bar
carries its own ``<title>``; pages put the same numbers in a table beside it, which is what assistive
technology should read (the SVG is a picture of that table).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

# Room for the axes' labels around the plot, in SVG user units.
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 12, 48
_MAX_X_LABELS = 12


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1:
        step = 1.0  # counts: no fractional ticks
    n = math.ceil(top / step)
    return [i * step for i in range(n + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    chart_id: str,
    y_label: str = "",
    width: int = 640,
    height: int = 260,
) -> Markup:
    """An SVG bar chart, one bar per label, with a y axis (ticks and ``y_label``) and x labels (thinned out to
    at most twelve when there are many). ``chart_id`` must be unique on the page: it names the title and
    description the SVG is labelled by."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    cid = escape(chart_id)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    ticks = nice_ticks(max(values, default=0))
    top = ticks[-1]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'data-chart="{cid}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]
    for tick in ticks:
        y = _TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d0d4da" stroke-width="1"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_number(tick)}</text>"
        )
    if y_label:
        mid = _TOP + plot_h / 2
        parts.append(
            f'<text class="axis-label" x="12" y="{mid:.1f}" transform="rotate(-90 12 {mid:.1f})" '
            f'text-anchor="middle" font-size="11">{escape(y_label)}</text>'
        )
    n = len(values)
    slot = plot_w / n if n else plot_w
    every = max(1, math.ceil(n / _MAX_X_LABELS))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = plot_h * value / top
        x = _LEFT + i * slot + slot * 0.15
        y = _TOP + plot_h - bar_h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" '
            f'fill="#2f6f9f" data-value="{_number(value)}"><title>{escape(label)}: {_number(value)}</title>'
            "</rect>"
        )
        if i % every == 0:
            cx = _LEFT + i * slot + slot / 2
            ly = _TOP + plot_h + 16
            parts.append(
                f'<text class="x-label" x="{cx:.1f}" y="{ly}" text-anchor="middle" font-size="10">'
                f"{escape(label)}</text>"
            )
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}" '
        'stroke="#333" stroke-width="1"/>'
        f'<line class="axis" x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{_TOP + plot_h}" '
        'stroke="#333" stroke-width="1"/>'
    )
    if not n:
        parts.append(
            f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" '
            'font-size="12">No data yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
