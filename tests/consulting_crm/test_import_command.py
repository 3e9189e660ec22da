"""`crm import` on the command line: summary, exit codes, folders, template, the mail hook."""

from __future__ import annotations

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
