"""`crm report` on the data a new user has on the first days: nothing at all, then one record.

Every chart must draw either its marks or its designed empty state, with no repeated tick label,
and every tile that cannot show a figure must say why. The full dataset is rendered in
tests/dbt/test_headline_figures.py, the demo's in tests/consulting_crm/demo/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm.dbt_runner import BuildResult
from consulting_crm.report import ReportData, load_report_data, render_html, write_report
from consulting_crm.report.charts import integer_ticks
from consulting_crm.report.data import base_currency, every_month
from consulting_crm.report.html import plural
from ingest.errors import ExitCode
from tests.factories.report_page import render_report

TILE = re.compile(
    r'<div class="tile-label">([^<]*)</div><div class="tile-value">([^<]*)</div>'
    r'<div class="tile-note">([^<]*)</div>'
)


def tiles(html: str) -> dict[str, tuple[str, str]]:
    return {label: (value, note) for label, value, note in TILE.findall(html)}


@pytest.fixture(scope="module")
def empty_database(make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]) -> str:
    conninfo = make_database()
    assert dbt_build(conninfo).exit_code == ExitCode.OK
    return conninfo


@pytest.fixture(scope="module")
def one_lead_database(
    make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]
) -> str:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "insert into public.leads (first_name, last_name, lead_source, created_at) "
            "values ('Lena', 'One', 'Referral', '2025-03-05 09:00+00')"
        )
    assert dbt_build(conninfo).exit_code == ExitCode.OK
    return conninfo


def test_an_empty_database_draws_every_chart_as_its_empty_state(
    empty_database: str, tmp_path: Path
) -> None:
    with psycopg.connect(empty_database) as conn:
        page = write_report(conn, tmp_path / "report.html")
    charts = render_report(page, tmp_path)
    assert {chart_id: chart.empty for chart_id, chart in charts.items()} == dict.fromkeys(
        charts, True
    )
    html = page.read_text(encoding="utf-8")
    shown = tiles(html)
    assert shown["Open pipeline"] == ("€0", "no open deals")
    assert shown["Win rate (TTM)"] == ("–", "no deal won or lost in the last 12 months")
    assert shown["Pipeline velocity"] == ("–", "needs open deals")
    assert shown["Revenue (TTM)"] == ("€0", "no revenue recognised in the last 12 months")
    assert shown["Concentration (HHI)"] == ("–", "no revenue recognised in the last 12 months")
    assert all(note for _, note in shown.values()), shown
    assert "No clients yet" in html


def test_one_lead_draws_the_funnel_with_whole_distinct_ticks(
    one_lead_database: str, tmp_path: Path
) -> None:
    with psycopg.connect(one_lead_database) as conn:
        page = write_report(conn, tmp_path / "report.html")
    charts = render_report(page, tmp_path)
    funnel = charts["chart-lead-funnel"]
    assert not funnel.empty
    assert ["0", "1"] in funnel.axes
    assert charts["chart-pipeline-by-stage"].empty
    html = page.read_text(encoding="utf-8")
    assert "Referral · Created: 1 lead<" in html  # the hover text, singular
    assert "1 leads" not in html


def test_the_report_uses_the_base_currency_and_shows_health_reasons_when_the_models_have_them(
    one_lead_database: str,
) -> None:
    with psycopg.connect(one_lead_database) as conn:
        # What the models gain from the multi-currency work; rolled back afterwards.
        for table in ("pipeline_summary", "revenue_concentration"):
            conn.execute(
                f"alter table analytics.{table} add column if not exists base_currency text"
            )
            conn.execute(f"update analytics.{table} set base_currency = 'USD'")
        conn.execute(
            "alter table analytics.client_health add column if not exists health_reasons text"
        )
        after = render_html(load_report_data(conn))
        conn.rollback()
    assert tiles(after)["Open pipeline"] == ("$0", "no open deals")
    assert "<th>Why</th>" in after


def test_plural() -> None:
    assert [plural(0, "deal"), plural(1, "deal"), plural(2, "deal"), plural(1, "day")] == [
        "0 deals",
        "1 deal",
        "2 deals",
        "1 day",
    ]


@pytest.mark.parametrize("maximum", [0.4, 1, 3, 7, 12, 99, 250, 1001, 12_345, 2_500_000])
def test_integer_ticks_are_whole_distinct_and_cover_the_maximum(maximum: float) -> None:
    ticks = integer_ticks(maximum)
    assert ticks[0] == 0 and ticks[-1] >= maximum
    assert all(isinstance(tick, int) for tick in ticks)
    assert len(set(ticks)) == len(ticks) <= 12


def test_every_month_fills_the_gaps_with_zero() -> None:
    months = every_month({dt.date(2025, 1, 1): 5.0, dt.date(2025, 4, 1): 2.0}, dt.date(2025, 6, 30))
    assert (months[0][0], months[-1][0]) == (dt.date(2024, 7, 1), dt.date(2025, 6, 1))
    assert len(months) == 12
    assert dict(months)[dt.date(2025, 2, 1)] == 0.0
    assert dict(months)[dt.date(2025, 4, 1)] == 2.0


def test_base_currency_comes_from_the_models_else_eur() -> None:
    assert base_currency({"base_currency": "chf"}, {}) == "CHF"
    assert base_currency({}, {"base_currency": "USD"}) == "USD"
    assert base_currency({}, {}) == "EUR"


def test_one_client_with_one_month_of_revenue_draws_a_continuous_axis_and_a_pareto(
    tmp_path: Path,
) -> None:
    # Built in memory: the figures the models give for one account with one small won project.
    as_of = dt.date(2025, 6, 30)
    data = ReportData(
        as_of=as_of,
        currency="GBP",
        headline={"as_of_date": as_of, "open_opportunity_count": 0, "won_count_ttm": 1},
        ttm={
            "total_revenue": 3,
            "client_count": 1,
            "top1_share": 1,
            "top3_share": 1,
            "hhi": 10000,
            "clients_for_80pct": 1,
        },
        pipeline_by_stage=[
            {"stage": stage, "deals": 0, "amount": 0, "weighted": 0}
            for stage in ("qualification", "proposal", "negotiation")
        ],
        revenue_by_month=every_month({dt.date(2025, 2, 1): 3.0}, as_of),
        client_revenue_ttm=[("Solo Ltd", 3.0)],
    )
    page = tmp_path / "report.html"
    page.write_text(render_html(data), encoding="utf-8")
    charts = render_report(page, tmp_path)
    months = charts["chart-revenue-by-month"]
    assert not months.empty
    assert ["£0", "£1", "£2", "£3"] in months.axes
    assert any("Jul 2024" in axis for axis in months.axes)
    pareto = charts["chart-revenue-pareto"]
    assert not pareto.empty and ["Solo Ltd"] in pareto.axes
    html = page.read_text(encoding="utf-8")
    assert tiles(html)["Concentration (HHI)"] == ("10,000", "1 client makes 80 % of revenue")
    assert tiles(html)["Revenue (TTM)"] == ("£3", "1 paying client")
    assert "<title>February 2025: £3</title>" in html
    assert "<title>March 2025: £0</title>" in html
