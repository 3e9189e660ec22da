"""The Power BI project `crm demo` writes, checked against the demo's built database.

Power BI Desktop does not run here, so the model is checked piece by piece: its tables, columns
and relationships exist in schema analytics with a compatible type, and every headline measure,
computed in SQL over the fact tables the way its DAX does, equals the mart it mirrors.
(The JSON files are validated against Microsoft's schemas in .ci/run.)
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from consulting_crm.powerbi.measures import MEASURE_TABLE, MEASURES, RELATIONSHIPS
from consulting_crm.powerbi.model import tabular_type

pytestmark = pytest.mark.slow

AS_OF = "(select as_of_date from analytics.pipeline_summary)"
OPEN = f"from analytics.fct_opportunities where is_open and created_date <= {AS_OF}"
DEAL_TTM = f"close_date > {AS_OF} - 365 and close_date <= {AS_OF}"
WON_TTM = f"from analytics.fct_opportunities where is_won and {DEAL_TTM}"
LOST_TTM = f"from analytics.fct_opportunities where stage = 'lost' and {DEAL_TTM}"
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
    "Open Pipeline": f"select coalesce(sum(amount), 0) {OPEN}",
    "Weighted Pipeline": f"select coalesce(sum(weighted_amount), 0) {OPEN}",
    "Won Deals TTM": f"select count(*) {WON_TTM}",
    "Lost Deals TTM": f"select count(*) {LOST_TTM}",
    "Won Amount TTM": f"select coalesce(sum(amount), 0) {WON_TTM}",
    "Lost Amount TTM": f"select coalesce(sum(amount), 0) {LOST_TTM}",
    "Win Rate TTM": f"""
        select won::numeric / nullif(won + lost, 0)
        from (select count(*) as won {WON_TTM}) as w, (select count(*) as lost {LOST_TTM}) as l
    """,
    "Win Rate by Amount TTM": f"""
        select won / nullif(won + lost, 0)
        from (select coalesce(sum(amount), 0) as won {WON_TTM}) as w,
            (select coalesce(sum(amount), 0) as lost {LOST_TTM}) as l
    """,
    "Average Won Deal TTM": f"select sum(amount) / nullif(count(*), 0) {WON_TTM}",
    "Average Sales Cycle TTM": f"select avg(days_to_close) {WON_TTM}",
    "Pipeline Velocity": f"""
        select open_count * (won_amount / nullif(won, 0)) * (won::numeric / nullif(won + lost, 0))
            / nullif(cycle, 0)
        from (select count(*) as open_count {OPEN}) as o,
            (select count(*) as won, sum(amount) as won_amount, avg(days_to_close) as cycle
             {WON_TTM}) as w,
            (select count(*) as lost {LOST_TTM}) as l
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


@pytest.fixture(scope="module")
def model(demo_run: dict[str, Any]) -> dict[str, Any]:
    path = demo_run["out"] / "powerbi" / "ConsultingCRM.SemanticModel" / "model.bim"
    content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return content


def test_the_demo_writes_the_project_the_same_way_twice(demo_run: dict[str, Any]) -> None:
    first, second = demo_run["powerbi"]
    assert "ConsultingCRM.pbip" in first and "ConsultingCRM.SemanticModel/model.bim" in first
    assert first == second


def _analytics_types(conninfo: str) -> dict[tuple[str, str], str]:
    """(table, column) -> the column's type in the database, spelled as contracts spell it."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            """
            select table_name, column_name, data_type, numeric_precision, numeric_scale
            from information_schema.columns where table_schema = 'analytics'
            """
        ).fetchall()
    types = {}
    for table, column, data_type, precision, scale in rows:
        if data_type == "numeric" and precision is not None:
            data_type = f"numeric({precision},{scale})"
        elif data_type == "timestamp with time zone":
            data_type = "timestamptz"
        types[(table, column)] = data_type
    return types


def test_every_table_and_column_exists_in_analytics_with_a_compatible_type(
    demo_run: dict[str, Any], model: dict[str, Any]
) -> None:
    types = _analytics_types(demo_run["conninfo"])
    tables = [table for table in model["model"]["tables"] if table["name"] != MEASURE_TABLE]
    assert {table["name"] for table in tables} == {table for table, _ in types}
    for table in tables:
        columns = {column["name"]: column["dataType"] for column in table["columns"]}
        in_database = {
            column: kind for (name, column), kind in types.items() if name == table["name"]
        }
        assert set(columns) == set(in_database), table["name"]
        for column, kind in columns.items():
            assert tabular_type(in_database[column]) == kind, (table["name"], column)


def test_every_relationship_joins_existing_columns_of_one_type(demo_run: dict[str, Any]) -> None:
    types = _analytics_types(demo_run["conninfo"])
    for rel in RELATIONSHIPS:
        many = types[(rel.from_table, rel.from_column)]
        one = types[(rel.to_table, rel.to_column)]
        assert tabular_type(many) == tabular_type(one), rel
    # The one side is unique, as Power BI requires.
    with psycopg.connect(demo_run["conninfo"]) as conn:
        for rel in RELATIONSHIPS:
            row = conn.execute(
                f"select count(*) - count(distinct {rel.to_column}) from analytics.{rel.to_table}"
            ).fetchone()
            assert row == (0,), rel


def _scale(conninfo: str, table: str, column: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "select numeric_scale from information_schema.columns "
            "where table_schema = 'analytics' and table_name = %s and column_name = %s",
            (table, column),
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@pytest.mark.parametrize("name", [item.name for item in MEASURES if item.mirrors])
def test_each_headline_measure_equals_the_mart_it_mirrors(
    demo_run: dict[str, Any], name: str
) -> None:
    item = next(measure for measure in MEASURES if measure.name == name)
    assert item.mirrors is not None
    table, column = item.mirrors.split(".")
    where = " where period = 'TTM'" if table == "revenue_concentration" else ""
    with psycopg.connect(demo_run["conninfo"]) as conn:
        mart = conn.execute(f"select {column} from analytics.{table}{where}").fetchone()
        twin = conn.execute(SQL_TWINS[name]).fetchone()  # type: ignore[arg-type]
    assert mart is not None and twin is not None
    expected, computed = mart[0], twin[0]
    assert expected is not None and expected != 0, "a zero figure would prove nothing"
    places = _scale(demo_run["conninfo"], table, column)
    rounded = Decimal(computed).quantize(Decimal(1).scaleb(-places))
    assert rounded == expected


def test_every_headline_measure_has_a_sql_twin() -> None:
    assert set(SQL_TWINS) == {item.name for item in MEASURES if item.mirrors}
