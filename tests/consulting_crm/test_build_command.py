"""`crm build` end to end: an empty database, exit codes, and what the Power BI role may read."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from consulting_crm.cli import main
from consulting_crm.dbt_runner import (
    BuildResult,
    run_build,
    run_source_freshness,
    tally_run_results,
)
from ingest.errors import ExitCode
from tests.factories.builds import AS_OF_DATE, database_environment

ANALYTICS_MODELS = {
    "client_health",
    "dim_accounts",
    "dim_contacts",
    "dim_date",
    "fct_activities",
    "fct_activity_relations",
    "fct_leads",
    "fct_opportunities",
    "fct_revenue_monthly",
    "fct_stage_history",
    "lead_funnel",
    "pipeline_by_month",
    "pipeline_by_stage",
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


def test_fct_activities_guards_every_row_it_holds(empty_built: str) -> None:
    # Its value rules are constraints, not nightly data tests: PostgreSQL rejects a row that
    # breaks one on every write, the incremental ones included.
    good = {
        "activity_id": "00000000-0000-0000-0000-0000000000a1",
        "activity_type": "email",
        "direction": "inbound",
        "activity_status": "completed",
        "parent_type": "account",
        "account_id": "00000000-0000-0000-0000-000000000000",
        "contact_id": "00000000-0000-0000-0000-000000000000",
        "occurred_at": "2025-06-01 10:00+00",
        "occurred_date": "2025-06-01",
        "updated_at": "2025-06-01 10:00+00",
    }
    broken = [
        ("activity_type", "fax", errors.CheckViolation),
        ("direction", "sideways", errors.CheckViolation),
        ("activity_status", "maybe", errors.CheckViolation),
        ("parent_type", "contact", errors.CheckViolation),
        ("activity_type", None, errors.NotNullViolation),
        ("activity_status", None, errors.NotNullViolation),
        ("parent_type", None, errors.NotNullViolation),
        ("account_id", None, errors.NotNullViolation),
        ("contact_id", None, errors.NotNullViolation),
        ("occurred_date", None, errors.NotNullViolation),
        ("activity_id", None, errors.NotNullViolation),
    ]
    with psycopg.connect(empty_built) as conn:
        insert = sql.SQL("insert into analytics.fct_activities ({}) values ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, good)),
            sql.SQL(", ").join(sql.Placeholder() * len(good)),
        )
        for column, value, error in broken:
            with conn.transaction(force_rollback=True), pytest.raises(error):
                conn.execute(insert, list({**good, column: value}.values()))
        with conn.transaction(force_rollback=True):
            conn.execute(insert, list(good.values()))
            with pytest.raises(errors.UniqueViolation):
                conn.execute(insert, list(good.values()))


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
    # dbt colours its error lines on a terminal; captured (not a terminal) they come out plain.
    assert "\x1b" not in out


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


# Two clients billing in two currencies and no exchange rate: a real build on it passes with
# exactly one warning (the USD deal has no rate), which the tally, dbt's own summary line and our
# last line must all show.
TWO_CURRENCIES = """
insert into public.accounts (account_id, name, domain) values
    ('00000000-0000-0000-0000-0000000000e1', 'Anna Advisory', 'anna.example'),
    ('00000000-0000-0000-0000-0000000000e2', 'Bram Bouw', 'bram.example');
insert into public.projects (account_id, name, stage, amount, currency_code, close_date) values
    ('00000000-0000-0000-0000-0000000000e1', 'Anna: strategy', 'won', 9000, 'EUR', '2025-05-01'),
    ('00000000-0000-0000-0000-0000000000e2', 'Bram: sourcing', 'proposal', 4000, 'USD', null);
insert into public.activities (activity_type, occurred_at, account_id, subject) values
    ('call', '2025-06-02 10:00+00', '00000000-0000-0000-0000-0000000000e1', 'Anna: review');
