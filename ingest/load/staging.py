"""Staging: a file's valid rows, chunk by chunk, into a temporary table with COPY.

The stage (``import_stage``) has one column per field the file's entity can fill (as
:data:`ingest.entities.ENTITY_FIELDS` lists them), the currencies read from amounts, and the
columns the merge uses to resolve keys and relations. :class:`Stager` formats each chunk (and,
for leads, copies the provably new rows straight into ``leads``); :class:`StagingThread` sends
them from a worker thread while the next chunk is read.
"""

from __future__ import annotations

import csv
import io
import itertools
import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql

from ingest.entities import ENTITY_FIELDS, LEADS, REGISTRY, Field

STAGE = "import_stage"
# Keys of the leads rows inserted while the file was read (see Stager).
EARLY_KEYS = "import_early_keys"

# Columns the loader adds to the stage to resolve keys and relations: the stored record a row
# updates and how it was found, the ids of the related records the registry lists (account_id,
# primary_contact_id ...), and what the reject rules note down.
RESOLUTION_COLUMNS: dict[str, str] = {
    "target_id": "uuid",
    "by_external_id": "uuid",
    "by_email": "uuid",
    "by_domain": "uuid",
    "by_name": "uuid",
    "route": "text",
    **{
        column.name: "uuid"
        for entity in REGISTRY.values()
        for column in entity.columns
        if column.kind == "id"
    },
    "first_row": "integer",
    "candidates": "text",
    "candidate_count": "integer",
    "early": "boolean",  # leads inserted while the file was read (see Stager)
}

# Copied with the values: per row, the columns whose value a profile's constant gave (a PostgreSQL
# text array like `{lead_source}`, or blank); the merge lets those only fill blanks.
FROM_CONSTANT = "from_constant"


def stage_columns(entity: str) -> dict[str, str]:
    """Stage column → SQL type: row number, every field, currencies read from amounts."""
    fields: dict[str, Field] = ENTITY_FIELDS[entity]
    columns = {"row_number": "integer"}
    for name, spec in fields.items():
        columns[name] = spec.sql_type
        if spec.kind == "money":
            columns[f"{name}__currency"] = "text"
    columns[FROM_CONSTANT] = "text[]"
    for name, kind in RESOLUTION_COLUMNS.items():
        columns.setdefault(name, kind)
    return columns


def create_stage(conn: psycopg.Connection, entity: str) -> list[str]:
    """Create the temporary stage table (dropped at commit) and return its COPY columns."""
    columns = stage_columns(entity)
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))  # type: ignore[arg-type]
        for name, kind in columns.items()
    )
    conn.execute(
        sql.SQL("create temp table {} ({}) on commit drop").format(
            sql.Identifier(STAGE), definition
        )
    )
    copied = ["row_number"]
    for name, spec in ENTITY_FIELDS[entity].items():
        copied.append(name)
        if spec.kind == "money":
            copied.append(f"{name}__currency")
    copied.append(FROM_CONSTANT)
    return copied


Columns = dict[str, list[object]]  # stage column → one value per row (text or None = blank)


@dataclass
class PreparedChunk:
    """One validated chunk, decided and formatted: the COPY text for each destination."""

    stage_csv: str = ""  # rows for the set-based merge, in stage layout
    leads_csv: str = ""  # leads inserted straight away, in the table's layout
    leads_columns: list[str] = field(default_factory=list)  # the columns of leads_csv
    keys_csv: str = ""  # their row numbers, external ids and emails


