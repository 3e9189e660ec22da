"""What the report shows, read from schema ``analytics`` (what Power BI reads too), so the page and
the dashboards always agree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from ingest.errors import CrmError

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF ", "SEK": "kr ", "DKK": "kr "}
OPEN_STAGES = ("qualification", "proposal", "negotiation")
BAND_ORDER = {"dormant": 0, "at_risk": 1, "healthy": 2}


@dataclass
class ReportData:
    """Everything the page shows, read from the analytics models."""

    as_of: dt.date
    currency: str  # the base currency's ISO code: every amount is in it
    headline: dict[str, object]
    ttm: dict[str, object]
    pipeline_by_stage: list[dict[str, object]] = field(default_factory=list)
    revenue_by_month: list[tuple[dt.date, float]] = field(default_factory=list)
    client_revenue_ttm: list[tuple[str, float]] = field(default_factory=list)
    funnel_by_source: list[dict[str, object]] = field(default_factory=list)
    client_health: list[dict[str, object]] = field(default_factory=list)
    # Whether analytics.client_health explains each band (column health_reasons).
    has_health_reasons: bool = False

    @property
    def symbol(self) -> str:
        return CURRENCY_SYMBOLS.get(self.currency, f"{self.currency} ")


def number(value: object) -> float:
    """A figure from the database as a float (NULL is 0)."""
    if value is None:
        return 0.0
    if isinstance(value, Decimal | int | float):
        return float(value)
    raise TypeError(f"not a number: {value!r}")


def _days_quiet(row: dict[str, object]) -> float:
    """Days since the last activity; never-contacted clients count as the quietest."""
    days = row.get("days_since_last_activity")
    return 10.0**6 if days is None else number(days)


def load_report_data(conn: psycopg.Connection) -> ReportData:
    """Read the figures from schema analytics; a clear error when it has not been built yet."""
    exists = conn.execute("select to_regclass('analytics.pipeline_summary')").fetchone()
    if not exists or exists[0] is None:
        raise CrmError(
            "the analytics models are not built in this database yet: run `crm build` first "
            "(or `crm demo` for a database with example data)."
        )
    with conn.cursor(row_factory=dict_row) as cur:
        headline = cur.execute("select * from analytics.pipeline_summary").fetchone() or {}
        ttm = (
            cur.execute(
                "select * from analytics.revenue_concentration where period = 'TTM'"
            ).fetchone()
            or {}
        )
        health_columns = {
            str(row["column_name"])
            for row in cur.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'analytics' and table_name = 'client_health'"
            ).fetchall()
        }
        # The chart beside the open-pipeline card: its breakdown by stage, from the same rows.
        stages = cur.execute(
            """
            select stage, open_opportunity_count as deals, open_pipeline_amount as amount,
                   weighted_pipeline_amount as weighted
            from analytics.pipeline_by_stage
            """
        ).fetchall()
        months = cur.execute(
            """
            select revenue_month, sum(recognised_revenue) as revenue
            from analytics.fct_revenue_monthly
            where revenue_month > (date_trunc('month', %(as_of)s::date) - interval '24 months')
              and revenue_month <= (date_trunc('month', %(as_of)s::date) + interval '6 months')
            group by revenue_month
            order by revenue_month
            """,
            {"as_of": headline.get("as_of_date")},
        ).fetchall()
        clients = cur.execute(
            """
            select coalesce(accounts.account_name, 'Unknown') as account_name,
                   sum(revenue.recognised_revenue) as revenue
            from analytics.fct_revenue_monthly as revenue
            left join analytics.dim_accounts as accounts
                on accounts.account_id = revenue.account_id
            where revenue.revenue_month between %(start)s and %(end)s
            group by 1
            having sum(revenue.recognised_revenue) > 0
            order by revenue desc, account_name
            """,
            {"start": ttm.get("period_start_month"), "end": ttm.get("period_end_month")},
        ).fetchall()
        funnel = cur.execute(
            """
            select lead_source_group, sum(leads_created) as created,
                   sum(leads_contacted_or_later) as contacted,
                   sum(leads_qualified_or_later) as qualified,
                   sum(leads_converted) as converted
            from analytics.lead_funnel
            group by lead_source_group
            order by created desc, lead_source_group
            """
        ).fetchall()
        health = cur.execute("select * from analytics.client_health").fetchall()
    by_stage = {row["stage"]: row for row in stages}
    as_of = headline.get("as_of_date")
    if not isinstance(as_of, dt.date):
        raise CrmError("analytics.pipeline_summary is empty: run `crm build` again.")
    health.sort(
        key=lambda row: (
            BAND_ORDER.get(str(row.get("health_band")), 9),
            -_days_quiet(row),
            str(row.get("account_name")),
        )
    )
    return ReportData(
        as_of=as_of,
        currency=base_currency(headline, ttm),
        headline=dict(headline),
        ttm=dict(ttm),
        pipeline_by_stage=[
            by_stage.get(stage, {"stage": stage, "deals": 0, "amount": 0, "weighted": 0})
            for stage in OPEN_STAGES
        ],
        revenue_by_month=every_month(
            {row["revenue_month"]: number(row["revenue"]) for row in months}, as_of
        ),
        client_revenue_ttm=[(str(row["account_name"]), number(row["revenue"])) for row in clients],
        funnel_by_source=list(funnel),
        client_health=health,
        has_health_reasons="health_reasons" in health_columns,
    )


def base_currency(*rows: dict[str, object]) -> str:
    """The ISO code the models convert amounts to (column base_currency), else EUR: the models
    kept amounts in euros before they recorded a base currency."""
    for row in rows:
        code = row.get("base_currency")
        if isinstance(code, str) and code.strip():
            return code.strip().upper()
    return "EUR"


def every_month(revenue: dict[dt.date, float], as_of: dt.date) -> list[tuple[dt.date, float]]:
    """One entry per calendar month, a month without revenue as 0, so gaps show on the chart.

    The range covers at least the twelve months up to as_of_date's and stretches to the first
    and last month with revenue (the query reads at most 24 months back and 6 ahead).
    """
    as_of_month = as_of.replace(day=1)
    first = min([*revenue, _shift_month(as_of_month, -11)])
    last = max([*revenue, as_of_month])
    months, month = [], first
    while month <= last:
        months.append((month, revenue.get(month, 0.0)))
        month = _shift_month(month, 1)
    return months


def _shift_month(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)
