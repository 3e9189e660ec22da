"""Business dates are facts or unknown: opened_on comes from the file, never from the import day."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.factories.imports import run_import


def test_opened_on_is_the_files_date_or_unknown(fresh: psycopg.Connection, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name\nacc-1,Northwind\n")
    run_import(fresh, accounts, tmp_path)
    projects = tmp_path / "projects.csv"
    projects.write_text(
        "external_id,name,account_external_id,stage,amount,close_date,created_at,opened_on\n"
        "p-1,Dated by opened_on,acc-1,won,1000,2024-06-30,2024-05-02T10:00:00Z,2024-03-01\n"
        "p-2,Dated by created_at,acc-1,won,1000,2024-06-30,2024-05-02T23:30:00+02:00,\n"
        "p-3,Undated,acc-1,won,1000,2024-06-30,,\n"
    )
    result = run_import(fresh, projects, tmp_path)
    assert result.status == "loaded", result
    assert result.counts.rejected == 0, result
    rows = fresh.execute(
        "select external_id, opened_on::text, created_at is not null "
        "from public.projects order by external_id"
    ).fetchall()
    assert rows == [
        ("p-1", "2024-03-01", True),
        ("p-2", "2024-05-02", True),  # the day as written in the file
        ("p-3", None, True),  # created_at is the import time; the start stays unknown
    ]
    leads = tmp_path / "leads.csv"
    leads.write_text("email,created_at\nada@example.com,2023-11-05\nbob@example.com,\n")
    assert run_import(fresh, leads, tmp_path).status == "loaded"
    assert fresh.execute(
        "select email, opened_on::text from public.leads order by email"
    ).fetchall() == [("ada@example.com", "2023-11-05"), ("bob@example.com", None)]
