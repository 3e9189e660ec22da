"""The report's charts: Vega-Lite specifications built with altair, drawn to static SVG by
vl-convert (which carries its own copy of Vega, so nothing is fetched from the network).

Why a library and not hand-drawn SVG: axis ticks, time axes and label formats are what Vega does
well (``docs/design-decisions.md``). Why static SVG and not Vega's JavaScript in the page: the
report opens offline, in a mail attachment and printed, with no script. Vega writes each mark's
hover text into ``aria-label``; :func:`render_svg` copies it into a ``<title>`` so browsers show
it on hover.

Every chart has an empty state (:func:`empty_state`) that says what is missing and how to get it,
integer axes never repeat a tick label (``tickMinStep`` 1), and the month axis is continuous.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import altair as alt
import vl_convert

FONT = "Inter, 'Segoe UI', Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1d2733", "#6b7785", "#e3e8ee"
PRIMARY, SECONDARY, ACCENT = "#1f5f8b", "#8fb8d8", "#e07b39"
SERIES_COLOURS = ["#1f5f8b", "#4d9ac7", "#8fb8d8", "#e07b39"]


def money_label_expr(symbol: str) -> str:
    """A Vega expression for a money axis label: '€950', '€12.5k', '€1.25M'.

    ``~s`` keeps every significant digit a tick needs, so two ticks never read the same; below
    1,000 the axis shows whole units (the axes ask for ticks at least 1 apart).
    """
    prefix = json.dumps(symbol)
    return (
        f"{prefix} + (abs(datum.value) < 1000 ? format(datum.value, ',d') "
        ": format(datum.value, '~s'))"
    )


def integer_ticks(maximum: float, count: int = 5) -> list[int]:
    """Tick values from 0 to at least ``maximum``, a whole 1, 2 or 5 times a power of ten apart.

    Given to Vega as explicit values: its own ``tickMinStep`` still puts a tick at 0.5 on a 0-1
    domain, which a whole-number format prints as a second '1'.
    """
    if maximum <= 0:
        return [0, 1]
    raw_step = maximum / count
    magnitude = 10 ** max(0, math.floor(math.log10(raw_step)))
    multiples = (1, 2, 2.5, 5, 10) if magnitude >= 10 else (1, 2, 5, 10)
    step = int(next(m * magnitude for m in multiples if m * magnitude >= raw_step))
    ticks = [0]
    while ticks[-1] < maximum:
        ticks.append(ticks[-1] + step)
    return ticks


def _value_axis(maximum: float, money_symbol: str | None, **options: Any) -> dict[str, Any]:
    """Scale and axis for a quantitative axis from 0 with whole-number, distinct tick labels;
    money reads '€950', '€12.5k', without a symbol the axis counts whole things."""
    ticks = integer_ticks(maximum)
    if money_symbol is None:
        label: dict[str, Any] = {"format": ",d"}
    else:
        label = {"labelExpr": money_label_expr(money_symbol)}
    return {
        "scale": alt.Scale(domain=[0, ticks[-1]], nice=False, zero=True),
        "axis": alt.Axis(values=ticks, **label, **options),
    }


def _configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT, background="white", padding=8)
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=INK,
            titleColor=INK,
            gridColor=GRID,
            domainColor=MUTED,
            tickColor=MUTED,
            labelFontSize=11,
            titleFontSize=12,
            titleFontWeight="normal",
        )
        .configure_legend(
            orient="top",
            title=None,
            labelFontSize=12,
            labelColor=INK,
            labelLimit=0,
            symbolType="square",
        )
    )


_ROOT = re.compile(r'<svg ([^>]*?)class="marks" width="([\d.]+)" height="([\d.]+)"')
# A mark Vega labelled for screen readers; self-closing, as Vega writes them.
_LABELLED_MARK = re.compile(
    r'<(path|rect|circle|line|text)\b([^>]*?)aria-label="([^"]*)"'
    r'([^>]*?role="graphics-symbol"[^>]*?)/>'
)


def render_svg(chart: alt.TopLevelMixin, chart_id: str, title: str, *, empty: bool = False) -> str:
    """The chart as inline SVG: scales to its container, hover text on every labelled mark.
    An empty state carries the class ``chart-empty``."""
    css_class = "chart chart-empty" if empty else "chart"
    svg = vl_convert.vegalite_to_svg(_configure(chart).to_dict())
    svg, found = _ROOT.subn(
        lambda match: (
            f'<svg {match.group(1)}class="{css_class}" id="{escape(chart_id)}" '
            f'aria-label="{escape(title)}" width="100%" '
            f'style="max-width:{match.group(2)}px" preserveAspectRatio="xMidYMid meet"'
        ),
        svg,
        count=1,
    )
    if not found:
        raise RuntimeError(f"vl-convert's SVG for {chart_id} has an unexpected root element")
    return _LABELLED_MARK.sub(
        lambda match: (
            f'<{match.group(1)}{match.group(2)}aria-label="{match.group(3)}"{match.group(4)}>'
            f"<title>{match.group(3)}</title></{match.group(1)}>"
        ),
        svg,
    )


def empty_state(
    chart_id: str, title: str, headline: str, hint: str, *, width: int, height: int
) -> str:
    """A chart-sized panel that says what is missing and what would fill it."""
    panel = alt.Chart(alt.Data(values=[{}])).mark_rect(
        x=0, y=0, x2=width, y2=height, fill="#f6f8fa", stroke=GRID, cornerRadius=8
    )
    head = alt.Chart(alt.Data(values=[{}])).mark_text(
        x=width / 2, y=height / 2 - 12, text=headline, fontSize=15, fontWeight=600, color=INK
    )
    detail = alt.Chart(alt.Data(values=[{}])).mark_text(
        x=width / 2, y=height / 2 + 14, text=hint, fontSize=12.5, color=MUTED
    )
    chart = alt.layer(panel, head, detail).properties(width=width, height=height)
    return render_svg(chart, chart_id, f"{title}: {headline}", empty=True)


@dataclass(frozen=True)
class BarValue:
    """One bar of a grouped bar chart."""

    category: str
    series: str
    value: float
    label: str  # the value as printed at the bar's end
    hover: str  # the text shown on hover


def grouped_bars(
    chart_id: str,
    title: str,
    values: Sequence[BarValue],
    *,
    categories: Sequence[str],
    series: Sequence[str],
    axis_title: str,
    money_symbol: str | None = None,
    width: int = 360,
) -> str:
    """Horizontal bars, one group per category and one bar per series. Without a symbol the axis
    counts whole things (leads), so it never shows a fraction."""
    rows = [
        {
            "category": value.category,
            "series": value.series,
            "value": value.value,
            "label": value.label,
            "hover": value.hover,
        }
        for value in values
    ]
    maximum = max((value.value for value in values), default=0.0)
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("category:N", sort=list(categories), title=None, axis=alt.Axis(labelLimit=150)),
        yOffset=alt.YOffset("series:N", sort=list(series)),
        x=alt.X("value:Q", title=axis_title, **_value_axis(maximum, money_symbol, grid=True)),
    )
    bars = base.mark_bar(cornerRadiusEnd=2).encode(
        color=alt.Color(
            "series:N",
            sort=list(series),
            scale=alt.Scale(domain=list(series), range=SERIES_COLOURS[: len(series)]),
        ),
        tooltip=alt.Tooltip("hover:N"),
        description=alt.Description("hover:N"),
    )
    labels = base.mark_text(align="left", dx=3, fontSize=10, color=INK, aria=False).encode(
        text="label:N"
    )
    height = max(1, len(categories)) * (14 * len(series) + 14)
    chart = alt.layer(bars, labels).properties(width=width, height=height)
    return render_svg(chart, chart_id, title)


@dataclass(frozen=True)
class MonthValue:
    month: dt.date  # first day of the month
    value: float
    phase: str  # legend entry, e.g. delivered or scheduled
    hover: str


def monthly_columns(
    chart_id: str,
    title: str,
    months: Sequence[MonthValue],
    *,
    phases: Sequence[str],
    money_symbol: str,
    axis_title: str,
    width: int = 860,
    height: int = 230,
) -> str:
    """One column per calendar month. The axis holds every month from the first to the last,
    with or without revenue, so a quiet month shows as a gap rather than vanishing."""
    expected = [_add_months(months[0].month, index) for index in range(len(months))]
    if [item.month for item in months] != expected:
        raise ValueError("monthly_columns needs one value for every month, in order")
    labels = [f"{item.month:%b %Y}" for item in months]
    rows = [
        {"month": label, "value": item.value, "phase": item.phase, "hover": item.hover}
        for label, item in zip(labels, months, strict=True)
    ]
    present = [phase for phase in phases if any(item.phase == phase for item in months)]
    # About twelve labels at most; the others stay on the axis as ticks.
    every = max(1, -(-len(months) // 12))
    shown = json.dumps(labels[::every])
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(cornerRadiusTopLeft=1.5, cornerRadiusTopRight=1.5)
        .encode(
            x=alt.X(
                "month:O",
                sort=labels,
                title=None,
                scale=alt.Scale(paddingInner=0.2),
                axis=alt.Axis(
                    labelAngle=-40,
                    labelExpr=f"indexof({shown}, datum.value) >= 0 ? datum.value : ''",
                ),
            ),
            y=alt.Y(
                "value:Q",
                title=axis_title,
                **_value_axis(max(item.value for item in months), money_symbol),
            ),
            color=alt.Color(
                "phase:N",
                scale=alt.Scale(domain=present, range=[PRIMARY, SECONDARY][: len(present)]),
            ),
            tooltip=alt.Tooltip("hover:N"),
            description=alt.Description("hover:N"),
        )
        .properties(width=width, height=height)
    )
    return render_svg(chart, chart_id, title)


@dataclass(frozen=True)
class ClientShare:
    client: str
    value: float
    cumulative_share: float
    hover: str


def pareto(
    chart_id: str,
    title: str,
    clients: Sequence[ClientShare],
    *,
    money_symbol: str,
    axis_title: str,
    reference: float = 0.8,
    width: int = 820,
    height: int = 240,
) -> str:
    """Clients' revenue, largest first, with the cumulative share on a 0-100 % right axis and a
    dashed line at ``reference``."""
    names = [client.client for client in clients]
    rows = [
        {
            "client": client.client,
            "value": client.value,
            "share": client.cumulative_share,
            "hover": client.hover,
        }
        for client in clients
    ]
    x = alt.X(
        "client:N",
        sort=names,
        title=None,
        axis=alt.Axis(labelAngle=-40, labelLimit=130, labelOverlap=True),
    )
    base = alt.Chart(alt.Data(values=rows)).encode(x=x)
    columns = base.mark_bar(
        color=PRIMARY, cornerRadiusTopLeft=1.5, cornerRadiusTopRight=1.5
    ).encode(
        y=alt.Y(
            "value:Q",
            title=axis_title,
            **_value_axis(max((client.value for client in clients), default=0), money_symbol),
        ),
        tooltip=alt.Tooltip("hover:N"),
        description=alt.Description("hover:N"),
    )
    share_axis = alt.Axis(
        format=".0%",
        values=[0, 0.25, 0.5, 0.75, 1],
        orient="right",
        titleColor=ACCENT,
        labelColor=ACCENT,
        grid=False,
    )
    share = alt.Y(
        "share:Q", title="Cumulative share", axis=share_axis, scale=alt.Scale(domain=[0, 1])
    )
    line = base.mark_line(color=ACCENT, strokeWidth=2.2, aria=False).encode(y=share)
    points = base.mark_point(color=ACCENT, filled=True, size=36).encode(
        y=share, tooltip=alt.Tooltip("hover:N"), description=alt.Description("hover:N")
    )
    rule = (
        alt.Chart(alt.Data(values=[{}]))
        .mark_rule(color=ACCENT, strokeDash=[5, 4], strokeWidth=1, aria=False)
        .encode(y=alt.datum(reference, type="quantitative"))
    )
    chart = (
        alt.layer(columns, alt.layer(line, points, rule))
        .resolve_scale(y="independent")
        .properties(width=width, height=height)
    )
    return render_svg(chart, chart_id, title)


def _add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)