class Stager:
    """Stage a file's valid rows chunk by chunk, in the caller's transaction.

    :meth:`prepare` (in the reading thread) decides and formats a chunk; :meth:`write` (in the
    staging thread, :class:`StagingThread`) only sends it, so the server stores chunk n while
    Python reads chunk n + 1. For every entity but leads each chunk goes into the stage, and
    everything is decided later by the set-based merge (:func:`load_stage`).

    For leads, the rows that are *provably new* are copied straight into ``leads`` instead: the
    table's index and constraint work, most of an import's cost, then overlaps with reading
    instead of following it. A row is provably new when the merge could only insert it, whatever
    the rest of the file holds:

    - it has an external id or an email (so it is never matched by name), is not converted and
      has no conversion columns (those need the accounts and the conversion checks);
    - it is the first row of the file with its external id and the first with its lower-cased
      email (PostgreSQL's own ``lower``, as the merge uses), so the in-file duplicate checks keep
      it. The keys seen so far are kept as 64-bit hashes: a collision can only make a new row
      wait for the merge, never let a repeated one through;
    - no lead stored before the import has its external id or lower-cased email, so it matches
      no record (when the table was empty, there is nothing to look up).

    ``lower`` and the lookups of stored leads run on a second, autocommit connection
    (``lookup``), which sees the committed leads, not the rows this import inserted. Every other
    row is staged for the merge, as before. When both kinds exist, the merge first gets the keys
    of the rows inserted early (``import_early_keys``), so that its duplicate checks see the whole
    file. Blank cells of inserted rows take the same defaults as the merge's INSERT, evaluated
    once in this transaction (``now()`` is the transaction's time in both).
    """

    # Off, every leads row goes through the merge (the tests compare the two ways).
    insert_early = True

    def __init__(
        self,
        conn: psycopg.Connection,
        entity: str,
        columns: list[str],
        *,
        batch_id: int,
        source: str,
    ) -> None:
        self.conn = conn
        self.entity = entity
        self.columns = columns
        self.batch_id = batch_id
        self.source = source
        self.early_inserted = 0
        self.staged_for_merge = 0
        self.lookup: psycopg.Connection | None = None
        self._stage_copy = _copy_statement(STAGE, columns)
        if entity != "leads":
            return
        conn.execute(
            f"create temp table {EARLY_KEYS} (row_number integer, external_id text, "
            "email text) on commit drop"
        )
        defaults = [column for column in LEADS.columns if column.default]
        row = conn.execute(  # type: ignore[call-overload]
            "select " + ", ".join(f"({column.default})::text" for column in defaults)
        ).fetchone()
        assert row is not None
        self._defaults = {column.name: value for column, value in zip(defaults, row, strict=True)}
        self._early_keys_copy = _copy_statement(EARLY_KEYS, ["row_number", "external_id", "email"])
        stored = conn.execute("select exists (select from public.leads)").fetchone()
        self._leads_stored = bool(stored and stored[0])
        self._seen_external_ids: set[int] = set()
        self._seen_emails: set[int] = set()
        try:
            # The caller's prepare_threshold too: no server-side prepared statements through a
            # transaction-mode pooler when the caller's connection has them off.
            self.lookup = psycopg.connect(
                conn.info.dsn,
                password=conn.info.password or None,
                autocommit=True,
                prepare_threshold=conn.prepare_threshold,
            )
        except psycopg.OperationalError:
            self.lookup = None  # e.g. no connection slot left: every row goes through the merge

    def close(self) -> None:
        """Close the lookup connection (the staged rows stay in the caller's transaction)."""
        if self.lookup is not None:
            self.lookup.close()
            self.lookup = None

    def prepare(self, columns: Columns, rows: int) -> PreparedChunk:
        """Decide where each row of a chunk goes and format its COPY text (reading thread)."""
        chunk = PreparedChunk()
        if not rows:
            return chunk
        if self.entity != "leads":
            chunk.stage_csv = _csv(zip(*(columns[name] for name in self.columns), strict=True))
            self.staged_for_merge += rows
            return chunk
        numbers: list[int] = columns["row_number"]  # type: ignore[assignment]
        external_ids, emails = columns["external_id"], columns["email"]
        if not self.insert_early or self.lookup is None:
            chunk.stage_csv = _csv(zip(*(columns[name] for name in self.columns), strict=True))
            self.staged_for_merge += rows
            return chunk
        first_external = _first_occurrences(external_ids, self._seen_external_ids)
        first_email = _first_occurrences(self._lower(emails), self._seen_emails)
        status = columns["status"]
        converted_date = columns["converted_date"]
        converted_account = columns["converted_account_external_id"]
        early = [
            index
            for index in range(rows)
            if (external_ids[index] is not None or emails[index] is not None)
            and first_external[index]
            and first_email[index]
            and status[index] != "converted"
            and converted_date[index] is None
            and converted_account[index] is None
        ]
        if early and self._leads_stored:
            stored = self._matching_stored_leads(
                [numbers[i] for i in early],
                [external_ids[i] for i in early],
                [emails[i] for i in early],
            )
            early = [index for index in early if numbers[index] not in stored]
        picked = None if len(early) == rows else early
        if early:
            count = len(early)
            names: list[str] = []
            values: list[list[object]] = []
            for column in LEADS.columns:
                given = columns.get(column.name)
                if column.default is None and (given is None or given.count(None) == rows):
                    continue  # blank in every row: the column is left out and stays NULL
                names.append(column.name)
                values.append(_with_default(given, self._defaults.get(column.name), rows))
            keys: list[list[object]] = [columns["row_number"], external_ids, emails]
            if picked is not None:
                values = [_pick(value, picked) for value in values]
                keys = [_pick(value, picked) for value in keys]
            chunk.leads_columns = [*names, "source", "external_system", "import_batch_id"]
            chunk.leads_csv = _csv(
                zip(
                    *values,
                    [self.source] * count,
                    [self.source] * count,
                    [str(self.batch_id)] * count,
                    strict=True,
                )
            )
            chunk.keys_csv = _csv(zip(*keys, strict=True))
            self.early_inserted += count
        if len(early) < rows:
            inserted = set(early)
            deferred = [index for index in range(rows) if index not in inserted]
            records = zip(*(_pick(columns[name], deferred) for name in self.columns), strict=True)
            chunk.stage_csv = _csv(records)
            self.staged_for_merge += len(deferred)
        return chunk

    def write(self, chunk: PreparedChunk) -> None:
        """Send one prepared chunk to the server (staging thread)."""
        if chunk.leads_csv:
            self._send(_copy_statement("public.leads", chunk.leads_columns), chunk.leads_csv)
            self._send(self._early_keys_copy, chunk.keys_csv)
        if chunk.stage_csv:
            self._send(self._stage_copy, chunk.stage_csv)

    def _lower(self, emails: list[object]) -> list[object]:
        """PostgreSQL's ``lower`` of each email (None stays None): the merge's key, exactly."""
        given = [email for email in emails if email is not None]
        if not given:
            return emails
        assert self.lookup is not None
        row = self.lookup.execute(
            "select array(select lower(u.email) from unnest(%s::text[]) with ordinality"
            " as u (email, position) order by u.position)",
            (given,),
        ).fetchone()
        assert row is not None
        lowered = iter(row[0])
        return [None if email is None else next(lowered) for email in emails]

    def _matching_stored_leads(
        self, numbers: list[int], external_ids: list[object], emails: list[object]
    ) -> set[int]:
        """The rows among ``numbers`` whose external id or lower-cased email a stored lead has.

        The lookups are scalar subqueries, so each is an index probe: a join could hash the
        whole leads table for every chunk, which makes a large file quadratic.
        """
        assert self.lookup is not None
        cursor = self.lookup.execute(
            """
            select u.row_number
            from unnest(%(rows)s::integer[], %(ids)s::text[], %(emails)s::text[])
                as u (row_number, external_id, email)
            where (u.external_id is not null and (
                      select true from public.leads t
                      where t.external_id = u.external_id
                        and t.external_system = %(system)s limit 1))
               or (u.email is not null and (
                      select true from public.leads t
                      where lower(t.email) = lower(u.email) limit 1))
            """,
            {"rows": numbers, "ids": external_ids, "emails": emails, "system": self.source},
        )
        return {row[0] for row in cursor}

    def stage_early_keys(self) -> None:
        """Give the merge the keys of the rows inserted early (for its in-file duplicate checks).

        They become stage rows with only ``row_number``, ``external_id``, ``email`` and
        ``early``; the merge deletes them right after those checks, which never reject them.
        """
        self.conn.execute(
            f"insert into {STAGE} (row_number, external_id, email, early) "
            f"select row_number, external_id, email, true from {EARLY_KEYS}"
        )

    def _send(self, statement: sql.Composed, text: str) -> None:
        with self.conn.cursor().copy(statement) as copy:
            copy.write(text)


