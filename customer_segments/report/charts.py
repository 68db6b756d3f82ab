"""Small inline SVG charts for the segment report, written by hand.

Why not a charting library: the report must open from a file with no network,
so it cannot load Vega or Plotly from a CDN; Altair (pinned through Great
Expectations) needs either that JavaScript or `vl-convert`'s bundled JS
runtime to draw; matplotlib is a heavy stack for a handful of bars and lines
and writes large SVGs; leather (pinned through dbt's agate) draws plain lines
and bars but no intervals, diverging or stacked bars. The charts here are a
few primitives (lines, bars, histograms, intervals) on a shared axis helper,
about 300 lines, and every text they carry goes through `esc`, so data can
never become markup.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Sequence

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GOOD, WARN, BAD, MUTED = "#009E73", "#E69F00", "#D55E00", "#8a8f98"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: object, limit: int | None = 160) -> str:
    """Text from data, safe in HTML text, attributes and inline SVG: control characters
    (an escaped NUL is in the demo data) become U+FFFD, very long values are cut."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub("\ufffd", text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return html.escape(text, quote=True)


def fmt_number(value: float | int | None, digits: int = 3) -> str:
    """Thousands separators for counts, about `digits` significant digits otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{int(round(value)):,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(magnitude)))) if magnitude else 0
    return f"{value:,.{min(decimals, 6)}f}"


def nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5, 5 x 10^n steps; whole steps for counts)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    multipliers = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in multipliers if m * power >= raw)
    if integer:
        step = max(1, step)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


@dataclass
class Frame:
    """Plot area inside an SVG of width x height, with margins for axes and labels."""

    width: int = 1060
    height: int = 260
    left: int = 56
    right: int = 16
    top: int = 14
    bottom: int = 44

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def open(self, label: str) -> str:
        return (
            f'<svg class="chart" viewBox="0 0 {self.width} {self.height}" style="max-width:{self.width}px" '
            f'role="img" aria-label="{esc(label)}"><title>{esc(label)}</title>'
        )


def _y_axis(frame: Frame, ticks: Sequence[float], y_of, label: str = "") -> list[str]:
    parts = []
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(fmt_number(tick))}</text>'
        )
    if label:
        parts.append(
            f'<text class="axis-label" transform="translate(12 {frame.top + frame.plot_height / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
    return parts


def _x_labels(frame: Frame, labels: Sequence[str], x_of, max_labels: int = 10) -> list[str]:
    """Category labels under the plot, thinned to at most `max_labels` (first and last kept)."""
    n = len(labels)
    if n == 0:
        return []
    stride = max(1, math.ceil(n / max_labels))
    keep = set(range(0, n, stride)) | {n - 1}
    baseline = frame.height - frame.bottom + 16
    return [
        f'<text class="tick" x="{x_of(i):.1f}" y="{baseline}" text-anchor="middle">{esc(labels[i], 24)}</text>'
        for i in sorted(keep)
    ]


def legend(items: Sequence[tuple[str, str]]) -> str:
    """An HTML legend: (label, colour) pairs."""
    entries = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{esc(label)}</li>' for label, colour in items
    )
    return f'<ul class="legend">{entries}</ul>'


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    label: str,
    y_label: str = "",
    frame: Frame | None = None,
) -> str:
    """One line (with dots) per (name, colour, values); a None value breaks the line."""
    frame = frame or Frame()
    values = [v for _name, _colour, points in series for v in points if v is not None]
    high = max(values, default=1) or 1
    ticks = nice_ticks(0, high, integer=True)
    top = ticks[-1]
    n = len(x_labels)
    step = frame.plot_width / max(n - 1, 1)

    def x_of(i: int) -> float:
        return frame.left + (i * step if n > 1 else frame.plot_width / 2)

    def y_of(v: float) -> float:
        return frame.top + frame.plot_height * (1 - v / top)

    parts = [frame.open(label), *_y_axis(frame, ticks, y_of, y_label), *_x_labels(frame, x_labels, x_of)]
    for name, colour, points in series:
        runs, current = [], []
        for i, v in enumerate(points):
            if v is None:
                runs.append(current)
                current = []
            else:
                current.append(f"{x_of(i):.1f},{y_of(v):.1f}")
        runs.append(current)
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
        for i, v in enumerate(points):
            if v is not None:
                parts.append(
                    f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3" fill="{colour}">'
                    f"<title>{esc(name)}, {esc(x_labels[i])}: {esc(fmt_number(v))}</title></circle>"
                )
    parts.append("</svg>")
    return "".join(parts)


def diverging_bars(
    x_labels: Sequence[str], up: Sequence[int], down: Sequence[int], label: str, frame: Frame | None = None
) -> str:
    """Entries above the axis, exits below it, one pair per category."""
    frame = frame or Frame(width=500, height=220, left=48)
    high = max([*up, *down, 1])
    ticks = nice_ticks(0, high, 3, integer=True)
    top = ticks[-1]
    half = frame.plot_height / 2
    middle = frame.top + half
    n = max(len(x_labels), 1)
    slot = frame.plot_width / n
    bar = max(2.0, min(28.0, slot * 0.7))

    def x_of(i: int) -> float:
        return frame.left + slot * (i + 0.5)

    parts = [frame.open(label)]
    for tick in ticks:
        for sign in (1, -1) if tick else (1,):
            y = middle - sign * half * tick / top
            parts.append(
                f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{'+' if sign > 0 and tick else '-' if tick else ''}{esc(fmt_number(tick))}</text>"
            )
    for i, (entered, exited) in enumerate(zip(up, down)):
        x = x_of(i) - bar / 2
        h_up, h_down = half * entered / top, half * exited / top
        parts.append(
            f'<rect x="{x:.1f}" y="{middle - h_up:.1f}" width="{bar:.1f}" height="{h_up:.1f}" fill="{GOOD}">'
            f"<title>{esc(x_labels[i])}: {entered:,} entered</title></rect>"
            f'<rect x="{x:.1f}" y="{middle:.1f}" width="{bar:.1f}" height="{h_down:.1f}" fill="{BAD}">'
            f"<title>{esc(x_labels[i])}: {exited:,} exited</title></rect>"
        )
    parts.append(f'<line class="axis" x1="{frame.left}" x2="{frame.width - frame.right}" y1="{middle}" y2="{middle}"/>')
    parts.extend(_x_labels(frame, x_labels, x_of, max_labels=8))
    parts.append("</svg>")
    return "".join(parts)


def stacked_columns(
    x_labels: Sequence[str],
    stacks: Sequence[tuple[str, str, Sequence[int]]],
    label: str,
    y_label: str = "",
    frame: Frame | None = None,
) -> str:
    """Columns made of (name, colour, values) layers, bottom layer first."""
    frame = frame or Frame()
    totals = [sum(layer[2][i] for layer in stacks) for i in range(len(x_labels))]
    ticks = nice_ticks(0, max(totals, default=1) or 1, integer=True)
    top = ticks[-1]
    n = max(len(x_labels), 1)
    slot = frame.plot_width / n
    bar = max(2.0, min(36.0, slot * 0.7))

    def x_of(i: int) -> float:
        return frame.left + slot * (i + 0.5)

    def y_of(v: float) -> float:
        return frame.top + frame.plot_height * (1 - v / top)

    parts = [frame.open(label), *_y_axis(frame, ticks, y_of, y_label)]
    for i in range(len(x_labels)):
        base = 0
        for name, colour, values in stacks:
            value = values[i]
            if value:
                parts.append(
                    f'<rect x="{x_of(i) - bar / 2:.1f}" y="{y_of(base + value):.1f}" width="{bar:.1f}" '
                    f'height="{y_of(base) - y_of(base + value):.1f}" fill="{colour}">'
                    f"<title>{esc(x_labels[i])}: {value:,} {esc(name)}</title></rect>"
                )
            base += value
    parts.extend(_x_labels(frame, x_labels, x_of))
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float], counts: Sequence[int], label: str, x_label: str = "", colour: str = PALETTE[0],
    frame: Frame | None = None,
) -> str:
    """Counts per bin [edges[i], edges[i+1]); bins touch, as a histogram's should."""
    frame = frame or Frame(width=500, height=220, left=44, bottom=42)
    ticks = nice_ticks(0, max(counts, default=1) or 1, 4, integer=True)
    top = ticks[-1]
    n = max(len(counts), 1)
    width = frame.plot_width / n

    def y_of(v: float) -> float:
        return frame.top + frame.plot_height * (1 - v / top)

    parts = [frame.open(label), *_y_axis(frame, ticks, y_of)]
    for i, count in enumerate(counts):
        if count:
            parts.append(
                f'<rect x="{frame.left + i * width + 0.5:.1f}" y="{y_of(count):.1f}" width="{max(width - 1, 1):.1f}" '
                f'height="{y_of(0) - y_of(count):.1f}" fill="{colour}">'
                f"<title>{esc(fmt_number(edges[i]))} to {esc(fmt_number(edges[i + 1]))}: {count:,}</title></rect>"
            )
    baseline = frame.height - frame.bottom + 16
    for i in sorted({0, n // 2, n}):
        if i < len(edges):
            parts.append(
                f'<text class="tick" x="{frame.left + i * width:.1f}" y="{baseline}" text-anchor="middle">'
                f"{esc(fmt_number(edges[i]))}</text>"
            )
    if x_label:
        parts.append(
            f'<text class="axis-label" x="{frame.left + frame.plot_width / 2:.1f}" y="{frame.height - 6}" '
            f'text-anchor="middle">{esc(x_label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(
    rows: Sequence[tuple[str, int]], label: str, colour: str = PALETTE[0], width: int = 1060, label_width: int = 220
) -> str:
    """One labelled bar per (label, value), the value written at the bar's end."""
    row_height = 26
    frame = Frame(width=width, height=max(len(rows), 1) * row_height + 12, left=label_width, right=70, top=6, bottom=6)
    top = max((value for _label, value in rows), default=1) or 1
    parts = [frame.open(label)]
    for i, (name, value) in enumerate(rows):
        y = frame.top + i * row_height
        length = frame.plot_width * value / top
        parts.append(
            f'<text class="tick" x="{frame.left - 8}" y="{y + 17}" text-anchor="end">{esc(name, 44)}</text>'
            f'<rect x="{frame.left}" y="{y + 4}" width="{max(length, 1 if value else 0):.1f}" height="{row_height - 8}" '
            f'fill="{colour}"><title>{esc(name)}: {value:,}</title></rect>'
            f'<text class="value" x="{frame.left + length + 6:.1f}" y="{y + 17}">{value:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def interval_rows(
    rows: Sequence[tuple[str, float | None, float | None, float | None, str]],
    label: str,
    width: int = 1060,
) -> str:
    """A forest plot: per (name, point, low, high, note) a dot and its interval on one shared axis,
    with a zero line; a row without a point shows its note instead (e.g. 'not enough data yet')."""
    row_height = 34
    frame = Frame(width=width, height=len(rows) * row_height + 40, left=300, right=200, top=8, bottom=32)
    measured = [v for _n, p, lo, hi, _note in rows if p is not None for v in (p, lo, hi) if v is not None]
    low = min([*measured, -0.1, 0.0])
    high = max([*measured, 0.1, 0.0])
    ticks = nice_ticks(low, high, 6)
    lo_axis, hi_axis = ticks[0], ticks[-1]

    def x_of(v: float) -> float:
        return frame.left + frame.plot_width * (v - lo_axis) / (hi_axis - lo_axis)

    bottom = frame.height - frame.bottom
    parts = [frame.open(label)]
    for tick in ticks:
        x = x_of(tick)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{bottom}"/>'
            f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{tick * 100:+.0f}</text>'
        )
    parts.append(f'<line class="zero" x1="{x_of(0):.1f}" x2="{x_of(0):.1f}" y1="{frame.top}" y2="{bottom}"/>')
    parts.append(
        f'<text class="axis-label" x="{frame.left + frame.plot_width / 2:.1f}" y="{frame.height - 2}" '
        f'text-anchor="middle">lift, percentage points (treated minus holdout conversion rate)</text>'
    )
    for i, (name, point, ci_low, ci_high, note) in enumerate(rows):
        y = frame.top + i * row_height + row_height / 2
        parts.append(f'<text class="row-label" x="{frame.left - 10}" y="{y + 4:.1f}" text-anchor="end">{esc(name, 42)}</text>')
        if point is None:
            parts.append(
                f'<rect class="note-bg" x="{frame.left + 2}" y="{y - 11:.1f}" width="{frame.plot_width + frame.right - 4:.1f}" '
                f'height="22" rx="3"/><text class="note" x="{frame.left + 10}" y="{y + 4:.1f}">{esc(note)}</text>'
            )
            continue
        colour = GOOD if ci_low is not None and ci_low > 0 else BAD if ci_high is not None and ci_high < 0 else MUTED
        if ci_low is not None and ci_high is not None:
            parts.append(
                f'<line x1="{x_of(ci_low):.1f}" x2="{x_of(ci_high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{colour}" stroke-width="3"/>'
                f'<line x1="{x_of(ci_low):.1f}" x2="{x_of(ci_low):.1f}" y1="{y - 6:.1f}" y2="{y + 6:.1f}" stroke="{colour}" stroke-width="2"/>'
                f'<line x1="{x_of(ci_high):.1f}" x2="{x_of(ci_high):.1f}" y1="{y - 6:.1f}" y2="{y + 6:.1f}" stroke="{colour}" stroke-width="2"/>'
            )
        parts.append(
            f'<circle cx="{x_of(point):.1f}" cy="{y:.1f}" r="6" fill="{colour}"><title>{esc(name)}: {esc(note)}</title></circle>'
            f'<text class="value" x="{frame.width - frame.right + 10}" y="{y + 4:.1f}">{esc(note, 40)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float | None], label: str, width: int = 120, height: int = 28) -> str:
    """A tiny line of a check's observed values over builds (the last value dotted)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return ""
    low = min(v for _i, v in points)
    high = max(v for _i, v in points)
    span = (high - low) or 1
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = 3 + (width - 6) * (i / n if len(values) > 1 else 0.5)
        return x, height - 4 - (height - 8) * ((v - low) / span if high > low else 0.5)

    coords = [xy(i, v) for i, v in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    last_x, last_y = coords[-1]
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(label)}"><title>{esc(label)}</title>'
        f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{line}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{PALETTE[0]}"/></svg>'
    )
