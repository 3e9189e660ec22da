"""The report page as HTML: headline tiles, inline SVG charts, the client-health table.

No scripts or fonts are fetched: the charts are inline SVG, and the styles are inline CSS, so the
file opens offline, in a mail attachment or printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from consulting_crm.report.charts import Bar, columns_with_line, compact_money, horizontal_bars
from consulting_crm.report.data import BAND_ORDER, ReportData, number


def _money(value: object, symbol: str, *, decimals: int = 0) -> str:
    if value is None:
        return "–"
    return f"{symbol}{number(value):,.{decimals}f}"


def _pct(value: object, decimals: int = 0) -> str:
    return "–" if value is None else f"{number(value):.{decimals}%}"


def _tile(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="tile"><div class="tile-label">{escape(label)}</div>'
        f'<div class="tile-value">{escape(value)}</div>'
        f'<div class="tile-note">{escape(note)}</div></div>'
    )


def _health_rows(data: ReportData) -> str:
    rows = []
    for row in data.client_health:
        band = str(row.get("health_band"))
        last = row.get("last_activity_at")
        last_text = last.date().isoformat() if isinstance(last, dt.datetime) else "never"
        days = row.get("days_since_last_activity")
        rows.append(
            "<tr>"
            f"<td>{escape(str(row.get('account_name')))}</td>"
            f'<td><span class="band band-{escape(band)}">{escape(band.replace("_", " "))}'
            "</span></td>"
            f"<td>{escape(last_text)}</td>"
            f'<td class="num">{"–" if days is None else f"{int(number(days)):,}"}</td>'
            f'<td class="num">{int(number(row.get("activities_90d"))):,}</td>'
            f'<td class="num">{_money(row.get("open_pipeline_amount") or 0, data.symbol)}</td>'
            f'<td class="num">{int(number(row.get("active_project_count"))):,}</td>'
            f'<td class="num">{_money(row.get("revenue_ttm") or 0, data.symbol)}</td>'
            f'<td class="num">{_money(row.get("revenue_prior_ttm") or 0, data.symbol)}</td>'
            "</tr>"
        )
    return "".join(rows)


def render_html(data: ReportData, *, title: str = "Consulting CRM") -> str:
    """The whole page as one string."""
    symbol = data.symbol

    def money_axis(value: float) -> str:
        return compact_money(value, symbol)

    headline, ttm = data.headline, data.ttm
    as_of_text = f"{data.as_of:%-d %B %Y}"
    tiles = "".join(
        [
            _tile(
                "Open pipeline",
                _money(headline.get("open_pipeline_amount"), symbol),
                f"{headline.get('open_opportunity_count', 0)} open deals",
            ),
            _tile(
                "Weighted pipeline",
                _money(headline.get("weighted_pipeline_amount"), symbol),
                "amount × stage probability",
            ),
            _tile(
                "Win rate (TTM)",
                _pct(headline.get("win_rate_count_ttm")),
                f"{headline.get('won_count_ttm', 0)} won · "
                f"{headline.get('lost_count_ttm', 0)} lost",
            ),
            _tile(
                "Pipeline velocity",
                _money(headline.get("pipeline_velocity_per_day"), symbol) + "/day",
                f"avg cycle {number(headline.get('avg_sales_cycle_days_ttm')):.0f} days",
            ),
            _tile(
                "Revenue (TTM)",
                _money(ttm.get("total_revenue"), symbol),
                f"{ttm.get('client_count', 0)} paying clients",
            ),
            _tile(
                "Top client share",
                _pct(ttm.get("top1_share")),
                f"top 3: {_pct(ttm.get('top3_share'))}",
            ),
            _tile(
                "Concentration (HHI)",
                f"{number(ttm.get('hhi')):,.0f}",
                f"{ttm.get('clients_for_80pct') or '–'} clients make 80 % of revenue",
            ),
        ]
    )
    stage_chart = horizontal_bars(
        "chart-pipeline-by-stage",
        "Open pipeline by stage",
        [
            Bar(
                str(row["stage"]).capitalize(),
                (number(row["amount"]), number(row["weighted"])),
                note=f"{row['deals']} deals",
            )
            for row in data.pipeline_by_stage
        ],
        ["Amount", "Weighted"],
        value_format=money_axis,
        axis_label=f"Deal value ({data.currency})",
    )
    as_of_month = data.as_of.replace(day=1)
    months = data.revenue_by_month
    future_from = next((i for i, (m, _) in enumerate(months) if m > as_of_month), None)
    revenue_chart = columns_with_line(
        "chart-revenue-by-month",
        "Recognised revenue by month",
        [f"{month:%b %Y}" for month, _ in months],
        [value for _, value in months],
        value_format=money_axis,
        y_label=f"Revenue ({data.currency})",
        x_label="Month (lighter: already won, delivered in the months ahead)",
        highlight_from=future_from,
    )
    clients = data.client_revenue_ttm
    total = sum(value for _, value in clients) or 1.0
    cumulative, running = [], 0.0
    for _, value in clients:
        running += value
        cumulative.append(running / total)
    pareto_chart = columns_with_line(
        "chart-revenue-pareto",
        "Revenue concentration (trailing twelve months)",
        [name for name, _ in clients],
        [value for _, value in clients],
        value_format=money_axis,
        y_label=f"Revenue TTM ({data.currency})",
        x_label="Clients, largest first (dashed line: 80 %)",
        line=cumulative,
        line_label="Cumulative share",
        line_reference=0.8,
        height=420,
        bottom=150,
        left=110,
    )
    funnel_chart = horizontal_bars(
        "chart-lead-funnel",
        "Lead funnel by source",
        [
            Bar(
                str(row["lead_source_group"] or "Unknown"),
                (
                    number(row["created"]),
                    number(row["contacted"]),
                    number(row["qualified"]),
                    number(row["converted"]),
                ),
            )
            for row in data.funnel_by_source
        ],
        ["Created", "Contacted+", "Qualified+", "Converted"],
        value_format=lambda v: f"{v:,.0f}",
        axis_label="Leads",
    )
    band_counts = {band: 0 for band in BAND_ORDER}
    for row in data.client_health:
        band_counts[str(row.get("health_band"))] = (
            band_counts.get(str(row.get("health_band")), 0) + 1
        )
    return _PAGE.format(
        title=escape(title),
        as_of=escape(as_of_text),
        generated=escape(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"),
        tiles=tiles,
        stage_chart=stage_chart,
        funnel_chart=funnel_chart,
        revenue_chart=revenue_chart,
        pareto_chart=pareto_chart,
        healthy=band_counts.get("healthy", 0),
        at_risk=band_counts.get("at_risk", 0),
        dormant=band_counts.get("dormant", 0),
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
    <p class="lede">{healthy} healthy · {at_risk} at risk · {dormant} dormant. Worst first.</p>
    <table>
      <thead><tr><th>Client</th><th>Health</th><th>Last activity</th>
        <th class="num">Days quiet</th><th class="num">Activities 90d</th>
        <th class="num">Open pipeline</th><th class="num">Active projects</th>
        <th class="num">Revenue TTM</th><th class="num">Prior TTM</th></tr></thead>
      <tbody>{health_rows}</tbody>
    </table></section>
  <footer>Generated {generated} by Consulting CRM (<code>crm report</code>).</footer>
</main>
<script>
  // Self-check, read by the rendering test: which charts drew marks with a real size.
  window.addEventListener("load", function () {{
    var drawn = [];
    document.querySelectorAll("svg.chart").forEach(function (svg) {{
      var box = svg.getBoundingClientRect();
      var marks = svg.querySelectorAll(".bar, .line").length;
      if (box.width > 0 && box.height > 0 && marks > 0) {{ drawn.push(svg.id); }}
    }});
    document.documentElement.setAttribute("data-charts-drawn", drawn.join(" "));
  }});
</script>
</body>
</html>
"""
