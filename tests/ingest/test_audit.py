"""The shared audit trail: batch rows and rejected rows on a real PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

from ingest.audit import (
    find_loaded_batch,
    finish_batch,
    open_batch,
    record_failed_batch,
    record_rejections,
)
from ingest.results import BatchCounts, FileFacts, Rejection


def test_file_facts_hash_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Email\r\nada@example.com\r\n")
    facts = FileFacts.of(path)
    assert facts == FileFacts(
        name="leads.csv",
        sha256=hashlib.sha256(b"Email\r\nada@example.com\r\n").hexdigest(),
        size_bytes=24,
    )


def test_loaded_batch_is_found_by_sha_and_keeps_its_rejections(conn: psycopg.Connection) -> None:
    facts = FileFacts(name="a.csv", sha256="a" * 64, size_bytes=10)
    assert find_loaded_batch(conn, facts.sha256) is None
    batch_id = open_batch(conn, facts, profile="generic", entity="leads", encoding="utf-8")
    written = record_rejections(
        conn,
        batch_id,
        [
            Rejection(
                3, "invalid_email", "bad email", column="Email", value="x@", raw_row={"E": 1}
            ),
            Rejection(7, "missing_required", "no name"),
        ],
    )
    finish_batch(conn, batch_id, BatchCounts(read=9, inserted=7, rejected=2))
    assert written == 2
    found = find_loaded_batch(conn, facts.sha256)
    assert found is not None and found[0] == batch_id
    rows = conn.execute(
        "select row_number, column_name, raw_value, reason_code, raw_row "
        "from ingest.rejected_rows where import_batch_id = %s order by row_number",
        (batch_id,),
    ).fetchall()
    assert rows == [
        (3, "Email", "x@", "invalid_email", {"E": 1}),
        (7, None, None, "missing_required", None),
    ]
    status = conn.execute(
        "select status::text, rows_read, rows_rejected from ingest.import_batches "
        "where import_batch_id = %s",
        (batch_id,),
    ).fetchone()
    assert status == ("loaded", 9, 2)


def test_dry_runs_and_failures_do_not_count_as_imported(conn: psycopg.Connection) -> None:
    facts = FileFacts(name="b.csv", sha256="b" * 64, size_bytes=10)
    dry = open_batch(conn, facts, profile=None, entity=None, encoding=None, dry_run=True)
    finish_batch(conn, dry, BatchCounts())
    record_failed_batch(conn, facts, profile=None, entity=None, encoding=None, message="boom")
    assert find_loaded_batch(conn, facts.sha256) is None