"""

DONE_LINE = re.compile(
    r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+) NO-OP=(\d+) TOTAL=(\d+)"
)


@pytest.fixture(scope="module")
def quiet_build(
    make_database: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, BuildResult, list[str]]:
    """The two-currency dataset built with quiet=True and a target_path of its own."""
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(TWO_CURRENCIES)  # type: ignore[arg-type]  # a trusted literal
    target = tmp_path_factory.mktemp("quiet") / "artifacts"
    echoed: list[str] = []
    result = run_build(
        ["--vars", f"{{as_of_date: '{AS_OF_DATE}'}}"],
        environ=database_environment(conninfo),
        echo=echoed.append,
        target_path=target,
        quiet=True,
    )
    assert result.exit_code == ExitCode.OK, result.output
    return conninfo, target, result, echoed


def test_quiet_build_captures_dbt_output_without_escape_codes(
    make_database: Callable[..., str],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    conninfo = make_database()
    echoed: list[str] = []
    result = run_build(
        ["--select", "stage_probabilities"],
        environ=database_environment(conninfo),
        echo=echoed.append,
        target_path=tmp_path / "artifacts",
        quiet=True,
    )
    assert result.exit_code == ExitCode.OK, result.output
    # Nothing of dbt's reached our stdout or stderr: it is all in result.output.
    assert capfd.readouterr() == ("", "")
    assert "OK loaded seed file reference.stage_probabilities" in result.output
    assert DONE_LINE.search(result.output)
    assert "\x1b" not in result.output
    assert echoed[0].endswith("dbt build --select stage_probabilities")
    assert echoed[-1].startswith("Build passed in ")


def test_build_names_each_warning_with_its_rows_and_meaning(
    quiet_build: tuple[str, Path, BuildResult, list[str]],
) -> None:
    _, _, _, echoed = quiet_build
    assert re.fullmatch(
        r"Build passed with 1 warning in [0-9.]+ s: schema analytics is up to date; "
        r"assert_every_deal_has_a_rate \(1 row\): Warns, per currency, when deals have an "
        r"amount that no exchange rate converts into the base currency: those deals are left "
        r"out of the headline figures and counted\.",
        echoed[-1],
    ), echoed[-1]


def test_target_path_receives_artifacts_and_logs(
    quiet_build: tuple[str, Path, BuildResult, list[str]],
) -> None:
    _, target, result, _ = quiet_build
    assert result.run_results == target / "run_results.json"
    assert (target / "manifest.json").is_file()
    assert (target / "compiled" / "consulting_crm").is_dir()
    log = (target / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "fct_activities" in log
    assert "\x1b" not in log
    # The artifacts are this build's: run_results.json lists the as_of_date it ran with.
    artifact = json.loads(result.run_results.read_text(encoding="utf-8"))
    assert artifact["args"]["vars"] == {"as_of_date": AS_OF_DATE}


def test_tally_matches_dbt_summary_on_a_real_build(
    quiet_build: tuple[str, Path, BuildResult, list[str]],
) -> None:
    _, _, result, _ = quiet_build
    assert result.run_results is not None
    tally = tally_run_results(result.run_results)
    done = DONE_LINE.search(result.output)
    assert done is not None, result.output
    passed, warned, errored, skipped, no_op, total = map(int, done.groups())
    assert tally == {
        "success": passed,
        "warn": warned,
        "error": 0,
        "fail": 0,
        "skipped": skipped,
        "no_op": no_op,
    }
    assert (errored, skipped) == (0, 0)
    assert no_op == 3  # the three exposures: a build visits them without running anything
    assert sum(tally.values()) == total
    # The one warning is the second currency without a rate; every model, seed and snapshot ran.
    assert warned == 1
    artifact = json.loads(result.run_results.read_text(encoding="utf-8"))
    statuses = {entry["unique_id"]: entry["status"] for entry in artifact["results"]}
    assert [node for node, status in statuses.items() if status == "warn"] == [
        "test.consulting_crm.assert_every_deal_has_a_rate"
    ]
    built = {node.split(".")[0] for node in statuses}
    assert built == {"model", "seed", "snapshot", "test", "unit_test", "exposure", "operation"}
    assert sum(node.startswith("model.") for node in statuses) >= len(ANALYTICS_MODELS)


@pytest.mark.parametrize(
    ("extra_args", "failing_node", "failing_status"),
    [
        # A threshold var that is not a number breaks client_health's SQL: its unit test (run
        # first) errors, so the model and the tests on it are skipped.
        (
            ["--select", "client_health+", "--vars", "{health_dormant_days: no_such_column}"],
            "unit_test.consulting_crm.client_health.test_client_health_bands",
            "error",
        ),
        # With test warnings promoted to errors, the data's second currency fails its test.
        (
            [
                "--select",
                "assert_every_deal_has_a_rate",
                "--warn-error-options",
                "{error: [LogTestResult]}",
            ],
            "test.consulting_crm.assert_every_deal_has_a_rate",
            "fail",
        ),
    ],
    ids=["broken-model", "data-test-fails"],
)
def test_failing_build_is_build_failed_and_tallied(
    quiet_build: tuple[str, Path, BuildResult, list[str]],
    tmp_path: Path,
    extra_args: list[str],
    failing_node: str,
    failing_status: str,
) -> None:
    conninfo = quiet_build[0]
    echoed: list[str] = []
    result = run_build(
        extra_args,
        environ=database_environment(conninfo),
        echo=echoed.append,
        target_path=tmp_path / "artifacts",
        quiet=True,
    )
    assert (result.exit_code, result.dbt_exit_code) == (ExitCode.BUILD_FAILED, 1)
    assert result.run_results == tmp_path / "artifacts" / "run_results.json"
    artifact = json.loads(result.run_results.read_text(encoding="utf-8"))
    failed = [e["unique_id"] for e in artifact["results"] if e["status"] in ("error", "fail")]
    assert failed == [failing_node]
    tally = tally_run_results(result.run_results)
    assert tally[failing_status] == 1
    assert tally["error"] + tally["fail"] == 1
    if failing_status == "error":
        skipped = {e["unique_id"] for e in artifact["results"] if e["status"] == "skipped"}
        assert "model.consulting_crm.client_health" in skipped
        assert tally["skipped"] == len(skipped) > 1  # the model and the tests on it
    assert echoed[-1].startswith("Build failed after ")
    assert f"failing: {failing_node}." in echoed[-1]


def test_compile_error_leaves_no_run_results_and_quotes_dbt(
    quiet_build: tuple[str, Path, BuildResult, list[str]], tmp_path: Path
) -> None:
    echoed: list[str] = []
    result = run_build(
        ["--select", "pipeline_summary", "--vars", "{as_of_date: 'last tuesday'}"],
        environ=database_environment(quiet_build[0]),
        echo=echoed.append,
        target_path=tmp_path / "artifacts",
        quiet=True,
    )
    assert result.exit_code == ExitCode.BUILD_FAILED
    assert result.run_results is None
    assert "got 'last tuesday'" in result.output
    assert "dbt's last words: " in echoed[-1]


FRESHNESS_SOURCES = 6  # five operational tables and ingest.import_batches


@pytest.fixture(scope="module")
def freshness_database(make_database: Callable[..., str]) -> str:
    """One row in every source table, all loaded just now."""
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(TWO_CURRENCIES)  # type: ignore[arg-type]  # a trusted literal
        conn.execute(
            "insert into public.contacts (account_id, first_name, last_name, email) values "
            "('00000000-0000-0000-0000-0000000000e1', 'Anna', 'A', 'anna@anna.example')"
        )
        conn.execute("insert into public.leads (company) values ('Cora Consulting')")
        conn.execute(
            "insert into ingest.import_batches (file_name, file_sha256) "
            "values ('leads.csv', repeat('a', 64))"
        )
    return conninfo


@pytest.mark.parametrize(
    ("imports_age_days", "exit_code", "expected"),
    [
        (0, ExitCode.OK, {"success": 6, "warn": 0, "error": 0}),
        (10, ExitCode.OK, {"success": 5, "warn": 1, "error": 0}),  # past warn_after (7 days)
        (35, ExitCode.BUILD_FAILED, {"success": 5, "warn": 0, "error": 1}),  # past error_after
    ],
)
def test_source_freshness(
    freshness_database: str,
    tmp_path: Path,
    imports_age_days: int,
    exit_code: ExitCode,
    expected: dict[str, int],
) -> None:
    """The imports' freshness decides: the operational tables were all loaded just now."""
    with psycopg.connect(freshness_database) as conn:
        conn.execute(
            "update ingest.import_batches set started_at = now() - make_interval(days => %s)",
            [imports_age_days],
        )
    echoed: list[str] = []
    result = run_source_freshness(
        environ=database_environment(freshness_database),
        echo=echoed.append,
        target_path=tmp_path / "artifacts",
        quiet=True,
    )
    assert result.exit_code == exit_code, result.output
    assert result.run_results == tmp_path / "artifacts" / "sources.json"
    tally = tally_run_results(result.run_results)
    assert {key: tally[key] for key in expected} == expected
    assert sum(tally.values()) == FRESHNESS_SOURCES
    if exit_code == ExitCode.OK:
        assert echoed[-1].startswith("Sources are fresh enough")
    else:
        assert "failing: source.consulting_crm.ingest.import_batches." in echoed[-1]


