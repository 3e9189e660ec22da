"""`crm import` on the command line: summary, exit codes, folders, template, the mail hook."""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm.cli import main
from ingest import dispatch
from ingest.results import BatchCounts, FileResult
from tests.factories.spreadsheets import DATA


@pytest.fixture
def fresh_url(make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> str:
    url = make_database()
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGHOSTADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_import_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "4 files loaded but some rows were rejected" in out
    assert "5 at least one file failed and loaded nothing" in out


def test_exit_codes_and_summary(
    fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = ["--report-dir", str(tmp_path)]
    assert main(["import", str(DATA / "generic_accounts.csv"), *reports]) == 0
    out = capsys.readouterr().out
    assert "Import summary" in out and "loaded" in out
    assert main(["import", str(DATA / "ragged_and_blank.csv"), *reports]) == 4
    assert "rejected rows are listed in" in " ".join(capsys.readouterr().out.split())
    assert main(["import", str(DATA / "duplicate_headers.csv"), *reports]) == 5
    assert main(["import", str(DATA / "generic_accounts.csv"), *reports]) == 0
    assert "already imported" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "missing.csv")]) == 3
    assert f"{tmp_path / 'missing.csv'}: no such file or folder" in capsys.readouterr().err


def test_template_is_every_column_and_imports_back(
    fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "--template", "leads", "--out", str(tmp_path)]) == 0
    template = tmp_path / "leads-template.csv"
    header = template.read_text(encoding="utf-8-sig")
    assert header.startswith("external_id,first_name,last_name,company,title,email,")
    with template.open("a", encoding="utf-8", newline="") as handle:
        handle.write("X-1,Ada,Lovelace,,,ada@example.com" + "," * (header.count(",") - 5) + "\r\n")
    assert main(["import", str(template), "--report-dir", str(tmp_path)]) == 0
    with psycopg.connect(fresh_url) as conn:
        assert conn.execute("select external_id, email from leads").fetchall() == [
            ("X-1", "ada@example.com")
        ]


def test_folders_expand_sorted_without_hidden_files_or_reports(
    fresh_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "b.csv").write_text("email\nb@example.com\n")
    (folder / "a.csv").write_text("email\na@example.com\n")
    (folder / ".~lock.a.csv#").write_text("lock")
    (folder / "old.rejected.csv").write_text("row,column\n")
    assert main(["import", str(folder)]) == 0
    with psycopg.connect(fresh_url) as conn:
        names = conn.execute(
            "select file_name from ingest.import_batches order by import_batch_id"
        ).fetchall()
    assert names == [("a.csv",), ("b.csv",)]


