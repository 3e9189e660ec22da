"""The DAX measures and relationships of the Power BI model, written once.

The generator (`crm powerbi`), docs/power-bi.md (through cog) and the tests all read these
tuples, so a measure cannot say one thing in the model and another in the guide.

Headline measures are computed **as of the build's date** (``pipeline_summary[as_of_date]``), the
way the marts compute them, so on an unfiltered page they show the marts' figures; a date slicer
narrows them further. ``mirrors`` names the mart column a measure must equal on an unfiltered
page; tests/consulting_crm/demo/test_powerbi_project.py checks that on the demo data.
"""

from __future__ import annotations

from dataclasses import dataclass

MEASURE_TABLE = "Measures"


@dataclass(frozen=True)
class Measure:
    name: str
    expression: str  # DAX, lines joined with newlines, four-space indents
    format: str  # "currency", "percent", "integer", "decimal" (see format_string)
    description: str
    folder: str
    mirrors: str | None = None  # "table.column" of the mart it equals, unfiltered


@dataclass(frozen=True)
class Relationship:
    from_table: str
    from_column: str
    to_table: str
    to_column: str
    one_to_one: bool = False
    active: bool = True


_AS_OF = "VAR as_of = MAX ( pipeline_summary[as_of_date] )"
# The revenue TTM window: the 12 whole calendar months ending with as_of_date's month.
_REVENUE_TTM = (
    "fct_revenue_monthly[revenue_month] > EOMONTH ( as_of, -12 ) "
    "&& fct_revenue_monthly[revenue_month] <= EOMONTH ( as_of, -1 ) + 1"
)


def _lines(*lines: str) -> str:
    return "\n".join(lines)