@pytest.mark.parametrize("terminal", [True, False], ids=["tty", "pipe"])
def test_colours_only_on_a_terminal(
    quiet_build: tuple[str, Path, BuildResult, list[str]], tmp_path: Path, terminal: bool
) -> None:
    """dbt's streamed output is coloured on a terminal and plain in a pipe."""
    env = database_environment(quiet_build[0])
    env.pop("NO_COLOR", None)
    env.pop("DBT_USE_COLORS", None)
    env["TERM"] = "xterm-256color"
    script = (
        "import sys; from consulting_crm.dbt_runner import run_build; "
        "sys.exit(int(run_build(['--select', 'dim_date'], target_path=__import__('pathlib')"
        f".Path({str(tmp_path / 'artifacts')!r})).exit_code))"
    )
    command = [sys.executable, "-c", script]
    root = Path(__file__).resolve().parents[2]
    if terminal:
        primary, secondary = pty.openpty()
        process = subprocess.Popen(command, cwd=root, env=env, stdout=secondary, stderr=secondary)
        os.close(secondary)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closes when the last writer exits
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(primary)
        output = b"".join(chunks).decode("utf-8", "replace")
        assert process.wait() == 0, output
    else:
        completed = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        output = completed.stdout + completed.stderr
    assert "OK created sql table model analytics.dim_date" in re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert ("\x1b[" in output) is terminal


