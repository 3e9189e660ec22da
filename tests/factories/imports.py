"""Shared helpers for the spreadsheet import tests (a real PostgreSQL, never a mock)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ingest.options import ImportOptions
from ingest.results import FileResult
from ingest.spreadsheet import import_spreadsheet

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