MEASURES: tuple[Measure, ...] = (
    Measure(
        "Open Deals",
        _lines(
            "CALCULATE (",
            "    COUNTROWS ( fct_opportunities ),",
            "    fct_opportunities[is_open_as_of] = TRUE ()",
            ") + 0",
        ),
        "integer",
        "Deals open on the as-of date (is_open_as_of: open, and not opened after that date).",
        "Pipeline",
        "pipeline_summary.open_opportunity_count",
    ),
    Measure(
        "Open Pipeline",
        _lines(
            "CALCULATE (",
            "    SUM ( fct_opportunities[amount_base] ),",
            "    fct_opportunities[is_open_as_of] = TRUE ()",
            ") + 0",
        ),
        "currency",
        "Amount of the open deals in the base currency (a deal without an amount or rate adds 0).",
        "Pipeline",
        "pipeline_summary.open_pipeline_amount",
    ),
    Measure(
        "Weighted Pipeline",
        _lines(
            "CALCULATE (",
            "    SUM ( fct_opportunities[weighted_amount_base] ),",
            "    fct_opportunities[is_open_as_of] = TRUE ()",
            ") + 0",
        ),
        "currency",
        "Sum of base-currency amount x stage probability over the open deals.",
        "Pipeline",
        "pipeline_summary.weighted_pipeline_amount",
    ),
    Measure(
        "Won Deals TTM",
        _lines(
            "CALCULATE (",
            "    COUNTROWS ( fct_opportunities ),",
            "    fct_opportunities[is_won_ttm] = TRUE ()",
            ") + 0",
        ),
        "integer",
        "Deals won with a close date in the 365 days ending on the as-of date.",
        "Pipeline",
        "pipeline_summary.won_count_ttm",
    ),
    Measure(
        "Lost Deals TTM",
        _lines(
            "CALCULATE (",
            "    COUNTROWS ( fct_opportunities ),",
            "    fct_opportunities[is_lost_ttm] = TRUE ()",
            ") + 0",
        ),
        "integer",
        "Deals lost with a close date in the 365 days ending on the as-of date.",
        "Pipeline",
        "pipeline_summary.lost_count_ttm",
    ),
    Measure(
        "Won Amount TTM",
        _lines(
            "CALCULATE (",
            "    SUM ( fct_opportunities[amount_base] ),",
            "    fct_opportunities[is_won_ttm] = TRUE ()",
            ") + 0",
        ),
        "currency",
        "Total amount of the deals won in the deal TTM window.",
        "Pipeline",
        "pipeline_summary.won_amount_ttm",
    ),
    Measure(
        "Lost Amount TTM",
        _lines(
            "CALCULATE (",
            "    SUM ( fct_opportunities[amount_base] ),",
            "    fct_opportunities[is_lost_ttm] = TRUE ()",
            ") + 0",
        ),
        "currency",
        "Total amount of the deals lost in the deal TTM window.",
        "Pipeline",
        "pipeline_summary.lost_amount_ttm",
    ),
    Measure(
        "Win Rate TTM",
        "DIVIDE ( [Won Deals TTM], [Won Deals TTM] + [Lost Deals TTM] )",
        "percent",
        "Won / (won + lost) by number of deals in the deal TTM window; blank when none closed.",
        "Pipeline",
        "pipeline_summary.win_rate_count_ttm",
    ),
    Measure(
        "Win Rate by Amount TTM",
        "DIVIDE ( [Won Amount TTM], [Won Amount TTM] + [Lost Amount TTM] )",
        "percent",
        "Won amount / (won + lost amount) in the deal TTM window.",
        "Pipeline",
        "pipeline_summary.win_rate_amount_ttm",
    ),
    Measure(
        "Average Won Deal TTM",
        _lines(
            "DIVIDE (",
            "    [Won Amount TTM],",
            "    CALCULATE (",
            "        COUNTROWS ( fct_opportunities ),",
            "        fct_opportunities[is_won_ttm] = TRUE (),",
            "        NOT ISBLANK ( fct_opportunities[amount_base] )",
            "    )",
            ")",
        ),
        "currency",
        "Won amount / won deals with a base-currency amount, in the deal TTM window.",
        "Pipeline",
        "pipeline_summary.avg_won_deal_amount_ttm",
    ),
    Measure(
        "Average Sales Cycle TTM",
        _lines(
            "CALCULATE (",
            "    AVERAGE ( fct_opportunities[days_to_close] ),",
            "    fct_opportunities[is_won_ttm] = TRUE ()",
            ")",
        ),
        "decimal",
        "Average days from the business start (opened date) to close over the deals won in the "
        "deal TTM window; deals whose start is unknown are left out.",
        "Pipeline",
        "pipeline_summary.avg_sales_cycle_days_ttm",
    ),
    Measure(
        "Deals Without Start Date",
        _lines(
            "COUNTROWS (",
            "    FILTER (",
            "        fct_opportunities,",
            "        fct_opportunities[is_won_ttm] && ISBLANK ( fct_opportunities[days_to_close] )",
            "    )",
            ") + 0",
        ),
        "integer",
        "Deals won in the deal TTM window whose start is unknown: left out of the sales cycle.",
        "Pipeline",
        "pipeline_summary.deals_without_start_date",
    ),
    Measure(
        "Deals Without Rate",
        _lines(
            "COUNTROWS (",
            "    FILTER (",
            "        fct_opportunities,",
            "        fct_opportunities[is_missing_rate]",
            "            && ( fct_opportunities[is_open_as_of]",
            "                || fct_opportunities[is_won_ttm]",
            "                || fct_opportunities[is_lost_ttm] )",
            "    )",
            ") + 0",
        ),
        "integer",
        "Open or recently closed deals in a currency without an exchange rate: left out of every "
        "amount.",
        "Pipeline",
        "pipeline_summary.deals_without_rate",
    ),
    Measure(
        "Pipeline Velocity",
        "DIVIDE ( [Open Deals] * [Average Won Deal TTM] * [Win Rate TTM], "
        "[Average Sales Cycle TTM] )",
        "currency",
        "Open deals x average won deal x win rate / average cycle days: won revenue per day.",
        "Pipeline",
        "pipeline_summary.pipeline_velocity_per_day",
    ),
    Measure(
        "Recognised Revenue",
        "SUM ( fct_revenue_monthly[recognised_revenue] ) + 0",
        "currency",
        "Recognised revenue in the months in context (no as-of cut).",
        "Revenue",
    ),
    Measure(
        "Revenue TTM",
        _lines(
            "CALCULATE (",
            "    SUM ( fct_revenue_monthly[recognised_revenue] ),",
            "    FILTER ( ALL ( fct_revenue_monthly[revenue_month] ), " + _REVENUE_TTM + " )",
            ") + 0",
        ),
        "currency",
        "Recognised revenue in the 12 whole months ending with the as-of date's month.",
        "Revenue",
        "revenue_concentration.total_revenue",
    ),
    Measure(
        "Paying Clients TTM",
        _lines(
            "COUNTROWS (",
            "    FILTER ( VALUES ( dim_accounts[account_id] ), [Revenue TTM] > 0 )",
            ") + 0",
        ),
        "integer",
        "Accounts with recognised revenue in the revenue TTM window.",
        "Revenue",
        "revenue_concentration.client_count",
    ),
    Measure(
        "Top Client Share TTM",
        _lines(
            'VAR by_client = ADDCOLUMNS ( VALUES ( dim_accounts[account_id] ), "rev", '
            "[Revenue TTM] )",
            "RETURN DIVIDE ( MAXX ( by_client, [rev] ), SUMX ( by_client, [rev] ) )",
        ),
        "percent",
        "Share of the revenue TTM from the biggest client.",
        "Revenue",
        "revenue_concentration.top1_share",
    ),
    Measure(
        "HHI TTM",
        _lines(
            'VAR by_client = ADDCOLUMNS ( VALUES ( dim_accounts[account_id] ), "rev", '
            "[Revenue TTM] )",
            "VAR total = SUMX ( by_client, [rev] )",
            "RETURN",
            "    IF (",
            "        total > 0,",
            "        SUMX ( by_client, POWER ( DIVIDE ( [rev], total ) * 100, 2 ) )",
            "    )",
        ),
        "decimal",
        "Herfindahl-Hirschman index of the revenue TTM: client shares in percent, squared, added.",
        "Revenue",
        "revenue_concentration.hhi",
    ),
    Measure(
        "Activities 90 Days",
        _lines(
            _AS_OF,
            "RETURN",
            "    CALCULATE (",
            "        COUNTROWS ( fct_activities ),",
            "        FILTER (",
            "            ALL ( fct_activities[occurred_date] ),",
            "            fct_activities[occurred_date] > as_of - 90",
            "                && fct_activities[occurred_date] <= as_of",
            "        )",
            "    ) + 0",
        ),
        "integer",
        "Activities in the 90 days ending on the as-of date.",
        "Clients",
    ),
    Measure(
        "Lead Conversion Rate",
        _lines(
            "DIVIDE (",
            "    CALCULATE ( COUNTROWS ( fct_leads ), fct_leads[is_converted] = TRUE () ),",
            "    COUNTROWS ( fct_leads )",
            ")",
        ),
        "percent",
        "Converted leads / leads created, over the leads in context.",
        "Leads",
    ),
)