def test_build_shows_a_line_per_phase_and_keeps_dbt_output_for_verbose(
    make_database: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, make_database())
    seeds = ["--select", "stage_probabilities lead_source_groups"]
    assert main(["build", *artifact_args(tmp_path / "a"), *seeds]) == ExitCode.OK
    out = capsys.readouterr().out
    assert re.search(r"^  seeds +2  all ok$", out, flags=re.MULTILINE), out
    assert "START seed file" not in out  # dbt's line per node stays in its log file
    assert len(out.strip().splitlines()) <= 4, out
    assert "START seed file reference.stage_probabilities" in (
        tmp_path / "a" / "logs" / "dbt.log"
    ).read_text(encoding="utf-8")
    assert main(["build", "--verbose", *artifact_args(tmp_path / "b"), *seeds]) == ExitCode.OK


def test_build_progress_counts_each_phase_and_names_every_warning(
    make_database: Callable[..., str], tmp_path: Path
) -> None:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(TWO_CURRENCIES)  # type: ignore[arg-type]  # a trusted literal
    seen: list[int] = []
    result = run_build(
        [
            *("--select", "+assert_every_deal_has_a_rate", "--indirect-selection", "cautious"),
            *("--vars", f"{{as_of_date: '{AS_OF_DATE}'}}"),
        ],
        environ=database_environment(conninfo),
        echo=lambda line: None,
        target_path=tmp_path / "artifacts",
        progress=lambda progress: seen.append(progress.finished),
    )
    assert result.exit_code == ExitCode.OK, result.output
    progress = result.progress
    assert progress is not None
    assert seen == sorted(seen) and seen[-1] == progress.finished == progress.total
    assert progress.outcomes["tests"]["warn"] == 1
    assert progress.done["models"] >= 2 and progress.done["seeds"] >= 1
    assert any("assert_every_deal_has_a_rate" in problem for problem in progress.problems)
    assert DONE_LINE.search(result.output)  # the captured text reads like dbt's own output
