"""The report page as HTML: headline tiles, inline SVG charts, the client-health table.

No scripts or fonts are fetched: the charts are static SVG drawn by vl-convert
(:mod:`~consulting_crm.report.charts`) and the styles are inline CSS, so the file opens offline,
in a mail attachment or printed. A figure that cannot be computed shows a dash, and its tile says
why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from consulting_crm.report.charts import (
    BarValue,
    ClientShare,
    MonthValue,
    empty_state,
    grouped_bars,
    monthly_columns,
    pareto,
)
from consulting_crm.report.data import BAND_ORDER, ReportData, number

NO_REVENUE = "no revenue recognised in the last 12 months"
DELIVERED, SCHEDULED = "Recognised", "Won, delivered in the months ahead"


def plural(count: object, singular: str, plural_form: str | None = None) -> str:
    """'1 deal', '0 deals', '2 clients'; ``plural_form`` for irregular words."""
    amount = int(number(count))
    word = singular if amount == 1 else (plural_form or f"{singular}s")
    return f"{amount:,} {word}"


def _money(value: object, symbol: str, *, decimals: int = 0) -> str:
    return f"{symbol}{number(value):,.{decimals}f}"


def _pct(value: object, decimals: int = 0) -> str:
    return f"{number(value):.{decimals}%}"


def _tile(label: str, value: str, note: str) -> str:
    return (
        f'<div class="tile"><div class="tile-label">{escape(label)}</div>'
        f'<div class="tile-value">{escape(value)}</div>'
        f'<div class="tile-note">{escape(note)}</div></div>'
    )


def _tiles(data: ReportData) -> str:
    headline, ttm, symbol = data.headline, data.ttm, data.symbol
    open_deals = int(number(headline.get("open_opportunity_count")))
    won = int(number(headline.get("won_count_ttm")))
    lost = int(number(headline.get("lost_count_ttm")))
    # Deals the figures leave out: in a currency without an exchange rate, or won without a
    # known start (no sales cycle). Counted in pipeline_summary; said where the figure is.
    without_rate = int(number(headline.get("deals_without_rate")))
    undated = int(number(headline.get("deals_without_start_date")))
    open_note = plural(open_deals, "open deal") if open_deals else "no open deals"
    if without_rate:
        open_note += (
            f" · {plural(without_rate, 'deal')} without an exchange rate left out of the figures"
        )
    tiles = [
        _tile("Open pipeline", _money(headline.get("open_pipeline_amount"), symbol), open_note),
        _tile(
            "Weighted pipeline",
            _money(headline.get("weighted_pipeline_amount"), symbol),
            "amount × stage probability",
        ),
    ]
    win_rate = headline.get("win_rate_count_ttm")
    tiles.append(
        _tile("Win rate (TTM)", _pct(win_rate), f"{won} won · {lost} lost")
        if win_rate is not None
        else _tile("Win rate (TTM)", "–", "no deal won or lost in the last 12 months")
    )
    velocity = headline.get("pipeline_velocity_per_day")
    if velocity is not None:
        cycle = number(headline.get("avg_sales_cycle_days_ttm"))
        tiles.append(
            _tile(
                "Pipeline velocity",
                _money(velocity, symbol) + "/day",
                f"average sales cycle {plural(round(cycle), 'day')}"
                + (
                    f" · {plural(undated, 'won deal')} without a start date left out"
                    if undated
                    else ""
                ),
            )
        )
    else:
        if not open_deals:
            why = "needs open deals"
        elif not won:
            why = "needs a deal won in the last 12 months"
        elif undated >= won:
            why = "the won deals have no start date (opened_on), so no sales cycle"
        else:
            why = "won deals closed the day they opened"
        tiles.append(_tile("Pipeline velocity", "–", why))
    total = ttm.get("total_revenue")
    paying = int(number(ttm.get("client_count")))
    tiles.append(
        _tile(
            "Revenue (TTM)",
            _money(total, symbol),
            plural(paying, "paying client") if paying else NO_REVENUE,
        )
    )
    if ttm.get("top1_share") is not None:
        tiles.append(
            _tile(
                "Top client share",
                _pct(ttm.get("top1_share")),
                f"top 3: {_pct(ttm.get('top3_share'))}",
            )
        )
        for_80 = int(number(ttm.get("clients_for_80pct")))
        verb = "makes" if for_80 == 1 else "make"
        tiles.append(
            _tile(
                "Concentration (HHI)",
                f"{number(ttm.get('hhi')):,.0f}",
                f"{plural(for_80, 'client')} {verb} 80 % of revenue",
            )
        )
    else:
        tiles.append(_tile("Top client share", "–", NO_REVENUE))
        tiles.append(_tile("Concentration (HHI)", "–", NO_REVENUE))
    return "".join(tiles)


def _health_rows(data: ReportData) -> str:
    rows = []
    for row in data.client_health:
        band = str(row.get("health_band"))
        last = row.get("last_activity_at")
        last_text = last.date().isoformat() if isinstance(last, dt.datetime) else "never"
        days = row.get("days_since_last_activity")
        days_cell = (
            '<td class="num" title="no activity recorded">–</td>'
            if days is None
            else f'<td class="num">{int(number(days)):,}</td>'
        )
        reasons = ""
        if data.has_health_reasons:
            reasons = f'<td class="why">{escape(str(row.get("health_reasons") or ""))}</td>'
        rows.append(
            "<tr>"
            f"<td>{escape(str(row.get('account_name')))}</td>"
            f'<td><span class="band band-{escape(band)}">{escape(band.replace("_", " "))}'
            "</span></td>"
            f"{reasons}"
            f"<td>{escape(last_text)}</td>"
            f"{days_cell}"
            f'<td class="num">{int(number(row.get("activities_90d"))):,}</td>'
            f'<td class="num">{_money(row.get("open_pipeline_amount"), data.symbol)}</td>'
            f'<td class="num">{int(number(row.get("active_project_count"))):,}</td>'
            f'<td class="num">{_money(row.get("revenue_ttm"), data.symbol)}</td>'
            f'<td class="num">{_money(row.get("revenue_prior_ttm"), data.symbol)}</td>'
            "</tr>"
        )
    if not rows:
        columns = 10 if data.has_health_reasons else 9
        rows.append(
            f'<tr><td colspan="{columns}" class="empty">No clients yet: import accounts '
            "(<code>crm import accounts.csv</code>) and run <code>crm build</code>.</td></tr>"
        )
    return "".join(rows)


def _stage_chart(data: ReportData) -> str:
    chart_id, title = "chart-pipeline-by-stage", "Open pipeline by stage"
    stages = data.pipeline_by_stage
    if not any(number(row["deals"]) for row in stages):
        return empty_state(
            chart_id,
            title,
            "No open deals",
            "Deals in qualification, proposal or negotiation appear here.",
            width=420,
            height=200,
        )
    symbol, values, categories = data.symbol, [], []
    for row in stages:
        category = f"{str(row['stage']).capitalize()} ({plural(row['deals'], 'deal')})"
        categories.append(category)
        for series, key in (("Amount", "amount"), ("Weighted", "weighted")):
            amount = number(row[key])
            values.append(
                BarValue(
                    category,
                    series,
                    amount,
                    _money(amount, symbol),
                    f"{category} · {series}: {_money(amount, symbol)}",
                )
            )
    return grouped_bars(
        chart_id,
        title,
        values,
        categories=categories,
        series=["Amount", "Weighted"],
        axis_title=f"Deal value ({data.currency})",
        money_symbol=symbol,
    )


def _funnel_chart(data: ReportData) -> str:
    chart_id, title = "chart-lead-funnel", "Lead funnel by source"
    if not any(number(row["created"]) for row in data.funnel_by_source):
        return empty_state(
            chart_id,
            title,
            "No leads yet",
            "Import leads (crm import leads.csv) and run crm build.",
            width=420,
            height=200,
        )
    steps = (
        ("Created", "created"),
        ("Contacted+", "contacted"),
        ("Qualified+", "qualified"),
        ("Converted", "converted"),
    )
    values, categories = [], []
    for row in data.funnel_by_source:
        source = str(row["lead_source_group"] or "Unknown")
        categories.append(source)
        for series, key in steps:
            count = number(row[key])
            values.append(
                BarValue(
                    source,
                    series,
                    count,
                    f"{count:,.0f}",
                    f"{source} · {series}: {plural(count, 'lead')}",
                )
            )
    return grouped_bars(
        chart_id,
        title,
        values,
        categories=categories,
        series=[series for series, _ in steps],
        axis_title="Leads",
    )


def _revenue_chart(data: ReportData) -> str:
    chart_id, title = "chart-revenue-by-month", "Recognised revenue by month"
    months = data.revenue_by_month
    if not any(value for _, value in months):
        return empty_state(
            chart_id,
            title,
            "No revenue in these months",
            "Won projects with delivery dates spread their amount over those months.",
            width=860,
            height=230,
        )
    as_of_month = data.as_of.replace(day=1)
    items = []
    for month, value in months:
        phase = SCHEDULED if month > as_of_month else DELIVERED
        items.append(
            MonthValue(
                month,
                value,
                phase,
                f"{month:%B %Y}: {_money(value, data.symbol)}"
                + (" (won, not yet delivered)" if phase == SCHEDULED else ""),
            )
        )
    return monthly_columns(
        chart_id,
        title,
        items,
        phases=[DELIVERED, SCHEDULED],
        money_symbol=data.symbol,
        axis_title=f"Revenue ({data.currency})",
    )


def _pareto_chart(data: ReportData) -> str:
    chart_id, title = "chart-revenue-pareto", "Revenue concentration (trailing twelve months)"
    clients = data.client_revenue_ttm
    if not clients:
        return empty_state(
            chart_id,
            title,
            "No revenue in the last 12 months",
            "Each paying client's share of revenue appears here.",
            width=820,
            height=240,
        )
    total = sum(value for _, value in clients)
    shares, running = [], 0.0
    for name, value in clients:
        running += value
        shares.append(
            ClientShare(
                name,
                value,
                running / total,
                f"{name}: {_money(value, data.symbol)} ({value / total:.0%}); "
                f"cumulative {running / total:.0%}",
            )
        )
    return pareto(
        chart_id,
        title,
        shares,
        money_symbol=data.symbol,
        axis_title=f"Revenue TTM ({data.currency})",
    )


def render_html(data: ReportData, *, title: str = "Consulting CRM") -> str:
    """The whole page as one string."""
    band_counts = {band: 0 for band in BAND_ORDER}
    for row in data.client_health:
        band = str(row.get("health_band"))
        band_counts[band] = band_counts.get(band, 0) + 1
    return _PAGE.format(
        title=escape(title),
        as_of=escape(f"{data.as_of:%-d %B %Y}"),
        generated=escape(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"),
        tiles=_tiles(data),
        stage_chart=_stage_chart(data),
        funnel_chart=_funnel_chart(data),
        revenue_chart=_revenue_chart(data),
        pareto_chart=_pareto_chart(data),
        health_summary=escape(
            f"{band_counts.get('healthy', 0)} healthy · {band_counts.get('at_risk', 0)} at risk · "
            f"{band_counts.get('dormant', 0)} dormant. Worst first."
        ),
        reasons_header="<th>Why</th>" if data.has_health_reasons else "",
        health_rows=_health_rows(data),
    )


def chart_ids() -> Sequence[str]:
    """The charts every report contains (the rendering test checks each one drew)."""
    return (
        "chart-pipeline-by-stage",
        "chart-lead-funnel",
        "chart-revenue-by-month",
        "chart-revenue-pareto",
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — as of {as_of}</title>
<style>
  :root {{ --ink:#1d2733; --muted:#6b7785; --line:#e3e8ee; --brand:#1f5f8b; --bg:#f6f8fa; }}
  * {{ box-sizing: border-box; }}
  body {{ margin:0; background:var(--bg); color:var(--ink);
         font: 15px/1.5 Inter, "Segoe UI", Helvetica, Arial, sans-serif; }}
  header {{ background:var(--brand); color:white; padding:28px 40px 22px; }}
  header h1 {{ margin:0; font-size:26px; font-weight:650; letter-spacing:-0.01em; }}
  header p {{ margin:4px 0 0; opacity:.85; }}
  main {{ max-width:1180px; margin:0 auto; padding:24px 32px 48px; }}
  .tiles {{ display:grid; grid-template-columns:repeat(auto-fit,minmax(128px,1fr)); gap:12px; }}
  .tile {{ background:white; border:1px solid var(--line); border-radius:10px; padding:14px 16px; }}
  .tile-label {{ color:var(--muted); font-size:12px; text-transform:uppercase;
                letter-spacing:.06em; }}
  .tile-value {{ font-size:24px; font-weight:650; margin-top:4px;
                font-variant-numeric: tabular-nums; }}
  .tile-note {{ color:var(--muted); font-size:12.5px; }}
  section {{ background:white; border:1px solid var(--line); border-radius:10px;
             padding:18px 22px; margin-top:18px; }}
  section h2 {{ margin:0 0 2px; font-size:17px; }}
  section p.lede {{ margin:0 0 12px; color:var(--muted); font-size:13.5px; }}
  .two {{ display:grid; grid-template-columns:1fr 1fr; gap:18px; }}
  .two section {{ margin-top:18px; }}
  @media (max-width: 900px) {{ .two {{ grid-template-columns:1fr; }} }}
  table {{ width:100%; border-collapse:collapse; font-size:13.5px; }}
  th {{ text-align:left; color:var(--muted); font-weight:600; font-size:12px;
       text-transform:uppercase; letter-spacing:.04em; border-bottom:2px solid var(--line);
       padding:8px 6px; }}
  td {{ border-bottom:1px solid var(--line); padding:7px 6px; }}
  td.num, th.num {{ text-align:right; font-variant-numeric: tabular-nums; }}
  .band {{ display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px;
          font-weight:600; }}
  .band-healthy {{ background:#e3f4ea; color:#1e6b3c; }}
  .band-at_risk {{ background:#fdf0dc; color:#8a5a00; }}
  .band-dormant {{ background:#fbe4e4; color:#9b2c2c; }}
  td.empty {{ color:var(--muted); text-align:center; padding:18px; }}
  td.why {{ color:var(--muted); font-size:12.5px; }}
  svg.chart {{ display:block; height:auto; }}
  footer {{ color:var(--muted); font-size:12px; text-align:center; margin-top:28px; }}
  @media print {{ body {{ background:white; }} section, .tile {{ break-inside: avoid; }} }}
</style>
</head>
<body>
<header>
  <h1>{title} — pipeline, revenue and client health</h1>
  <p>As of {as_of}. Figures from the analytics models Power BI reads.</p>
</header>
<main>
  <div class="tiles">{tiles}</div>
  <div class="two">
    <section><h2>Open pipeline by stage</h2>
      <p class="lede">Open deals' value, and the same weighted by each stage's probability.</p>
      {stage_chart}</section>
    <section><h2>Lead funnel by source</h2>
      <p class="lede">Leads created, and how many reached each later status.</p>
      {funnel_chart}</section>
  </div>
  <section><h2>Recognised revenue by month</h2>
    <p class="lede">Won projects' amounts spread evenly over their delivery months.</p>
    {revenue_chart}</section>
  <section><h2>Revenue concentration</h2>
    <p class="lede">Each client's revenue over the trailing twelve months, largest first, with the
    cumulative share of the total.</p>
    {pareto_chart}</section>
  <section><h2>Client health</h2>
    <p class="lede">{health_summary}</p>
    <table>
      <thead><tr><th>Client</th><th>Health</th>{reasons_header}<th>Last activity</th>
        <th class="num">Days quiet</th><th class="num">Activities 90d</th>
        <th class="num">Open pipeline</th><th class="num">Active projects</th>
        <th class="num">Revenue TTM</th><th class="num">Prior TTM</th></tr></thead>
      <tbody>{health_rows}</tbody>
    </table></section>
  <footer>Generated {generated} by Consulting CRM (<code>crm report</code>).</footer>
</main>
</body>
</html>
"""