RELATIONSHIPS: tuple[Relationship, ...] = (
    Relationship("fct_opportunities", "account_id", "dim_accounts", "account_id"),
    Relationship("fct_opportunities", "close_date", "dim_date", "date_day"),
    Relationship("fct_opportunities", "created_date", "dim_date", "date_day", active=False),
    Relationship("fct_revenue_monthly", "account_id", "dim_accounts", "account_id"),
    Relationship("fct_revenue_monthly", "revenue_month", "dim_date", "date_day"),
    Relationship("fct_activities", "account_id", "dim_accounts", "account_id"),
    Relationship("fct_activities", "contact_id", "dim_contacts", "contact_id"),
    Relationship("fct_activities", "occurred_date", "dim_date", "date_day"),
    Relationship("fct_activity_relations", "activity_id", "fct_activities", "activity_id"),
    Relationship(
        "fct_activity_relations", "account_id", "dim_accounts", "account_id", active=False
    ),
    Relationship(
        "fct_activity_relations", "contact_id", "dim_contacts", "contact_id", active=False
    ),
    Relationship("fct_leads", "created_date", "dim_date", "date_day"),
    Relationship("dim_contacts", "account_id", "dim_accounts", "account_id"),
    Relationship("client_health", "account_id", "dim_accounts", "account_id", one_to_one=True),
)

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}


def format_string(kind: str, currency: str = "EUR") -> str:
    """The Power BI format string of a measure's ``format`` kind."""
    if kind == "currency":
        symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
        quoted = symbol.replace('"', "")
        return f'"{quoted}"#,0.00;-"{quoted}"#,0.00;"{quoted}"#,0.00'
    formats = {"percent": "0.0%", "integer": "#,0", "decimal": "#,0.00"}
    return formats[kind]


def measure(name: str) -> Measure:
    """The measure called ``name`` (KeyError naming it otherwise)."""
    for candidate in MEASURES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def dax_listing() -> str:
    """The measures as a DAX listing for docs/power-bi.md (``Name =`` then the indented body)."""
    blocks = []
    for item in MEASURES:
        body = "\n".join("    " + line for line in item.expression.splitlines())
        blocks.append(f"// {item.description}\n{item.name} =\n{body}")
    return "\n\n".join(blocks)


def relationship_table() -> str:
    """The relationships as the Markdown table of docs/power-bi.md."""
    rows = ["| from (many) | to (one) | cardinality |", "|---|---|---|"]
    for rel in RELATIONSHIPS:
        kind = "one-to-one" if rel.one_to_one else "many-to-one"
        if not rel.active:
            kind += ", inactive (use with USERELATIONSHIP)"
        rows.append(
            f"| `{rel.from_table}.{rel.from_column}` | `{rel.to_table}.{rel.to_column}` | {kind} |"
        )
    return "\n".join(rows)
