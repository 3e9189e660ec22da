"""Files that fail alone and clearly: each problem fails its file (recorded as a failed batch,
nothing loaded) and the next file goes on; a lost connection is one clear error."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import psycopg
import pytest

from ingest import spreadsheet
from ingest.dispatch import import_file
from ingest.errors import ConnectionLost
from ingest.options import ImportOptions, MailOptions
from tests.factories.imports import run_import
from tests.factories.spreadsheets import SHEET1, Cell, rewrite_xlsx_member, write_xlsx

GOOD = "name,domain\nAlder Foods,alder.example\n"


def batches(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "select file_name, status::text, message from ingest.import_batches "
        "order by import_batch_id"
    ).fetchall()


def accounts(conn: psycopg.Connection) -> list[str]:
    return [row[0] for row in conn.execute("select name from accounts order by name")]


def test_an_unexpected_error_fails_that_file_alone_with_a_trace(
    fresh: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_describe = spreadsheet.describe

    def describe(table: spreadsheet.SheetTable, *args: object, **kwargs: object) -> str:
        if table.path.name == "first.csv":
            raise ZeroDivisionError("a bug in the summary")
        return real_describe(table, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(spreadsheet, "describe", describe)
    (tmp_path / "first.csv").write_text(GOOD)
    (tmp_path / "second.csv").write_text("name,domain\nBirch Ltd,birch.example\n")

    first = run_import(fresh, tmp_path / "first.csv", tmp_path)
    second = run_import(fresh, tmp_path / "second.csv", tmp_path)

    assert first.status == "failed"
    assert first.message is not None
    assert re.fullmatch(
        r"first\.csv: unexpected error while importing it \(ZeroDivisionError: a bug in the "
        r"summary, at test_import_failures\.py:\d+ in describe\); nothing was loaded, and the "
        r"next file goes on\. This is a bug: please report it \(with CRM_DEBUG=1, crm import "
        r"prints the traceback\)\.",
        first.message,
    )
    assert first.traceback is not None
    assert "Traceback (most recent call last)" in first.traceback
    assert 'raise ZeroDivisionError("a bug in the summary")' in first.traceback
    assert second.status == "loaded"
    assert accounts(fresh) == ["Birch Ltd"]  # nothing of the first file
    assert batches(fresh) == [
        ("first.csv", "failed", first.message),
        ("second.csv", "loaded", second.message),
    ]


@pytest.mark.parametrize("name", ["gone.csv", "loop.csv"])
def test_an_unreadable_file_fails_alone(
    fresh: psycopg.Connection, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    if name == "gone.csv":
        path.symlink_to(tmp_path / "deleted-since.csv")
        why = "No such file or directory"
    else:
        path.symlink_to(path)  # a link to itself: the system refuses to follow it
        why = "Too many levels of symbolic links"
    result = import_file(fresh, path, ImportOptions(report_dir=tmp_path), MailOptions())
    assert result.status == "failed"
    assert result.message == (
        f"{name}: could not be read ({why}); nothing was loaded. Check that the file is there "
        "and that you may read it, then import it again."
    )


def test_a_file_without_read_permission_fails_alone(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "locked.csv"
    path.write_text(GOOD)
    if os.geteuid() == 0:
        # root reads any file whatever its mode: a folder by the file's name is as unreadable
        path.unlink()
        path.mkdir()
        why = "Is a directory"
    else:
        path.chmod(0)
        why = "Permission denied"
    result = import_file(fresh, path, ImportOptions(report_dir=tmp_path), MailOptions())
    assert result.status == "failed"
    assert result.message == (
        f"locked.csv: could not be read ({why}); nothing was loaded. Check that the file is "
        "there and that you may read it, then import it again."
    )


def test_a_corrupt_workbook_is_a_failed_batch_and_the_next_file_loads(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    broken = write_xlsx(tmp_path / "broken.xlsx", {"S": [["name", "domain"], ["A", "a.example"]]})
    rewrite_xlsx_member(broken, SHEET1, b"<worksheet><sheetData><row>")
    (tmp_path / "good.csv").write_text(GOOD)
    failed = run_import(fresh, broken, tmp_path)
    loaded = run_import(fresh, tmp_path / "good.csv", tmp_path)
    assert (failed.status, loaded.status) == ("failed", "loaded")
    assert batches(fresh)[0] == (
        "broken.xlsx",
        "failed",
        "broken.xlsx: is not a readable XLSX workbook (no element found: line 1, column 27); "
        "open and save it again in Excel (or export it as CSV UTF-8), then import again.",
    )
    assert accounts(fresh) == ["Alder Foods"]


def test_uncalculated_formulas_fail_the_file_calculated_ones_import(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    rows: list[list[Cell]] = [
        ["name", "domain", "employee_count"],
        ["Alder", "alder.example", "=10*2"],
    ]
    script = write_xlsx(tmp_path / "script.xlsx", {"S": rows})
    saved = write_xlsx(tmp_path / "saved.xlsx", {"S": rows}, cached={"C2": "20"})
    failed = run_import(fresh, script, tmp_path)
    assert failed.status == "failed"
    assert failed.message == (
        "script.xlsx: has formulas without a calculated value (C2; 1 cell), as a file written "
        "by a script is; nothing was loaded. Open it in Excel (or LibreOffice) and save it, so "
        "each formula's result is stored, then import again."
    )
    assert accounts(fresh) == []
    loaded = run_import(fresh, saved, tmp_path)
    assert loaded.status == "loaded"
    assert fresh.execute("select employee_count from accounts").fetchall() == [(20,)]


def test_the_reject_report_guards_formulas(fresh: psycopg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        'first_name,email\nAda,ada@example.com\nBob,"=HYPERLINK(""http://x"",""y"")"\nCy,-12\n'
    )
    result = run_import(fresh, path, tmp_path)
    assert result.counts.rejected == 2
    assert result.reject_report == tmp_path / "leads.rejected.csv"
    with result.reject_report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    values = {row[0]: row[2] for row in rows[1:]}
    assert values == {"3": '\'=HYPERLINK("http://x","y")', "4": "-12"}  # a number stays
    # The database keeps the value as it was; only the report guards it.
    assert fresh.execute(
        "select raw_value from ingest.rejected_rows order by row_number limit 1"
    ).fetchone() == ('=HYPERLINK("http://x","y")',)


def test_an_unwritable_report_folder_keeps_the_import_and_says_where_the_rows_are(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("first_name,email\nAda,ada@example.com\nBob,bob@@example.com\n")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the reports' folder's parent should be")
    result = run_import(fresh, path, blocker / "reports")  # report_dir under a regular file
    assert result.status == "loaded"
    assert result.reject_report is None
    batch = result.import_batch_id
    assert result.message is not None
    assert result.message.endswith(
        f"; the reject report could not be written to {blocker / 'reports'} (Not a directory); "
        f"the 1 rejected row(s) are kept in the database (ingest.rejected_rows, import batch "
        f"{batch}); to get the report, import the file again with --force --report-dir FOLDER "
        "(a folder you may write to)"
    )
    assert fresh.execute("select row_number from ingest.rejected_rows").fetchall() == [(3,)]
    assert fresh.execute("select count(*) from leads").fetchone() == (1,)
    assert batches(fresh) == [("leads.csv", "loaded", result.message)]


def test_a_lost_connection_is_one_error_and_keeps_nothing_of_the_file(
    fresh_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    lines = ["name,domain"] + [f"Company {n},c{n}.example" for n in range(300)]
    path.write_text("\n".join(lines) + "\n")

    with psycopg.connect(fresh_url, autocommit=True) as conn:
        backend = conn.info.backend_pid

        def progress(done: int, total: int) -> None:
            with psycopg.connect(fresh_url, autocommit=True) as killer:
                killer.execute("select pg_terminate_backend(%s)", (backend,))

        with pytest.raises(ConnectionLost) as caught:
            spreadsheet.import_spreadsheet(
                conn,
                path,
                ImportOptions(report_dir=tmp_path, rows_per_chunk=100),
                progress=progress,
            )
    message = str(caught.value)
    assert message.startswith("big.csv: the database connection was lost while importing it ("), (
        message
    )
    assert message.endswith(
        "); nothing from this file was kept (files imported before it were). Check the server "
        "and run the command again."
    )
    assert caught.value.exit_code == 3
    with psycopg.connect(fresh_url) as check:
        assert check.execute("select count(*) from accounts").fetchone() == (0,)
        assert check.execute("select count(*) from ingest.import_batches").fetchone() == (0,)
