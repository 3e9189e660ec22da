"""Small, dependency-free SVG charts for the HTML report.

Drawn on the server side so the report is one self-contained file that opens offline and prints
well. Every chart has a title, labelled axes and readable tick values; colours are a single,
colour-blind-safe palette.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = {
    "primary": "#1f5f8b",
    "secondary": "#8fb8d8",
    "accent": "#e07b39",
    "muted": "#b8c2cc",
    "text": "#1d2733",
    "grid": "#e3e8ee",
}
SERIES_COLOURS = ["#1f5f8b", "#4d9ac7", "#8fb8d8", "#e07b39"]
FONT = "font-family=\"Inter, 'Segoe UI', Helvetica, Arial, sans-serif\""


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` (1, 2, 2.5 or 5 times a power of ten)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw_step = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    ticks = [0.0]
    while ticks[-1] < maximum:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def compact_money(value: float, symbol: str) -> str:
    """12_500 -> '€12.5k', 1_250_000 -> '€1.25M' (axis labels)."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        text = f"{value / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    elif magnitude >= 1_000:
        text = f"{value / 1_000:.1f}".rstrip("0").rstrip(".") + "k"
    else:
        text = f"{value:.0f}"
    return f"{symbol}{text}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Bar:
    label: str
    values: tuple[float, ...]  # one value per series
    note: str = ""  # shown at the end of the bar, e.g. a count


def _frame(chart_id: str, title: str, width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _legend(series: Sequence[str], x: float, y: float) -> list[str]:
    parts, offset = [], 0.0
    for index, name in enumerate(series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        parts.append(
            f'<rect x="{x + offset:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" '
            f'fill="{colour}"/><text x="{x + offset + 14:.1f}" y="{y:.1f}" font-size="12" '
            f'fill="{PALETTE["text"]}">{escape(name)}</text>'
        )
        offset += 26 + 7 * len(name)
    return parts


def horizontal_bars(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    series: Sequence[str],
    *,
    value_format: Callable[[float], str],
    axis_label: str,
    width: int = 560,
) -> str:
    """Grouped horizontal bars: one group per label, one bar per series."""
    label_width, right_pad, top, row_gap = 150, 70, 34, 10
    bar_height = 16
    group_height = bar_height * len(series) + row_gap
    plot_width = width - label_width - right_pad
    height = top + max(1, len(bars)) * group_height + 46
    maximum = max((v for bar in bars for v in bar.values), default=0.0)
    ticks = nice_ticks(maximum)
    scale = plot_width / ticks[-1]
    body = _legend(series, label_width, 16)
    axis_y = top + len(bars) * group_height
    for tick in ticks:
        x = label_width + tick * scale
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" '
            f'stroke="{PALETTE["grid"]}"/>'
            f'<text x="{x:.1f}" y="{axis_y + 16}" font-size="11" text-anchor="middle" '
            f'fill="{PALETTE["text"]}">{escape(value_format(tick))}</text>'
        )
    for row, bar in enumerate(bars):
        y0 = top + row * group_height
        body.append(
            f'<text x="{label_width - 8}" y="{y0 + group_height / 2 - 1:.1f}" font-size="12" '
            f'text-anchor="end" dominant-baseline="middle" fill="{PALETTE["text"]}">'
            f"{escape(bar.label)}</text>"
        )
        for index, value in enumerate(bar.values):
            y = y0 + index * bar_height
            colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
            bar_width = max(value * scale, 0.0)
            body.append(
                f'<rect class="bar" x="{label_width}" y="{y:.1f}" width="{bar_width:.1f}" '
                f'height="{bar_height - 3}" rx="2" fill="{colour}">'
                f"<title>{escape(bar.label)} · {escape(series[index])}: "
                f"{escape(value_format(value))}</title></rect>"
                f'<text x="{label_width + bar_width + 4:.1f}" y="{y + bar_height / 2:.1f}" '
                f'font-size="11" dominant-baseline="middle" fill="{PALETTE["text"]}">'
                f"{escape(value_format(value))}</text>"
            )
        if bar.note:
            body.append(
                f'<text x="{label_width - 8}" y="{y0 + group_height / 2 + 12:.1f}" font-size="10" '
                f'text-anchor="end" fill="#6b7785">{escape(bar.note)}</text>'
            )
    body.append(
        f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{axis_y}" '
        f'stroke="{PALETTE["text"]}"/>'
        f'<text x="{label_width + plot_width / 2:.1f}" y="{height - 6}" font-size="12" '
        f'text-anchor="middle" fill="{PALETTE["text"]}">{escape(axis_label)}</text>'
    )
    return _frame(chart_id, title, width, height, body)


def columns_with_line(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    value_format: Callable[[float], str],
    y_label: str,
    x_label: str,
    line: Sequence[float] | None = None,
    line_label: str = "",
    line_reference: float | None = None,
    highlight_from: int | None = None,
    width: int = 860,
    height: int = 320,
    bottom: int = 78,
    left: int = 72,
) -> str:
    """Vertical columns (e.g. revenue per month), optionally with a 0-100 % line on a right axis
    (a Pareto chart's cumulative share) and a dashed reference level on that axis."""
    right, top = 56 if line is not None else 20, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max(values, default=0.0))
    y_scale = plot_h / ticks[-1]
    slot = plot_w / max(1, len(values))
    body: list[str] = []
    for tick in ticks:
        y = top + plot_h - tick * y_scale
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{PALETTE["grid"]}"/>'
            f'<text x="{left - 8}" y="{y:.1f}" font-size="11" text-anchor="end" '
            f'dominant-baseline="middle" fill="{PALETTE["text"]}">'
            f"{escape(value_format(tick))}</text>"
        )
    label_every = max(1, math.ceil(len(labels) / 24))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + index * slot + slot * 0.14
        bar_h = max(value, 0.0) * y_scale
        colour = PALETTE["primary"]
        if highlight_from is not None and index >= highlight_from:
            colour = PALETTE["secondary"]
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" '
            f'width="{slot * 0.72:.1f}" height="{bar_h:.1f}" rx="1.5" fill="{colour}">'
            f"<title>{escape(label)}: {escape(value_format(value))}</title></rect>"
        )
        if index % label_every == 0:
            cx = left + index * slot + slot / 2
            body.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 12}" font-size="10.5" text-anchor="end" '
                f'transform="rotate(-40 {cx:.1f} {top + plot_h + 12})" '
                f'fill="{PALETTE["text"]}">{escape(_shorten(label, 24))}</text>'
            )
    if line is not None:
        points = " ".join(
            f"{left + i * slot + slot / 2:.1f},{top + plot_h - share * plot_h:.1f}"
            for i, share in enumerate(line)
        )
        body.append(
            f'<polyline class="line" points="{points}" fill="none" stroke="{PALETTE["accent"]}" '
            f'stroke-width="2.2"/>'
        )
        for pct in (0, 0.25, 0.5, 0.75, 1.0):
            y = top + plot_h - pct * plot_h
            body.append(
                f'<text x="{left + plot_w + 8}" y="{y:.1f}" font-size="11" '
                f'dominant-baseline="middle" fill="{PALETTE["accent"]}">{pct:.0%}</text>'
            )
        if line_reference is not None:
            y = top + plot_h - line_reference * plot_h
            body.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                f'stroke="{PALETTE["accent"]}" stroke-dasharray="5 4" stroke-width="1"/>'
            )
        body.append(
            f'<text transform="rotate(90 {width - 12} {top + plot_h / 2:.1f})" '
            f'x="{width - 12}" y="{top + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
            f'fill="{PALETTE["accent"]}">{escape(line_label)}</text>'
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{PALETTE["text"]}"/>'
        f'<text transform="rotate(-90 16 {top + plot_h / 2:.1f})" x="16" '
        f'y="{top + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
        f'fill="{PALETTE["text"]}">{escape(y_label)}</text>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" font-size="12" text-anchor="middle" '
        f'fill="{PALETTE["text"]}">{escape(x_label)}</text>'
    )
    return _frame(chart_id, title, width, height, body)
