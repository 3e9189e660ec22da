"""Incremental models tested night by night against a full rebuild of the same data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from consulting_crm.dbt_runner import BuildResult
from ingest.errors import ExitCode


@dataclass
class Night:
    """One night of an incremental model: its compiled SQL, its rows after the incremental build,
    and its rows after a `--full-refresh` of the same data (they must be equal)."""

    sql: str
    rows: list[dict[str, Any]]
    rebuilt: list[dict[str, Any]]


def incremental_nights(
    build: Callable[..., BuildResult],
    conninfo: str,
    model: Path,
    history: str,
    nights: Sequence[str],
    query: str,
) -> list[Night]:
    """Load ``history``, build the model (``models/...sql``) and its parents, then for each night
    apply its changes, build incrementally, read ``query``, rebuild from scratch and read again.

    Tests whose every parent is selected run too (indirect selection "cautious")."""
    select = ("--select", f"+{model.stem}", "--indirect-selection", "cautious")

    def read() -> list[dict[str, Any]]:
        with psycopg.connect(conninfo, row_factory=dict_row) as conn:
            return conn.execute(query).fetchall()  # type: ignore[arg-type]

    def run(*extra: str) -> BuildResult:
        result = build(conninfo, *select, *extra)
        assert result.exit_code == ExitCode.OK, result.output
        return result

    with psycopg.connect(conninfo) as conn:
        conn.execute(history)  # type: ignore[arg-type]  # a trusted literal, several statements
    run()
    found: list[Night] = []
    for changes in nights:
        with psycopg.connect(conninfo) as conn:
            conn.execute(changes)  # type: ignore[arg-type]
        incremental = run()
        assert incremental.run_results is not None
        compiled = incremental.run_results.parent / "compiled" / "consulting_crm" / model
        rows = read()
        run("--full-refresh")
        found.append(Night(compiled.read_text(encoding="utf-8"), rows, read()))
    return found
