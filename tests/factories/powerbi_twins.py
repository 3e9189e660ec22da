"""Each headline Power BI measure, computed in SQL the way its DAX computes it.

The DAX of ``consulting_crm.powerbi.measures`` cannot run here (no Power BI engine), so each
measure that mirrors a mart column has a SQL twin over the same fact tables and flags, unrounded
as DAX computes it; :func:`mismatches` compares every twin with its mart on a built database.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg

from consulting_crm.powerbi.measures import MEASURES

AS_OF = "(select as_of_date from analytics.pipeline_summary)"
# The star's flags, which the DAX filters on as every mart does.
OPEN = "from analytics.fct_opportunities where is_open_as_of"
WON_TTM = "from analytics.fct_opportunities where is_won_ttm"
LOST_TTM = "from analytics.fct_opportunities where is_lost_ttm"
# Revenue TTM as the DAX filters it: revenue_month > EOMONTH(as_of, -12) and
# <= EOMONTH(as_of, -1) + 1; by client, as VALUES(dim_accounts[account_id]) iterates.
BY_CLIENT = f"""
    select accounts.account_id, coalesce(sum(revenue.recognised_revenue), 0) as rev
    from analytics.dim_accounts as accounts
    left join analytics.fct_revenue_monthly as revenue
        on revenue.account_id = accounts.account_id
        and revenue.revenue_month
            > (date_trunc('month', {AS_OF}) - interval '11 months')::date - 1
        and revenue.revenue_month <= date_trunc('month', {AS_OF})::date
    group by accounts.account_id
"""

# Each headline measure's DAX, in SQL over the facts (unrounded, as DAX computes it).
SQL_TWINS: dict[str, str] = {
    "Open Deals": f"select count(*) {OPEN}",
    "Open Pipeline": f"select coalesce(sum(amount_base), 0) {OPEN}",
    "Weighted Pipeline": f"select coalesce(sum(weighted_amount_base), 0) {OPEN}",
    "Won Deals TTM": f"select count(*) {WON_TTM}",
    "Lost Deals TTM": f"select count(*) {LOST_TTM}",
    "Won Amount TTM": f"select coalesce(sum(amount_base), 0) {WON_TTM}",
    "Lost Amount TTM": f"select coalesce(sum(amount_base), 0) {LOST_TTM}",
    "Win Rate TTM": f"""
        select won::numeric / nullif(won + lost, 0)
        from (select count(*) as won {WON_TTM}) as w, (select count(*) as lost {LOST_TTM}) as l
    """,
    "Win Rate by Amount TTM": f"""
        select won / nullif(won + lost, 0)
        from (select coalesce(sum(amount_base), 0) as won {WON_TTM}) as w,
            (select coalesce(sum(amount_base), 0) as lost {LOST_TTM}) as l
    """,
    "Average Won Deal TTM": f"select sum(amount_base) / nullif(count(amount_base), 0) {WON_TTM}",
    "Average Sales Cycle TTM": f"select avg(days_to_close) {WON_TTM}",
    "Pipeline Velocity": f"""
        select open_count * (won_amount / nullif(with_amount, 0))
            * (won::numeric / nullif(won + lost, 0)) / nullif(cycle, 0)
        from (select count(*) as open_count {OPEN}) as o,
            (select count(*) as won, count(amount_base) as with_amount,
                sum(amount_base) as won_amount, avg(days_to_close) as cycle
             {WON_TTM}) as w,
            (select count(*) as lost {LOST_TTM}) as l
    """,
    "Deals Without Start Date": f"select count(*) {WON_TTM} and days_to_close is null",
    "Deals Without Rate": """
        select count(*) from analytics.fct_opportunities
        where is_missing_rate and (is_open_as_of or is_won_ttm or is_lost_ttm)
    """,
    "Revenue TTM": f"select sum(rev) from ({BY_CLIENT}) as by_client",
    "Paying Clients TTM": f"select count(*) from ({BY_CLIENT}) as by_client where rev > 0",
    "Top Client Share TTM": f"""
        select max(rev) / nullif(sum(rev), 0) from ({BY_CLIENT}) as by_client
    """,
    "HHI TTM": f"""
        select sum(power(rev / total * 100, 2))
        from ({BY_CLIENT}) as by_client,
            (select nullif(sum(rev), 0) as total from ({BY_CLIENT}) as t) as totals
    """,
}


def _scale(conn: psycopg.Connection, table: str, column: str) -> int:
    row = conn.execute(
        "select numeric_scale from information_schema.columns "
        "where table_schema = 'analytics' and table_name = %s and column_name = %s",
        (table, column),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def twin_and_mart(conninfo: str, name: str) -> tuple[object, object]:
    """(the mart's figure, the SQL twin's figure rounded to the mart column's scale)."""
    item = next(measure for measure in MEASURES if measure.name == name)
    assert item.mirrors is not None
    table, column = item.mirrors.split(".")
    where = " where period = 'TTM'" if table == "revenue_concentration" else ""
    with psycopg.connect(conninfo) as conn:
        mart = conn.execute(f"select {column} from analytics.{table}{where}").fetchone()
        twin = conn.execute(SQL_TWINS[name]).fetchone()  # type: ignore[arg-type]
        places = _scale(conn, table, column)
    assert mart is not None and twin is not None
    computed = twin[0]
    if computed is not None:
        computed = Decimal(computed).quantize(Decimal(1).scaleb(-places))
    return mart[0], computed


def mismatches(conninfo: str) -> dict[str, tuple[object, object]]:
    """Every mirrored measure whose SQL twin differs from its mart: name -> (mart, twin)."""
    found = {}
    for item in MEASURES:
        if item.mirrors:
            mart, twin = twin_and_mart(conninfo, item.name)
            if mart != twin:
                found[item.name] = (mart, twin)
    return found
