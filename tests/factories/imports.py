"""Shared helpers for the spreadsheet import tests (a real PostgreSQL, never a mock)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from ingest.options import ImportOptions
from ingest.results import FileResult
from ingest.spreadsheet import import_spreadsheet

if TYPE_CHECKING:
    import pexpect

TABLES = ("accounts", "contacts", "leads", "projects", "activities")


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every public table and of ingest.rejected_rows, in a stable order."""
    state: dict[str, list[tuple[object, ...]]] = {}
    for table in (*(f"public.{name}" for name in TABLES), "ingest.rejected_rows"):
        rows = conn.execute(f"select * from {table}").fetchall()
        state[table] = sorted(rows, key=repr)
    return state


def run_import(
    conn: psycopg.Connection, path: Path, tmp_path: Path, **options: object
) -> FileResult:
    return import_spreadsheet(
        conn,
        path,
        ImportOptions(report_dir=tmp_path, **options),  # type: ignore[arg-type]
    )


def counts(result: FileResult) -> tuple[int, int, int, int]:
    c = result.counts
    return (c.inserted, c.updated, c.unchanged, c.rejected)


def spawn_import(path: Path, report_dir: Path) -> pexpect.spawn:
    """`crm import PATH` on a real pseudo-terminal (200 columns, a dumb terminal), so the
    interactive mapping prompt asks its questions; answer them with expect/sendline."""
    import pexpect

    return pexpect.spawn(
        sys.executable,
        ["-m", "consulting_crm.cli", "import", str(path), "--report-dir", str(report_dir)],
        env={**os.environ, "COLUMNS": "200", "TERM": "dumb"},
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


def use_database(monkeypatch: pytest.MonkeyPatch, url: str, home: Path, columns: int = 200) -> None:
    """Point `crm` (in this process and the ones it starts) at the database ``url`` only, with a
    CRM_HOME and a (missing) config.toml under ``home``, and a console ``columns`` wide."""
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGHOSTADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CRM_HOME", str(home / "crm-home"))
    monkeypatch.setenv("CRM_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("COLUMNS", str(columns))
