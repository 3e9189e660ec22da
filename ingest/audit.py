"""The import audit trail shared by every importer: the import lock, batch records, rejected rows.

Each imported file gets one ``ingest.import_batches`` row, written in the same transaction as the
data it loads, so a file that fails leaves no half-written batch behind. The failure itself is then
recorded by :func:`record_failed_batch` in a transaction of its own. What is recorded (counts,
rejections, the file's facts) are the plain data classes of :mod:`ingest.results`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import psycopg

from ingest.errors import ConnectionLost, CrmError
from ingest.results import BatchCounts, FileFacts, FileResult, Rejection, readable

# One import at a time, whichever importer runs it (spreadsheets, mail, relink, the nightly run):
# each file's transaction locks this row of ``ingest.run_locks`` before it opens its batch, with
# :func:`lock_imports`. A row lock is transaction-scoped, so it holds through a transaction-mode
# pooler (PgBouncer, Supabase's port 6543), and only a role with UPDATE on ``ingest.run_locks`` (the
# CRM's own role) can take it: a Power BI reader or an API role can neither take it nor hold it.
IMPORT_LOCK = "import"
RUN_LOCKS_TABLE = "ingest.run_locks"


def is_connection_lost(conn: psycopg.Connection) -> bool:
    """Whether ``conn`` is gone (closed, or broken by the server or the network)."""
    return bool(conn.closed or conn.broken)


def connection_lost(name: str, exc: BaseException) -> ConnectionLost:
    """The one line for a connection that broke while ``name`` was being imported."""
    detail = " ".join(readable(str(exc)).split()) or type(exc).__name__
    return ConnectionLost(
        f"{name}: the database connection was lost while importing it ({detail}); nothing from "
        "this file was kept (files imported before it were). Check the server and run the "
        "command again."
    )


def lock_imports(conn: psycopg.Connection) -> None:
    """Wait until no other import runs, then hold the import lock until this transaction ends."""
    try:
        row = conn.execute(
            "select name from ingest.run_locks where name = %s for update", (IMPORT_LOCK,)
        ).fetchone()
    except psycopg.errors.UndefinedTable as exc:
        raise CrmError(
            f"the database has no {RUN_LOCKS_TABLE} table (schema older than version 3); "
            "run `crm db init` to upgrade it, then import again."
        ) from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        user = conn.info.user
        raise CrmError(
            f"the role {user} may not take the import lock (no UPDATE on {RUN_LOCKS_TABLE}); "
            "import as the role that applied schema.sql (`crm db init`)."
        ) from exc
    if row is None:
        raise CrmError(
            f"the import lock row is missing from {RUN_LOCKS_TABLE}; run `crm db init` to restore "
            "it, then import again."
        )


def find_loaded_batch(
    conn: psycopg.Connection, sha256: str, sheets: Sequence[str] = ()
) -> tuple[int, str] | None:
    """The id and start time of an earlier successful (non dry-run) import of the same bytes.

    For a workbook imported sheet by sheet, ``sheets`` names the sheets this import would read:
    the bytes count as imported only when each of them has a batch of its own (a batch without a
    sheet, from a CSV file or from before schema version 6, covers the whole file).
    """
    rows = conn.execute(
        """
        select import_batch_id, to_char(started_at, 'YYYY-MM-DD HH24:MI'), sheet
        from ingest.import_batches
        where file_sha256 = %s and status = 'loaded' and not is_dry_run
        order by import_batch_id desc
        """,
        (sha256,),
    ).fetchall()
    whole = [row for row in rows if row[2] is None]
    if whole:
        return int(whole[0][0]), str(whole[0][1])
    loaded = {row[2] for row in rows}
    if rows and sheets and set(sheets) <= loaded:
        return int(rows[0][0]), str(rows[0][1])
    return None


def open_batch(
    conn: psycopg.Connection,
    facts: FileFacts,
    *,
    profile: str | None,
    entity: str | None,
    encoding: str | None,
    dry_run: bool = False,
    sheet: str | None = None,
) -> int:
    """Insert a running batch row (inside the caller's transaction) and return its id.

    ``sheet``: the workbook's sheet this batch loads (None for a CSV file).
    """
    row = conn.execute(
        """
        insert into ingest.import_batches
            (file_name, file_sha256, file_size_bytes, profile, entity, encoding, is_dry_run,
             sheet)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        returning import_batch_id
        """,
        (
            readable(facts.name),
            facts.sha256,
            facts.size_bytes,
            profile,
            entity,
            encoding,
            dry_run,
            readable(sheet) if sheet is not None else None,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def record_rejections(
    conn: psycopg.Connection, batch_id: int, rejections: Iterable[Rejection]
) -> int:
    """Stream rejected rows into ingest.rejected_rows with COPY; return how many were written."""
    written = 0
    with conn.cursor().copy(
        "copy ingest.rejected_rows"
        " (import_batch_id, row_number, column_name, raw_value, reason_code, message, raw_row)"
        " from stdin"
    ) as copy:
        for rejection in rejections:
            copy.write_row(
                (
                    batch_id,
                    rejection.row_number,
                    rejection.column,
                    readable(rejection.value) if rejection.value is not None else None,
                    rejection.reason_code,
                    readable(rejection.message),
                    json.dumps(rejection.raw_row, default=str)
                    if rejection.raw_row is not None
                    else None,
                )
            )
            written += 1
    return written


def finish_batch(
    conn: psycopg.Connection,
    batch_id: int,
    counts: BatchCounts,
    *,
    message: str | None = None,
) -> None:
    """Mark a batch loaded with its final counts (inside the caller's transaction)."""
    conn.execute(
        """
        update ingest.import_batches
        set status = 'loaded', rows_read = %s, rows_blank = %s, rows_inserted = %s,
            rows_updated = %s, rows_unchanged = %s, rows_rejected = %s, message = %s,
            finished_at = clock_timestamp()
        where import_batch_id = %s
        """,
        (
            counts.read,
            counts.blank,
            counts.inserted,
            counts.updated,
            counts.unchanged,
            counts.rejected,
            readable(message) if message is not None else None,
            batch_id,
        ),
    )


def record_failed_batch(
    conn: psycopg.Connection,
    facts: FileFacts,
    *,
    profile: str | None,
    entity: str | None,
    encoding: str | None,
    message: str,
    dry_run: bool = False,
) -> int:
    """After a rollback, record in a transaction of its own that this file failed, and why."""
    with conn.transaction():
        row = conn.execute(
            """
            insert into ingest.import_batches
                (file_name, file_sha256, file_size_bytes, profile, entity, encoding, is_dry_run,
                 status, message, finished_at)
            values (%s, %s, %s, %s, %s, %s, %s, 'failed', %s, clock_timestamp())
            returning import_batch_id
            """,
            (
                readable(facts.name),
                facts.sha256,
                facts.size_bytes,
                profile,
                entity,
                encoding,
                dry_run,
                readable(message),
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def record_failure(
    conn: psycopg.Connection,
    facts: FileFacts,
    result: FileResult,
    *,
    profile: str | None,
    entity: str | None,
    encoding: str | None,
    message: str,
    dry_run: bool = False,
) -> None:
    """Mark ``result`` failed with ``message`` (no rows counted) and record the failed batch.

    Called after the file's own transaction was rolled back; the batch row is written in a
    transaction of its own (:func:`record_failed_batch`) and its id set on the result.
    """
    result.status = "failed"
    result.message = readable(message)
    result.counts = BatchCounts()
    result.import_batch_id = record_failed_batch(
        conn,
        facts,
        profile=profile,
        entity=entity,
        encoding=encoding,
        message=message,
        dry_run=dry_run,
    )
