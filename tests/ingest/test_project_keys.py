"""How the importer tells projects apart: external id first, then account and name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.factories.imports import counts, run_import


@pytest.fixture
def fresh(make_database: Callable[..., str]) -> Iterator[psycopg.Connection]:
    with psycopg.connect(make_database(), autocommit=True) as connection:
        connection.execute(
            "insert into accounts (name, domain) values ('Alder Foods', 'alder.example')"
        )
        yield connection


def test_same_name_with_different_external_ids_are_two_projects(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "projects.csv"
    path.write_text(
        "external_id,name,account_name,stage,amount,close_date\n"
        "PRJ-1,Pricing review,Alder Foods,won,5000,2024-03-01\n"
        "PRJ-2,Pricing review,Alder Foods,won,6000,2025-03-01\n"
    )
    result = run_import(fresh, path, tmp_path)
    assert counts(result) == (2, 0, 0, 0)
    assert fresh.execute(
        "select external_id, amount::int from projects order by external_id"
    ).fetchall() == [("PRJ-1", 5000), ("PRJ-2", 6000)]
    again = run_import(fresh, path, tmp_path, force=True)
    assert counts(again) == (0, 0, 2, 0)


def test_same_name_without_external_ids_is_one_project(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "projects.csv"
    path.write_text(
        "name,account_name,stage,amount\n"
        "Pricing review,Alder Foods,proposal,5000\n"
        "pricing review,Alder Foods,proposal,6000\n"
    )
    result = run_import(fresh, path, tmp_path)
    assert counts(result) == (1, 0, 0, 1)
    assert fresh.execute("select message from ingest.rejected_rows").fetchone() == (
        'projects.csv, row 3, column "name": "pricing review" is the same project as row 2; '
        "merge the two rows or delete one.",
    )


def test_accounts_and_projects_without_a_name_are_rejected(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("name,domain\nBirch Ltd,birch.example\n  ,nameless.example\n")
    assert counts(run_import(fresh, accounts, tmp_path)) == (1, 0, 0, 1)
    projects = tmp_path / "projects.csv"
    projects.write_text("name,account_name,stage\n,Alder Foods,proposal\n")
    assert counts(run_import(fresh, projects, tmp_path)) == (0, 0, 0, 1)
    messages = fresh.execute(
        "select message from ingest.rejected_rows order by import_batch_id"
    ).fetchall()
    assert messages == [
        ('accounts.csv, row 3, column "name": the account has no name; fill in the name.',),
        ('projects.csv, row 2, column "name": the project has no name; fill in the name.',),
    ]
