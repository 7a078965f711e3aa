"""Charts as inline SVG built on the server: no script, no CDN, no inline style (CSP-clean).

Each chart is an ``<svg role="img">`` with its ``<title>`` and ``aria-describedby`` pointing at
the table of its numbers (the table is the accessible version; the SVG scales to the width of its
box through its ``viewBox``). Every text that comes from data (names, labels) is escaped here.
"""

import math

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from . import Chart

WIDTH = 600
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 40, 48
FONT = 16  # in viewBox units: about 13 px when the chart is drawn 480 px wide
# Contrast ≥ 3:1 against white for graphics (WCAG 1.4.11), distinguishable for common colour blindness.
PALETTE = ["#1f5fa8", "#c05600", "#2e7d32", "#b3261e", "#6a4c93"]
GRID = "#d0d7de"
TEXT = "#24292f"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _axis_step(peak: float) -> float:
    """A round step, at least 1, for 4 grid lines reaching ``peak`` (1, 2, 5 × 10^n; 2.5 from 25)."""
    wanted = max(peak / 4, 1)
    power = 10 ** math.floor(math.log10(wanted))
    steps = (1, 2, 2.5, 5, 10) if power >= 10 else (1, 2, 5, 10)
    return next(step * power for step in steps if step * power >= wanted)


def chart_svg(chart: Chart, *, dom_id: str) -> SafeString:
    """The chart as SVG markup; ``dom_id`` prefixes its ids (``<dom_id>-title``, ``<dom_id>-table``)."""
    n = max(len(chart.categories), 1)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    if chart.kind == "stacked":
        peak = max((sum(values) for _label, values in chart.rows()), default=0)
    else:
        peak = max((v for s in chart.series for v in s.values), default=0)
    top = 100 if chart.unit == "%" else 4 * _axis_step(peak)
    unit = escape(chart.unit)

    def y(value: float) -> float:
        return TOP + plot_h - (value / top) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="dashboard-chart" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{dom_id}-title" aria-describedby="{dom_id}-table">',
        f'<title id="{dom_id}-title">{escape(chart.title)}</title>',
    ]
    # Grid and y axis labels.
    for i in range(5):
        value = top * i / 4
        gy = y(value)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{gy + 5:.1f}" text-anchor="end" font-size="{FONT - 2}" fill="{TEXT}">'
            f"{_number(round(value, 1))}{unit}</text>"
        )
    # Legend.
    lx = LEFT
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        label = escape(series.label)
        parts.append(f'<rect x="{lx}" y="10" width="14" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 18}" y="23" font-size="{FONT}" fill="{TEXT}">{label}</text>')
        lx += 18 + FONT * len(series.label) + 20
    band = plot_w / n
    label_every = max(1, math.ceil(n / 8))
    for i, category in enumerate(chart.categories):
        if i % label_every == 0:
            cx = LEFT + band * (i + 0.5)
            parts.append(
                f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 22}" text-anchor="middle" font-size="{FONT - 2}" '
                f'fill="{TEXT}">{escape(category)}</text>'
            )
    rows = chart.rows()
    if chart.kind == "line":
        for index, series in enumerate(chart.series):
            colour = PALETTE[index % len(PALETTE)]
            points = [(LEFT + band * (i + 0.5), y(v)) for i, v in enumerate(series.values)]
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
            for (px, py), category, value in zip(points, chart.categories, series.values, strict=True):
                parts.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"><title>'
                    f"{escape(category)} · {escape(series.label)}: {_number(value)}{unit}</title></circle>"
                )
    else:
        inner = band * 0.76
        for i, (category, values) in enumerate(rows):
            x0 = LEFT + band * i + (band - inner) / 2
            base = 0.0
            for index, value in enumerate(values):
                colour = PALETTE[index % len(PALETTE)]
                tip = f"{escape(category)} · {escape(chart.series[index].label)}: {_number(value)}{unit}"
                if chart.kind == "stacked":
                    y_top, y_bottom, x, w = y(base + value), y(base), x0, inner
                    base += value
                else:
                    w = inner / len(values)
                    y_top, y_bottom, x = y(value), y(0), x0 + w * index
                height = max(y_bottom - y_top, 0)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{max(w - 1, 1):.1f}" height="{height:.1f}" '
                    f'fill="{colour}"><title>{tip}</title></rect>'
                )
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="{TEXT}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data text above is escaped
