"""`crm build` end to end: an empty database, exit codes, and what the Power BI role may read."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from ingest.build import BuildResult
from ingest.cli import main
from ingest.errors import ExitCode

ANALYTICS_MODELS = {
    "client_health",
    "dim_accounts",
    "dim_contacts",
    "dim_date",
    "fct_activities",
    "fct_leads",
    "fct_opportunities",
    "fct_revenue_monthly",
    "fct_stage_history",
    "lead_funnel",
    "pipeline_by_month",
    "pipeline_summary",
    "revenue_concentration",
}


def point_at(monkeypatch: pytest.MonkeyPatch, conninfo: str) -> None:
    for name in ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", conninfo)


def artifact_args(work: Path) -> list[str]:
    return ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]


@pytest.fixture(scope="module")
def empty_built(
    make_database: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A database with the schema and no rows, built through the `crm build` command."""
    conninfo = make_database()
    work = tmp_path_factory.mktemp("dbt-empty")
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, conninfo)
        code = main(["build", *artifact_args(work), "--vars", "{as_of_date: '2025-06-30'}"])
    assert code == ExitCode.OK
    return conninfo


def test_build_succeeds_on_an_empty_database(empty_built: str) -> None:
    with psycopg.connect(empty_built) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'analytics' and table_type = 'BASE TABLE'"
            )
        }
        summary = conn.execute(
            "select open_opportunity_count, open_pipeline_amount, won_count_ttm, "
            "win_rate_count_ttm, pipeline_velocity_per_day from analytics.pipeline_summary"
        ).fetchall()
        concentration = conn.execute(
            "select period, total_revenue, client_count, hhi from analytics.revenue_concentration"
        ).fetchall()
        unknown = conn.execute("select account_name from analytics.dim_accounts").fetchall()
    # Schema analytics holds the Power BI models, as tables, and nothing else.
    assert tables == ANALYTICS_MODELS
    assert summary == [(0, Decimal("0.00"), 0, None, None)]
    assert concentration == [("TTM", Decimal("0.00"), 0, None)]
    assert unknown == [("Unknown account",)]


def test_powerbi_reader_reads_analytics_and_nothing_else(empty_built: str) -> None:
    with psycopg.connect(empty_built, autocommit=True) as conn:
        conn.execute("set role powerbi_reader")
        for model in sorted(ANALYTICS_MODELS):
            conn.execute(
                sql.SQL("select * from analytics.{} limit 1").format(sql.Identifier(model))
            )
        forbidden = [
            "public.accounts",
            "public.contacts",
            "public.leads",
            "public.projects",
            "public.activities",
            "ingest.import_batches",
            "ingest.rejected_rows",
            "staging.stg_crm__accounts",
            "intermediate.int_projects_revenue_spread",
            "reference.stage_probabilities",
            "snapshots.snap_crm__project_stage",
        ]
        for relation in forbidden:
            schema, name = relation.split(".")
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(
                    sql.SQL("select * from {}.{} limit 1").format(
                        sql.Identifier(schema), sql.Identifier(name)
                    )
                )
        # Read-only: the grant is SELECT and nothing more.
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("delete from analytics.dim_accounts")


def test_grants_survive_a_rebuild(empty_built: str, dbt_build: Callable[..., BuildResult]) -> None:
    assert dbt_build(empty_built, "--select", "dim_accounts").exit_code == ExitCode.OK
    with psycopg.connect(empty_built, autocommit=True) as conn:
        conn.execute("set role powerbi_reader")
        assert conn.execute("select count(*) from analytics.dim_accounts").fetchone() == (1,)


def test_failed_build_exits_with_build_failed(
    make_database: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, make_database())
    code = main(
        [
            "build",
            *artifact_args(tmp_path),
            "--select",
            "pipeline_summary",
            "--vars",
            "{as_of_date: 'last tuesday'}",
        ]
    )
    assert code == ExitCode.BUILD_FAILED == 6
    out = capfd.readouterr().out
    assert "var as_of_date must be an ISO date such as 2025-06-30, got 'last tuesday'" in out
    assert "Build failed" in out


def test_build_without_the_crm_schema_says_what_to_do(
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, make_database(with_schema=False))
    assert main(["build"]) == ExitCode.USER_ERROR
    err = capsys.readouterr().err
    assert "has no CRM schema yet" in err
    assert "Run `crm db init` first" in err


def test_build_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--help"]) == 0
    out = capsys.readouterr().out
    assert "dbt build" in out
    assert "Extra arguments go to dbt" in out
