"""A Power BI refresh holding a table must not stall the build forever: bounded waits, retries,
and a failure that names the blocking session (real sessions on a real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm.cli import main
from consulting_crm.dbt_runner import run_build
from ingest.errors import ExitCode
from tests.factories.builds import AS_OF_DATE, database_environment

pytestmark = pytest.mark.slow


def _setup(
    make_database: Callable[..., str], tmp_path: Path, retries: int
) -> tuple[str, dict[str, str], list[str]]:
    conninfo = make_database()
    config = tmp_path / "config.toml"
    config.write_text(f'[build]\nlock_timeout = "300ms"\nlock_retries = {retries}\n')
    env = database_environment(conninfo)
    env["CRM_CONFIG"] = str(config)
    args = [
        "--target-path", str(tmp_path / "target"),
        "--log-path", str(tmp_path / "logs"),
        "--vars", f"{{as_of_date: '{AS_OF_DATE}'}}",
        "--resource-type", "model",
        "--select", "dim_date",
    ]  # fmt: skip
    parents = [*args[:-1], "+dim_date"]  # the staging views it reads, once
    first = run_build(parents, environ=env, quiet=True, echo=lambda _: None)
    assert first.exit_code == ExitCode.OK, first.output
    return conninfo, env, args


def _hold_dim_date(conninfo: str) -> psycopg.Connection:
    """A session like a Power BI refresh: a SELECT in a transaction it has not ended yet."""
    blocker = psycopg.connect(conninfo, application_name="PowerBI refresh (test)")
    blocker.execute("select count(*) from analytics.dim_date")
    return blocker


def test_a_build_blocked_by_a_reader_fails_naming_the_session(
    make_database: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conninfo, env, args = _setup(make_database, tmp_path, retries=1)
    lines: list[str] = []
    with _hold_dim_date(conninfo) as blocker:
        pid = blocker.info.backend_pid
        # Over TCP (a server named by DATABASE_URL) the message names the address, else the socket.
        with psycopg.connect(conninfo) as probe:  # not the blocker: its last query is named
            row = probe.execute(
                "select client_addr::text from pg_stat_activity where pid = %s", (pid,)
            ).fetchone()
        client = (row[0] if row else None) or "local socket"
        result = run_build(args, environ=env, quiet=True, echo=lines.append, retry_pause=0)
        assert result.exit_code == ExitCode.BUILD_FAILED == 6
        retried, failure = lines[-2], lines[-1]
        assert retried.startswith("The build waited 300ms for a table lock, blocked by pid ")
        assert "attempt 2 of 2" in retried
        assert failure.startswith("Build failed after 2 attempt(s): it waited 300ms")
        for part in (
            f"pid {pid} (user ",
            "application PowerBI refresh (test)",
            f"client {client}",
            "transaction open since 20",
            "idle in transaction: 'select count(*) from analytics.dim_date')",
            "on analytics.dim_date",
            "pg_terminate_backend(pid)",
        ):
            assert part in failure, (part, failure)
        assert "\n" not in failure
        # The command line says the same and exits 6 (no retry this time: no 30 s pause).
        Path(env["CRM_CONFIG"]).write_text('[build]\nlock_timeout = "300ms"\nlock_retries = 0\n')
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert main(["build", *args]) == 6


def test_a_build_retried_after_the_reader_finishes_succeeds(
    make_database: Callable[..., str], tmp_path: Path
) -> None:
    conninfo, env, args = _setup(make_database, tmp_path, retries=2)
    lines: list[str] = []
    with _hold_dim_date(conninfo) as blocker:

        def echo(line: str) -> None:
            lines.append(line)
            if "running it again" in line:
                blocker.rollback()  # the refresh ends while the build waits to retry

        result = run_build(args, environ=env, quiet=True, echo=echo, retry_pause=0.2)
    assert result.exit_code == ExitCode.OK, lines
    assert sum("running it again" in line for line in lines) == 1
    assert "PowerBI refresh (test)" in lines[1]
    assert lines[-1].startswith("Build passed")