def test_mail_exports_go_to_the_mail_importer_and_new_people_relink_mail(
    fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, object]] = []

    def import_mail_file(conn: psycopg.Connection, path: Path, **options: object) -> FileResult:
        calls.append(("import", (path.name, options["owner_emails"], options["since"])))
        return FileResult(path=path, kind="mail", status="loaded", counts=BatchCounts(inserted=2))

    mail = types.ModuleType("ingest.mail")
    mail.is_mail_export = lambda path: path.suffix == ".mbox"  # type: ignore[attr-defined]
    mail.import_mail_file = import_mail_file  # type: ignore[attr-defined]
    mail.relink = lambda conn: calls.append(("relink", None))  # type: ignore[attr-defined]
    monkeypatch.setattr(dispatch, "mail", mail)
    mbox = tmp_path / "inbox.mbox"
    mbox.write_text("From x\n")
    code = main(
        [
            "import",
            str(DATA / "generic_accounts.csv"),
            str(mbox),
            "--owner-email",
            "me@example.com",
            "--owner-email",
            "me@work.example",
            "--since",
            "2024-01-01",
            "--report-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    import datetime as dt

    assert calls == [
        ("relink", None),
        ("import", ("inbox.mbox", ["me@example.com", "me@work.example"], dt.date(2024, 1, 1))),
    ]


NON_UTF8 = os.fsdecode(b"Kunden-\xfc.csv")  # a name written by an old Windows tool (Latin-1)


def _file_names(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select file_name, status::text from ingest.import_batches order by import_batch_id"
        ).fetchall()


def test_a_file_name_that_is_not_utf8_imports_as_a_folder_entry_and_by_name(
    fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / NON_UTF8).write_text("name,domain\nAlder Foods,alder.example\n")
    assert main(["import", str(folder)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Kunden-\\xfc.csv" in out
    bad = tmp_path / os.fsdecode(b"Gr\xfc\xdfe.csv")
    bad.write_text("colour,size\nred,XL\n")  # maps to nothing: fails, its name in the message
    assert main(["import", str(bad)]) == 5
    out = " ".join(capsys.readouterr().out.split())
    assert "Gr\\xfc\\xdfe.csv" in out
    assert _file_names(fresh_url) == [
        ("Kunden-\\xfc.csv", "loaded"),
        ("Gr\\xfc\\xdfe.csv", "failed"),
    ]
    with psycopg.connect(fresh_url) as conn:
        (message,) = conn.execute(
            "select message from ingest.import_batches where status = 'failed'"
        ).fetchone()  # type: ignore[misc]
    assert message.startswith("Gr\\xfc\\xdfe.csv: ")


def test_a_folder_with_an_unreadable_and_a_broken_file_loads_the_others(
    fresh_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a-gone.csv").symlink_to(tmp_path / "deleted-since.csv")
    (folder / "b-accounts.csv").write_text("name,domain\nAlder Foods,alder.example\n")
    (folder / "c-bug.csv").write_text("name,domain\nBirch Ltd,birch.example\n")
    (folder / "d-more.csv").write_text("name,domain\nCedar GmbH,cedar.example\n")
    from ingest import spreadsheet

    real_describe = spreadsheet.describe

    def describe(table: spreadsheet.SheetTable, *args: object, **kwargs: object) -> str:
        if table.path.name == "c-bug.csv":
            raise KeyError("a bug")
        return real_describe(table, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(spreadsheet, "describe", describe)
    monkeypatch.setenv("CRM_DEBUG", "1")
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["import", str(folder)]) == 5
    captured = capsys.readouterr()
    out = " ".join(captured.out.split())
    assert "a-gone.csv: could not be read (No such file or directory); nothing was loaded." in out
    assert "c-bug.csv: unexpected error while importing it (KeyError: 'a bug', at " in out
    assert "c-bug.csv: traceback of the unexpected error:" in captured.err
    assert "Traceback (most recent call last)" in captured.err
    assert _file_names(fresh_url) == [
        ("b-accounts.csv", "loaded"),
        ("c-bug.csv", "failed"),
        ("d-more.csv", "loaded"),
    ]
    monkeypatch.delenv("CRM_DEBUG")
    (folder / "e.csv").write_text("name\nElm\n")
    main(["import", str(folder)])
    assert "traceback of the unexpected error" not in capsys.readouterr().err  # only on demand


def test_a_lost_connection_stops_the_run_with_one_line(
    fresh_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consulting_crm import importing

    (tmp_path / "a.csv").write_text("name,domain\nAlder Foods,alder.example\n")
    (tmp_path / "b.csv").write_text("name,domain\nBirch Ltd,birch.example\n")
    real_import_file = importing.import_file

    def import_file(conn: psycopg.Connection, path: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if path.name == "b.csv":  # the server goes away between the two files
            with psycopg.connect(fresh_url, autocommit=True) as killer:
                killer.execute("select pg_terminate_backend(%s)", (conn.info.backend_pid,))
        return real_import_file(conn, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importing, "import_file", import_file)
    assert main(["import", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]) == 3
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: b.csv: the database connection was lost while importing")
    assert lines[0].endswith(
        "nothing from this file was kept (files imported before it were). Check the server and "
        "run the command again."
    )
    assert "Traceback" not in err
    assert _file_names(fresh_url) == [("a.csv", "loaded")]


ONE_BAD_LEAD = "first_name,email\nAda,ada@example.com\nBob,bob@@example.com\n"
CORRECTED = "first_name,email\nAda,ada@example.com\nBob,bob@example.com\n"


def test_a_dry_run_says_where_its_reject_report_went_and_writes_nothing_else(
    fresh_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    leads = tmp_path / "leads.csv"
    leads.write_text(ONE_BAD_LEAD)
    assert main(["import", str(leads), "--dry-run"]) == 4
    out = " ".join(capsys.readouterr().out.split())
    report = tmp_path / "leads.rejected.csv"
    assert f"leads.csv: rejected rows are listed in {report}" in out
    assert out.endswith(
        "Dry run: nothing was written to the database; the reject reports named above list the "
        "rows a real import would reject."
    )
    assert "bob@@example.com" in report.read_text(encoding="utf-8-sig")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["leads.csv", "leads.rejected.csv"]
    with psycopg.connect(fresh_url) as conn:
        assert conn.execute("select count(*) from ingest.import_batches").fetchone() == (0,)
        assert conn.execute("select count(*) from leads").fetchone() == (0,)
    # Nothing to reject: nothing at all is written, and the summary says just that.
    clean = tmp_path / "clean" / "leads.csv"
    clean.parent.mkdir()
    clean.write_text(CORRECTED)
    assert main(["import", str(clean), "--dry-run"]) == 0
    assert " ".join(capsys.readouterr().out.split()).endswith("Dry run: nothing was written.")
    assert sorted(path.name for path in clean.parent.iterdir()) == ["leads.csv"]


def test_a_clean_import_deletes_the_reject_report_of_an_earlier_import(
    fresh_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    leads = tmp_path / "leads.csv"
    leads.write_text(ONE_BAD_LEAD)
    report = tmp_path / "leads.rejected.csv"
    assert main(["import", str(leads), "--strict"]) == 5  # failed as a whole, with a report
    assert report.exists()
    capsys.readouterr()
    leads.write_text(CORRECTED)  # the user fixed Bob's address and imports the file again
    assert main(["import", str(leads)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert not report.exists()
    assert (
        f"deleted {report}, the reject report of an earlier import of this file: this import "
        "rejected nothing" in out
    )
    # A file of that name that is not one of our reports stays.
    report.write_text("my own notes\n")
    leads.write_text(CORRECTED + "Cy,cy@example.com\n")
    assert main(["import", str(leads)]) == 0
    assert report.read_text() == "my own notes\n"
    # Rows rejected, then a clean import of another file of that stem: the report is not its own.
    leads.write_text(ONE_BAD_LEAD.replace("Ada", "Ann").replace("ada@", "ann@"))
    assert main(["import", str(leads)]) == 4
    (tmp_path / "leads.tsv").write_text("first_name\temail\nDi\tdi@example.com\n")
    assert main(["import", str(tmp_path / "leads.tsv")]) == 0
    assert "bob@@example.com" in report.read_text(encoding="utf-8-sig")
    with psycopg.connect(fresh_url) as conn:
        assert conn.execute("select count(*) from leads").fetchone() == (5,)


def test_a_folder_import_passes_over_files_no_importer_reads(
    fresh_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`crm import .` in a folder that also holds the report (.html, .png): skipped, exit 0."""
    monkeypatch.setenv("COLUMNS", "200")
    folder = tmp_path / "exports"
    (folder / "charts").mkdir(parents=True)
    (folder / "accounts.csv").write_text("name,domain\nAlder Foods,alder.example\n")
    (folder / "report.html").write_text("<html><body>Pipeline</body></html>\n")
    (folder / "charts" / "funnel.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    monkeypatch.chdir(folder)
    assert main(["import", "."]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name in ("report.html", "funnel.png"):
        assert (
            f"{name}: not a spreadsheet (.csv, .tsv, .txt, .xlsx, .xlsm) or a mail export, so the "
            f"import of the folder . passed over it; nothing from it was read." in out
        )
    assert _file_names(fresh_url) == [("accounts.csv", "loaded")]
    # Named on its own, a file is always tried, and fails when no importer reads it.
    assert main(["import", "report.html"]) == 5
    assert "report.html: not a spreadsheet" in " ".join(capsys.readouterr().out.split())