def _csv(records: Iterable[Sequence[object]]) -> str:
    """Records as COPY CSV text: None is an empty unquoted field, which COPY reads as NULL."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    rows = iter(records)
    # In slices: one writerows call holds the GIL throughout, and the staging thread waits for
    # the GIL each time the server has taken the data it was sent.
    while piece := list(itertools.islice(rows, 5_000)):
        writer.writerows(piece)
    return buffer.getvalue()


def _copy_statement(table: str, columns: list[str]) -> sql.Composed:
    return sql.SQL("copy {} ({}) from stdin (format csv)").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def _first_occurrences(keys: list[object], seen: set[int]) -> list[bool]:
    """For each key, whether no earlier key (in ``seen``, then in ``keys``) may equal it.

    ``seen`` keeps hashes, so two different keys may collide: the later one is then reported as
    a repeat, which only sends its row to the merge. None (no key) is always a first.
    """
    result = []
    for key in keys:
        if key is None:
            result.append(True)
            continue
        digest = hash(key)
        result.append(digest not in seen)
        seen.add(digest)
    return result


def _pick(values: list[object], indexes: list[int]) -> list[object]:
    return [values[index] for index in indexes]


def _with_default(values: list[object] | None, default: str | None, rows: int) -> list[object]:
    if values is None:
        return [default] * rows
    if default is None:
        return values
    return [default if value is None else value for value in values]


class StagingThread:
    """Run a :class:`Stager` in a worker thread, so chunk n is stored while chunk n + 1 is read.

    psycopg releases the GIL while it waits for the server, so Python reads and validates on one
    core while PostgreSQL copies and inserts on the other. The connection is used only by the
    worker until :meth:`close` returns. At most ``depth`` chunks wait in between (bounded memory).
    """

    def __init__(self, stager: Stager, depth: int = 2) -> None:
        self.stager = stager
        self._queue: queue.Queue[PreparedChunk | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="crm-import-stage", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None or self._abandoned:
                continue  # keep taking chunks, so the producer never blocks, but write no more
            try:
                self.stager.write(item)
            except BaseException as exc:  # handed to the producer thread, which re-raises it
                self._error = exc

    def put(self, chunk: PreparedChunk) -> None:
        """Queue one chunk (waits while ``depth`` chunks are queued); raise the worker's error."""
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def close(self) -> None:
        """Wait until every queued chunk is staged; raise the worker's error if it had one."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """The producer failed: stop after the statement in progress and wait for the worker."""
        self._abandoned = True
        self._queue.put(None)
        self._thread.join()


_TEXT_TYPES = {str, type(None)}


def frame_columns(frame: pd.DataFrame, columns: list[str]) -> Columns:
    """A validated chunk as one list per stage column: text, numbers or None (blank = NULL)."""
    rows = len(frame)
    result: Columns = {}
    for name in columns:
        if name not in frame:
            result[name] = [None] * rows
            continue
        values = frame[name]
        listed = values.tolist()
        # The readers give text or None; anything else (NaN above all, which CSV would write as
        # "nan") is turned into None or text here.
        if values.dtype != object or not set(map(type, listed)) <= _TEXT_TYPES:
            listed = values.astype(object).where(values.notna(), None).tolist()
        result[name] = listed
    return result
