"""Only regular files are read, and only while they stay as they were (ingest/files.py).

A FIFO or a link to a device never ends, so it is refused before anything reads it; a file
rewritten during its import fails and rolls back, so the hash in the audit trail always belongs
to exactly the bytes that were loaded. Real files, a real FIFO, a real PostgreSQL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm.cli import main
from ingest.dispatch import import_file
from ingest.errors import CrmError
from ingest.files import Snapshot, special_file_kind
from ingest.mail import import_mail_file
from ingest.options import ImportOptions, MailOptions
from ingest.results import FileResult
from ingest.spreadsheet import import_spreadsheet
from tests.factories.mailbox import OWNER, write_mailbox

LEADS = "first_name,last_name,email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"


def within(seconds: float, work: Callable[[], FileResult]) -> FileResult:
    """Run ``work`` in a thread and fail the test (instead of hanging) if it does not finish."""
    outcome: list[FileResult] = []
    thread = threading.Thread(target=lambda: outcome.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the import did not finish within {seconds} s"
    return outcome[0]


def leads_and_batches(conn: psycopg.Connection) -> tuple[int, list[tuple[object, ...]]]:
    row = conn.execute("select count(*) from public.leads").fetchone()
    batches = conn.execute(
        "select file_name, status::text, rows_inserted from ingest.import_batches "
        "order by import_batch_id"
    ).fetchall()
    return (row[0] if row else -1), batches


def test_a_fifo_is_refused_before_anything_reads_it(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    fifo = tmp_path / "leads.csv"
    os.mkfifo(fifo)  # nobody ever writes to it: reading it would block forever
    assert special_file_kind(fifo) == "a named pipe (FIFO)"
    result = within(
        30, lambda: import_file(fresh, fifo, ImportOptions(report_dir=tmp_path), MailOptions())
    )
    assert result.status == "failed"
    assert result.message == (
        "leads.csv: is a named pipe (FIFO), not a file; nothing was read. Save the export as a "
        "regular file and import that."
    )
    # The library entry point refuses it as well, for callers that skip the dispatcher.
    direct = within(30, lambda: import_spreadsheet(fresh, fifo, ImportOptions()))
    assert (direct.status, direct.message) == ("failed", result.message)
    assert leads_and_batches(fresh) == (0, [])


def test_a_link_to_a_device_is_refused_and_names_its_target(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    link = tmp_path / "export.csv"
    link.symlink_to("/dev/zero")  # endless zeros: hashing it would never finish
    result = within(
        30, lambda: import_file(fresh, link, ImportOptions(report_dir=tmp_path), MailOptions())
    )
    assert result.status == "failed"
    assert result.message is not None
    assert result.message.startswith(
        "export.csv: is a character device (a link to /dev/zero), not a file; nothing was read."
    )


def test_crm_import_of_a_folder_with_a_fifo_loads_the_rest_and_exits_5(
    fresh_url: str,
    fresh: psycopg.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGHOSTADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("COLUMNS", "200")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-leads.csv").write_text(LEADS, encoding="utf-8")
    os.mkfifo(inbox / "b-pipe.csv")
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(["import", str(inbox)])))
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "crm import hung on a FIFO"
    assert codes == [5]
    out = capsys.readouterr().out
    assert "b-pipe.csv: is a named pipe (FIFO), not a file" in out
    assert leads_and_batches(fresh) == (2, [("a-leads.csv", "loaded", 2)])


def test_a_file_rewritten_during_its_import_fails_and_loads_nothing(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    rows = "".join(f"P{i},Person,p{i}@example.com\n" for i in range(40))
    path.write_text("first_name,last_name,email\n" + rows, encoding="utf-8")

    def rewrite(done: int, total: int = 0) -> None:
        # A sync client finishes writing the file while the import reads its first chunk.
        if not path.read_text(encoding="utf-8").endswith("Late,Row,late@example.com\n"):
            with path.open("a", encoding="utf-8") as handle:
                handle.write("Late,Row,late@example.com\n")

    result = import_spreadsheet(
        fresh, path, ImportOptions(rows_per_chunk=10, report_dir=tmp_path), progress=rewrite
    )
    assert result.status == "failed"
    assert result.message == (
        "leads.csv: changed while it was being imported (its size changed); nothing was loaded. "
        "Import it again once it has been written completely (a sync client or an export may "
        "still be writing it)."
    )
    assert leads_and_batches(fresh) == (0, [("leads.csv", "failed", 0)])
    # The complete file is new to the audit trail: it loads, instead of "already imported".
    again = import_spreadsheet(fresh, path, ImportOptions(report_dir=tmp_path))
    assert (again.status, again.counts.inserted) == ("loaded", 41)


def test_a_file_replaced_by_another_with_the_same_size_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("name\nAcme\n", encoding="utf-8")
    snapshot = Snapshot.of([path])
    snapshot.check_unchanged(path.name)  # nothing happened yet
    replacement = tmp_path / "accounts.csv.part"
    replacement.write_text("name\nBeta\n", encoding="utf-8")  # same size, other bytes
    replacement.replace(path)  # how most tools save: write aside, then rename over
    with pytest.raises(CrmError, match="it was replaced by another file"):
        snapshot.check_unchanged(path.name)


def test_a_mailbox_growing_during_its_import_fails_and_loads_nothing(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    mbox = tmp_path / "inbox.mbox"
    write_mailbox(mbox, 300, seed=3)  # past the first progress report (every 250 messages)
    extra = tmp_path / "more.mbox"
    write_mailbox(extra, 1, seed=9)

    def grow(done: int, total: int = 0) -> None:
        with mbox.open("ab") as handle:  # the mail client appends while we read
            handle.write(b"\n" + extra.read_bytes())

    result = import_mail_file(fresh, mbox, owner_emails=[OWNER], progress=grow)
    assert result.status == "failed"
    assert result.message is not None
    assert "inbox.mbox: changed while it was being imported (its size changed)" in result.message
    activities = fresh.execute("select count(*) from public.activities").fetchone()
    messages = fresh.execute("select count(*) from ingest.mail_messages").fetchone()
    assert (activities, messages) == ((0,), (0,))
