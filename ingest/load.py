"""The loader: stage valid rows with COPY, resolve keys and relations in SQL, merge set-based.

Everything here runs inside the caller's transaction (one per file, together with the batch row).
Rows are streamed into a temporary table ``import_stage`` with ``COPY``; then a handful of
set-based statements find each row's existing record by natural key, resolve related records by
their natural keys, reject what cannot be loaded (into ``ingest.rejected_rows``, with a message),
and merge the rest with one ``UPDATE`` and one ``INSERT`` per table. Blank cells are NULL in the
stage and never overwrite a stored value (``coalesce(new, old)``); a row whose merged values equal
the stored ones is not touched, so re-importing a file changes nothing.

Leads that the merge could only insert are copied straight into ``leads`` while the file is still
being read, instead of waiting in the stage (see :class:`Stager`); the outcome is the same.
"""

from __future__ import annotations

import csv
import io
import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql

from ingest.audit import IMPORT_LOCK
from ingest.entities import ENTITY_FIELDS, REGISTRY, Entity, Field

STAGE = "import_stage"
# Keys of the leads rows inserted while the file was read (see Stager).
EARLY_KEYS = "import_early_keys"
ADVISORY_LOCK = IMPORT_LOCK  # the old name, still read by tests/mail

# Columns the loader adds to the stage to resolve keys and relations.
RESOLUTION_COLUMNS: dict[str, str] = {
    "target_id": "uuid",
    "by_external_id": "uuid",
    "by_email": "uuid",
    "by_domain": "uuid",
    "by_name": "uuid",
    "route": "text",
    "account_id": "uuid",
    "converted_account_id": "uuid",
    "primary_contact_id": "uuid",
    "lead_id": "uuid",
    "contact_id": "uuid",
    "project_id": "uuid",
    "first_row": "integer",
    "candidates": "text",
    "candidate_count": "integer",
    "early": "boolean",  # leads inserted while the file was read (see Stager)
}


@dataclass
class MergeCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_rows: int = 0
    routed: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadContext:
    """What the SQL messages need to name: the file and the headers behind each column."""

    conn: psycopg.Connection
    batch_id: int
    file_name: str
    source: str
    entity: str  # the mapped entity ("people" for contact/lead files)
    headers: dict[str, str]  # stage column → header in the file
    forced_entity: str | None = None
    # Filled by the Stager: leads already inserted while reading, rows left for the merge.
    early_inserted: int = 0
    staged_for_merge: int | None = None

    def header(self, column: str) -> str:
        return self.headers.get(column, column)

    def execute(self, query: str, params: dict[str, object] | None = None) -> int:
        cursor = self.conn.execute(query, params or {})  # type: ignore[arg-type]
        return cursor.rowcount


# --------------------------------------------------------------------------------------------
# Staging
# --------------------------------------------------------------------------------------------
def stage_columns(entity: str) -> dict[str, str]:
    """Stage column → SQL type: row number, every field, currencies read from amounts."""
    fields: dict[str, Field] = ENTITY_FIELDS[entity]
    columns = {"row_number": "integer"}
    for name, spec in fields.items():
        columns[name] = spec.sql_type
        if spec.kind == "money":
            columns[f"{name}__currency"] = "text"
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
        spec = REGISTRY["leads"]
        defaults = [column for column in spec.columns if column.default]
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
            self.lookup = psycopg.connect(
                conn.info.dsn, password=conn.info.password or None, autocommit=True
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
            for column in REGISTRY["leads"].columns:
                given = columns.get(column.name)
                if column.default is None and (given is None or given.count(None) == rows):
                    continue  # blank in every row: the column is left out and stays NULL
                names.append(column.name)
                values.append(_with_default(given, self._defaults.get(column.name), rows))
            keys: list[list[object]] = [columns["row_number"], external_ids, emails]
            if picked is not None:
                values = [_pick(value, picked) for value in values]
                keys = [_pick(value, picked) for value in keys]
            chunk.leads_columns = [*names, "source", "import_batch_id"]
            chunk.leads_csv = _csv(
                zip(*values, [self.source] * count, [str(self.batch_id)] * count, strict=True)
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
                      where t.external_id = u.external_id limit 1))
               or (u.email is not null and (
                      select true from public.leads t
                      where lower(t.email) = lower(u.email) limit 1))
            """,
            {"rows": numbers, "ids": external_ids, "emails": emails},
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


# --------------------------------------------------------------------------------------------
# Rejections decided in SQL
# --------------------------------------------------------------------------------------------
def reject(
    context: LoadContext,
    *,
    where: str,
    reason: str,
    column: str | None,
    value: str,
    explain: str,
    params: dict[str, object] | None = None,
) -> int:
    """Move stage rows matching ``where`` into ingest.rejected_rows with a per-row message.

    ``value`` and ``explain`` are SQL expressions over the stage row ``s``; the message is
    `<file>, row <n>, column "<header>": <explain>`.
    """
    prefix = (
        "format('%%s, row %%s, column \"%%s\": ', %(file)s::text, s.row_number, %(header)s::text)"
        if column
        else "format('%%s, row %%s: ', %(file)s::text, s.row_number)"
    )
    query = f"""
        with bad as (
            delete from {STAGE} s where {where} returning s.*
        )
        insert into ingest.rejected_rows
            (import_batch_id, row_number, column_name, raw_value, reason_code, message, raw_row)
        select %(batch)s, s.row_number, %(header)s, ({value})::text, %(reason)s,
               {prefix} || {explain},
               jsonb_strip_nulls(to_jsonb(s) - 'row_number')
        from bad s
    """
    return context.execute(
        query,
        {
            "batch": context.batch_id,
            "file": context.file_name,
            "header": context.header(column) if column else None,
            "reason": reason,
            **(params or {}),
        },
    )


def reject_missing_name(context: LoadContext, *, noun: str) -> int:
    """Reject rows without a name (accounts and projects are known by it)."""
    return reject(
        context,
        where="s.name is null or btrim(s.name) = ''",
        reason="missing_value",
        column="name",
        value="s.name",
        explain=f"'the {noun} has no name; fill in the name.'",
    )


def reject_in_file_duplicates(
    context: LoadContext,
    key_sql: str,
    column: str,
    *,
    noun: str,
    where: str = "true",
    shown: str | None = None,
) -> int:
    """Reject rows whose key already appeared in an earlier row of the same file."""
    context.execute(
        f"""
        update {STAGE} s set first_row = d.first_row
        from (
            select row_number,
                   min(row_number) over (partition by {key_sql}) as first_row
            from {STAGE} s
            where {key_sql} is not null and {where}
        ) d
        where s.row_number = d.row_number and d.first_row <> d.row_number
        """
    )
    return reject(
        context,
        where="s.first_row is not null",
        reason="duplicate_in_file",
        column=column,
        value=shown or key_sql,
        explain=f'format(\'"%%s" is the same {noun} as row %%s; merge the two rows or delete '
        f"one.', {shown or key_sql}, s.first_row)",
    )


# --------------------------------------------------------------------------------------------
# Natural keys
# --------------------------------------------------------------------------------------------
def match_people(context: LoadContext, table: str, id_column: str, where: str = "true") -> None:
    """Find existing leads/contacts by external id, lower(email), else name and company."""
    context.execute(
        f"""
        update {STAGE} s set by_external_id = t.{id_column}
        from public.{table} t
        where t.external_id = s.external_id and {where}
        """
    )
    context.execute(
        f"""
        update {STAGE} s set by_email = t.{id_column}
        from public.{table} t
        where lower(t.email) = lower(s.email) and {where}
        """
    )
    company = "t.company" if table == "leads" else "a.name"
    join = "" if table == "leads" else "join public.accounts a using (account_id)"
    stage_company = "s.company" if "company" in ENTITY_FIELDS[context.entity] else "s.account_name"
    context.execute(
        f"""
        update {STAGE} s set by_name = m.{id_column}
        from (
            select lower(coalesce(t.first_name, '')) as first_name,
                   lower(coalesce(t.last_name, '')) as last_name,
                   lower(coalesce({company}, '')) as company,
                   min(t.{id_column}::text)::uuid as {id_column}
            from public.{table} t {join}
            where t.email is null and t.external_id is null
            group by 1, 2, 3
            having count(*) = 1
        ) m
        where s.external_id is null and s.email is null and {where}
          and m.first_name = lower(coalesce(s.first_name, ''))
          and m.last_name = lower(coalesce(s.last_name, ''))
          and m.company = lower(coalesce({stage_company}, ''))
        """
    )


def reject_key_conflicts(context: LoadContext, noun: str, where: str = "true") -> int:
    """A row whose external id and email point at two different stored records."""
    return reject(
        context,
        where=f"s.by_external_id <> s.by_email and {where}",
        reason="key_conflict",
        column="email",
        value="s.email",
        explain=f'format(\'"%%s" belongs to another {noun} than external id "%%s"; correct '
        "the email or the id.', s.email, s.external_id)",
    )


def set_targets(context: LoadContext, where: str = "true") -> None:
    context.execute(
        f"update {STAGE} s set target_id = coalesce(by_external_id, by_email, by_domain, by_name)"
        f" where coalesce(by_external_id, by_email, by_domain, by_name) is not null and {where}"
    )


# --------------------------------------------------------------------------------------------
# Relations
# --------------------------------------------------------------------------------------------
def resolve_accounts(
    context: LoadContext, into: str, *, prefix: str = "account", email_fallback: bool = False
) -> None:
    """Set ``into`` from the account's external id, domain or exact name (case-insensitive).

    A name that matches several accounts leaves the candidates in ``candidates`` so the row can be
    rejected with them named. With ``email_fallback`` the person's email domain is tried last.
    """
    external, domain, name = (f"{prefix}_external_id", f"{prefix}_domain", f"{prefix}_name")
    stage = stage_columns(context.entity)
    if external in stage:
        context.execute(
            f"""
            update {STAGE} s set {into} = a.account_id
            from public.accounts a
            where s.{into} is null and a.external_id = s.{external}
            """
        )
    if domain in stage:
        context.execute(
            f"""
            update {STAGE} s set {into} = a.account_id
            from public.accounts a
            where s.{into} is null and lower(a.domain) = lower(s.{domain})
            """
        )
    if name in stage:
        context.execute(
            f"""
            update {STAGE} s
            set {into} = case when m.n = 1 then m.account_id end,
                candidates = case when m.n > 1 then m.names end,
                candidate_count = m.n
            from (
                select lower(a.name) as key, count(*) as n, min(a.account_id::text)::uuid
                       as account_id,
                       string_agg(a.name || coalesce(' [' || a.domain || ']', ''), ', '
                                  order by a.name, a.domain) as names
                from public.accounts a
                group by lower(a.name)
            ) m
            where s.{into} is null and s.candidates is null and m.key = lower(s.{name})
            """
        )
    if email_fallback and "email" in stage:
        context.execute(
            f"""
            update {STAGE} s set {into} = a.account_id
            from public.accounts a
            where s.{into} is null and s.candidates is null and s.email is not null
              and lower(a.domain) = lower(split_part(s.email, '@', 2))
            """
        )


def reject_unresolved_account(
    context: LoadContext, into: str, *, where: str, prefix: str = "account", fix: str
) -> int:
    """Reject rows that need an account: ambiguous names first, then no match at all."""
    names = f"{prefix}_name"
    stage = stage_columns(context.entity)
    rejected = 0
    if names in stage:
        rejected += reject(
            context,
            where=f"s.{into} is null and s.candidates is not null and {where}",
            reason="ambiguous_account",
            column=names,
            value=f"s.{names}",
            explain=f"format('\"%%s\" matches %%s accounts (%%s); use the account''s domain or "
            f"external id instead.', s.{names}, s.candidate_count, s.candidates)",
        )
    given = [
        f"s.{name}"
        for name in (names, f"{prefix}_domain", f"{prefix}_external_id")
        if name in stage
    ]
    value = f"coalesce({', '.join(given)})" if given else "null"
    column = next(
        (
            name
            for name in (names, f"{prefix}_domain", f"{prefix}_external_id")
            if name in context.headers
        ),
        None,
    )
    unnamed = f"'no account is named; {fix}'"
    if "email" in stage:
        unnamed = (
            "'no account is named' || coalesce(' and none has the domain of \"' || s.email || "
            f"'\"', '') || '; {fix}'"
        )
    rejected += reject(
        context,
        where=f"s.{into} is null and {where}",
        reason="no_account",
        column=column,
        value=value,
        explain=f"case when {value} is null then {unnamed} else format('no "
        f'account matches "%%s"; {fix}\', {value}) end',
    )
    return rejected


# --------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------
def merge(context: LoadContext, spec: Entity, where: str = "true") -> MergeCounts:
    """One UPDATE for matched rows that differ, one INSERT for new rows; count each outcome."""
    counts = MergeCounts()
    table = f"public.{spec.table}"

    def staged(column: Field) -> str:
        return f"s.{column.name}::{column.cast}" if column.cast else f"s.{column.name}"

    merged = []
    for column in spec.columns:
        value = f"coalesce({staged(column)}, t.{column.name})"
        if column.name == "external_id":
            # An id from another system never replaces the one a record already has: it would
            # make the two exports flip it back and forth on every import.
            value = f"coalesce(t.external_id, {staged(column)})"
        if column.name == "email":
            # The same address in other letter case is the same key: keep how it was stored.
            value = f"case when lower(s.email) = lower(t.email) then t.email else {value} end"
        if spec.table == "leads" and column.name == "status":
            # A converted lead stays converted: undoing it would orphan its account link.
            value = f"case when t.status = 'converted' then t.status else {value} end"
        merged.append((column.name, value))
    assignments = ", ".join(f"{name} = {value}" for name, value in merged)
    new_values = ", ".join(value for _, value in merged)
    old_values = ", ".join(f"t.{name}" for name, _ in merged)
    row = context.conn.execute(
        f"select count(*) from {STAGE} s where s.target_id is not null and {where}"  # type: ignore[arg-type]
    ).fetchone()
    matched = int(row[0]) if row else 0
    counts.updated = context.execute(
        f"""
        update {table} t
        set {assignments}, import_batch_id = %(batch)s
        from {STAGE} s
        where t.{spec.id_column} = s.target_id and {where}
          and ({new_values}) is distinct from ({old_values})
        """,
        {"batch": context.batch_id},
    )
    counts.unchanged = matched - counts.updated
    counts.inserted = context.execute(
        insert_statement(spec, STAGE, f"s.target_id is null and {where}"),
        {"batch": context.batch_id, "source": context.source},
    )
    return counts


def insert_statement(spec: Entity, source: str, where: str) -> str:
    """INSERT of the rows of ``source`` (aliased ``s``) matching ``where`` as new records.

    Blank cells take the column's default; ``%(source)s`` and ``%(batch)s`` are parameters.
    """

    def staged(column: Field) -> str:
        return f"s.{column.name}::{column.cast}" if column.cast else f"s.{column.name}"

    names = ", ".join(column.name for column in spec.columns)
    values = ", ".join(
        f"coalesce({staged(column)}, {column.default})" if column.default else staged(column)
        for column in spec.columns
    )
    return f"""
        insert into public.{spec.table} ({names}, source, import_batch_id)
        select {values}, %(source)s, %(batch)s
        from {source} s
        where {where}
        """


def add(total: MergeCounts, part: MergeCounts) -> None:
    total.inserted += part.inserted
    total.updated += part.updated
    total.unchanged += part.unchanged


# --------------------------------------------------------------------------------------------
# Per entity
# --------------------------------------------------------------------------------------------
def load_stage(context: LoadContext) -> MergeCounts:
    """Resolve and merge everything staged for the file; rejected rows leave the stage."""
    if context.entity == "leads" and context.early_inserted and not context.staged_for_merge:
        # Every row was provably new and is inserted already (see Stager): the merge would
        # reject, match and update nothing, so it is skipped.
        return MergeCounts(inserted=context.early_inserted)
    context.execute(f"analyze {STAGE}")
    loaders: dict[str, Callable[[LoadContext], MergeCounts]] = {
        "accounts": _load_accounts,
        "contacts": _load_contacts,
        "leads": _load_leads,
        "people": _load_people,
        "projects": _load_projects,
        "activities": _load_activities,
    }
    return loaders[context.entity](context)


def _people_duplicates(context: LoadContext, noun: str, where: str = "true") -> None:
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun=noun, where=where)
    reject_in_file_duplicates(
        context, "lower(s.email)", "email", noun=noun, where=where, shown="s.email"
    )


def _load_leads(context: LoadContext, where: str = "true") -> MergeCounts:
    if where == "true":
        _people_duplicates(context, "lead")
    if context.early_inserted:
        # Rows inserted while reading are the first of their keys (the duplicate checks above
        # kept them) and match no stored lead; with them gone, the rest merges as it would have.
        context.execute(f"delete from {STAGE} where early")
    match_people(context, "leads", "lead_id", where)
    reject_key_conflicts(context, "lead", where)
    set_targets(context, where)
    reject_in_file_duplicates(
        context,
        "s.target_id",
        "email",
        noun="lead",
        where=where,
        shown="coalesce(s.email, s.external_id, s.last_name)",
    )
    if "converted_account_external_id" in stage_columns(context.entity):
        context.execute(
            f"""
            update {STAGE} s set converted_account_id = a.account_id
            from public.accounts a
            where a.external_id = s.converted_account_external_id and {where}
            """
        )
    converted = context.conn.execute(
        f"select exists (select from {STAGE} s where s.status = 'converted' and {where})"  # type: ignore[arg-type]
    ).fetchone()
    if converted and converted[0]:
        reject(
            context,
            where=f"""s.status = 'converted' and {where} and (
                coalesce(s.converted_account_id,
                         (select converted_account_id from public.leads l
                          where l.lead_id = s.target_id)) is null
                or coalesce(s.converted_date,
                            (select converted_date from public.leads l
                             where l.lead_id = s.target_id)) is null)""",
            reason="converted_without_account",
            column="status",
            value="s.status",
            explain="'a converted lead needs the account it became (an account id that is "
            "already imported) and its converted date; import the accounts first or fill in "
            "both columns.'",
        )
        context.execute(
            f"""
            update {STAGE} s set converted_account_id = null, converted_date = null
            where coalesce(s.status, 'new') <> 'converted' and {where}
              and (s.converted_account_id is not null or s.converted_date is not null)
            """
        )
    counts = merge(context, REGISTRY["leads"], where)
    counts.inserted += context.early_inserted
    return counts


def _load_contacts(context: LoadContext, where: str = "true") -> MergeCounts:
    if where == "true":
        _people_duplicates(context, "contact")
    match_people(context, "contacts", "contact_id", where)
    reject_key_conflicts(context, "contact", where)
    set_targets(context, where)
    reject_in_file_duplicates(
        context,
        "s.target_id",
        "email",
        noun="contact",
        where=where,
        shown="coalesce(s.email, s.external_id, s.last_name)",
    )
    resolve_accounts(context, "account_id", email_fallback=True)
    reject_unresolved_account(
        context,
        "account_id",
        where=f"s.target_id is null and {where}",
        fix="import the account first, add it to the file, or import the person as a lead "
        "with --entity leads.",
    )
    return merge(context, REGISTRY["contacts"], where)


def _load_people(context: LoadContext) -> MergeCounts:
    """Contacts when the person is known as one or their company/email domain is an account."""
    _people_duplicates(context, "person")
    if context.forced_entity in ("leads", "contacts"):
        context.execute(f"update {STAGE} set route = %(route)s", {"route": context.forced_entity})
    else:
        match_people(context, "contacts", "contact_id")
        context.execute(
            f"""
            update {STAGE} s set route = 'contacts'
            where coalesce(s.by_external_id, s.by_email, s.by_name) is not null
            """
        )
        context.execute(
            f"update {STAGE} set by_external_id = null, by_email = null, by_name = null "
            "where num_nonnulls(by_external_id, by_email, by_name) > 0"
        )
        match_people(context, "leads", "lead_id", "s.route is null")
        context.execute(
            f"""
            update {STAGE} s set route = 'leads'
            where s.route is null and coalesce(s.by_external_id, s.by_email, s.by_name) is not null
            """
        )
        context.execute(
            f"update {STAGE} set by_external_id = null, by_email = null, by_name = null "
            "where num_nonnulls(by_external_id, by_email, by_name) > 0"
        )
        resolve_accounts(context, "account_id", email_fallback=True)
        context.execute(
            f"""
            update {STAGE} s set route = case when s.account_id is not null then 'contacts'
                                             else 'leads' end,
                                 candidates = null, candidate_count = null
            where s.route is null
            """
        )
        context.execute(
            f"update {STAGE} set account_id = null, candidates = null "
            "where num_nonnulls(account_id, candidates) > 0"
        )
    total = MergeCounts()
    contacts = _load_contacts(context, "s.route = 'contacts'")
    leads = _load_leads(context, "s.route = 'leads'")
    add(total, contacts)
    add(total, leads)
    total.routed = {
        "contacts": contacts.inserted + contacts.updated + contacts.unchanged,
        "leads": leads.inserted + leads.updated + leads.unchanged,
    }
    return total


def _load_accounts(context: LoadContext) -> MergeCounts:
    reject_missing_name(context, noun="account")
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun="external id")
    reject_in_file_duplicates(context, "lower(s.domain)", "domain", noun="domain", shown="s.domain")
    context.execute(
        f"""
        update {STAGE} s set by_external_id = a.account_id
        from public.accounts a where a.external_id = s.external_id
        """
    )
    context.execute(
        f"""
        update {STAGE} s set by_domain = a.account_id
        from public.accounts a where lower(a.domain) = lower(s.domain)
        """
    )
    reject(
        context,
        where="s.by_external_id <> s.by_domain",
        reason="key_conflict",
        column="domain",
        value="s.domain",
        explain='format(\'"%%s" belongs to another account than external id "%%s"; correct '
        "the domain or the id.', s.domain, s.external_id)",
    )
    # Without an id or domain match, an account is found by its exact name (case-insensitive),
    # but only one whose domain is blank or the same: two companies may share a name.
    context.execute(
        f"""
        update {STAGE} s
        set by_name = case when m.n = 1 then m.account_id end,
            candidates = case when m.n > 1 then m.names end, candidate_count = m.n
        from (
            select lower(a.name) as key, count(*) as n, min(a.account_id::text)::uuid
                   as account_id, string_agg(a.name || coalesce(' [' || a.domain || ']', ''),
                   ', ' order by a.name, a.domain) as names
            from public.accounts a
            group by lower(a.name)
        ) m
        where s.by_external_id is null and s.by_domain is null and m.key = lower(s.name)
          and (s.domain is null or not exists (
                select from public.accounts a
                where lower(a.name) = m.key and a.domain is not null))
        """
    )
    reject(
        context,
        where="s.candidates is not null",
        reason="ambiguous_account",
        column="name",
        value="s.name",
        explain='format(\'"%%s" matches %%s accounts (%%s); add the domain or external id to '
        "say which.', s.name, s.candidate_count, s.candidates)",
    )
    set_targets(context)
    reject_in_file_duplicates(
        context,
        "coalesce(s.target_id::text, lower(s.domain), lower(s.name))",
        "name",
        noun="account",
        shown="s.name",
    )
    return merge(context, REGISTRY["accounts"])


def _load_projects(context: LoadContext) -> MergeCounts:
    reject_missing_name(context, noun="project")
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun="external id")
    resolve_accounts(context, "account_id")
    context.execute(
        f"""
        update {STAGE} s set by_external_id = p.project_id,
                             account_id = coalesce(s.account_id, p.account_id)
        from public.projects p where p.external_id = s.external_id
        """
    )
    reject_unresolved_account(
        context,
        "account_id",
        where="true",
        fix="import the account first or correct the account column.",
    )
    context.execute(
        f"""
        update {STAGE} s set by_name = m.project_id
        from (
            select account_id, lower(name) as key, min(project_id::text)::uuid as project_id
            from public.projects group by 1, 2 having count(*) = 1
        ) m
        where s.by_external_id is null and s.external_id is null
          and m.account_id = s.account_id and m.key = lower(s.name)
        """
    )
    set_targets(context)
    # Two rows are the same project when they update the same stored one, share an external id
    # (checked above), or, without an external id, share the account and the name. Rows with
    # their own external ids are different projects even with the same name (a client can buy
    # the same "Pricing review" twice).
    reject_in_file_duplicates(
        context,
        "coalesce(s.target_id::text, 'external:' || s.external_id,"
        " 'name:' || s.account_id::text || ':' || lower(s.name))",
        "name",
        noun="project",
        shown="s.name",
    )
    stage = stage_columns(context.entity)
    if "primary_contact_external_id" in stage:
        context.execute(
            f"""
            update {STAGE} s set primary_contact_id = c.contact_id
            from public.contacts c where c.external_id = s.primary_contact_external_id
            """
        )
    context.execute(
        f"""
        update {STAGE} s set primary_contact_id = c.contact_id
        from public.contacts c
        where s.primary_contact_id is null and lower(c.email) = lower(s.primary_contact_email)
        """
    )
    context.execute(
        f"""
        update {STAGE} s set currency_code = upper(btrim(coalesce(s.currency_code,
                                                                   s.amount__currency)))
        where coalesce(s.currency_code, s.amount__currency) is not null
        """
    )
    reject(
        context,
        where="s.currency_code !~ '^[A-Z]{3}$'",
        reason="invalid_currency",
        column="currency_code",
        value="s.currency_code",
        explain='format(\'"%%s" is not a currency code; write a three-letter ISO code like EUR '
        "or USD.', s.currency_code)",
    )
    stored = "(select {column} from public.projects p where p.project_id = s.target_id)"
    stage_value = "coalesce(s.stage, {stored}::text, 'qualification')".format(
        stored=stored.format(column="stage")
    )
    close_date = f"coalesce(s.close_date, {stored.format(column='close_date')})"
    reject(
        context,
        where=f"{stage_value} in ('won', 'lost') and {close_date} is null",
        reason="missing_close_date",
        column="close_date",
        value="s.close_date",
        explain=f"format('a %%s project needs a close date; fill it in.', {stage_value})",
    )
    reject(
        context,
        where=f"s.delivery_status is not null and {stage_value} <> 'won'",
        reason="delivery_before_won",
        column="delivery_status",
        value="s.delivery_status",
        explain="'only won projects have a delivery status; set the stage to won or clear it.'",
    )
    reject(
        context,
        where=f"s.end_date < coalesce(s.start_date, {stored.format(column='start_date')})",
        reason="end_before_start",
        column="end_date",
        value="s.end_date",
        explain="'the end date is before the start date; correct one of them.'",
    )
    return merge(context, REGISTRY["projects"])


def _load_activities(context: LoadContext) -> MergeCounts:
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun="external id")
    stage = stage_columns(context.entity)
    lookups = [
        ("project_id", "projects", "project_id", "p.external_id = s.project_external_id"),
        ("project_id", "projects", "project_id", "p.external_id = s.what_external_id"),
        ("account_id", "accounts", "account_id", "p.external_id = s.what_external_id"),
        ("lead_id", "leads", "lead_id", "p.external_id = s.who_external_id"),
        ("lead_id", "leads", "lead_id", "lower(p.email) = lower(s.lead_email)"),
        ("contact_id", "contacts", "contact_id", "p.external_id = s.who_external_id"),
        ("contact_id", "contacts", "contact_id", "lower(p.email) = lower(s.contact_email)"),
    ]
    for into, table, id_column, condition in lookups:
        context.execute(
            f"""
            update {STAGE} s set {into} = p.{id_column}
            from public.{table} p where s.{into} is null and {condition}
            """
        )
    if "project_name" in stage:
        context.execute(
            f"""
            update {STAGE} s set project_id = m.project_id
            from (select lower(name) as key, min(project_id::text)::uuid as project_id
                  from public.projects group by 1 having count(*) = 1) m
            where s.project_id is null and m.key = lower(s.project_name)
            """
        )
    resolve_accounts(context, "account_id")
    # Exactly one parent: the most specific one named; a contact alone means its account.
    context.execute(
        f"""
        update {STAGE} s set
            account_id = case
                when s.project_id is not null then null
                when s.account_id is not null then s.account_id
                when s.lead_id is not null then null
                else (select c.account_id from public.contacts c
                      where c.contact_id = s.contact_id) end,
            lead_id = case when s.project_id is null and s.account_id is null
                           then s.lead_id end,
            occurred_at = coalesce(s.occurred_at, s.due_date::timestamptz, s.created_at)
        """
    )
    reject(
        context,
        where="s.activity_type is null",
        reason="missing_value",
        column="activity_type",
        value="s.activity_type",
        explain="'the activity has no type; write email, call, meeting, note or task.'",
    )
    reject(
        context,
        where="s.occurred_at is null",
        reason="missing_date",
        column="occurred_at",
        value="s.occurred_at",
        explain="'the activity has no date; fill in when it happened (or its due date).'",
    )
    reject(
        context,
        where="s.ends_at < s.occurred_at",
        reason="end_before_start",
        column="ends_at",
        value="s.ends_at",
        explain="'the activity ends before it starts; correct one of the times.'",
    )
    named = [
        f"s.{name}"
        for name in (
            "who_external_id",
            "what_external_id",
            "lead_email",
            "contact_email",
            "account_name",
            "account_domain",
            "account_external_id",
            "project_external_id",
            "project_name",
        )
        if name in context.headers
    ]
    value = f"coalesce({', '.join(named)})" if named else "null"
    reject(
        context,
        where="num_nonnulls(s.lead_id, s.account_id, s.project_id) = 0",
        reason="no_parent",
        column=None,
        value=value,
        explain="'no lead, contact, account or project matches ' || coalesce('\"' || "
        f"{value} || '\"', 'this row (none is named)') || '; import them first or correct the "
        "reference.'",
    )
    context.execute(
        f"""
        update {STAGE} s set by_external_id = a.activity_id
        from public.activities a where a.external_id = s.external_id
        """
    )
    # Without an external id an activity is the same when its type, time, subject and parent are.
    context.execute(
        f"""
        update {STAGE} s set by_name = a.activity_id
        from public.activities a
        where s.external_id is null and a.external_id is null
          and a.activity_type = s.activity_type::public.activity_type
          and a.occurred_at = s.occurred_at
          and a.subject is not distinct from s.subject
          and a.lead_id is not distinct from s.lead_id
          and a.account_id is not distinct from s.account_id
          and a.project_id is not distinct from s.project_id
        """
    )
    set_targets(context)
    reject_in_file_duplicates(
        context,
        "coalesce(s.target_id::text, s.occurred_at::text || s.activity_type || "
        "coalesce(s.subject, '') || coalesce(s.lead_id, s.account_id, s.project_id)::text)",
        "subject",
        noun="activity",
        shown="coalesce(s.subject, s.occurred_at::text)",
    )
    return merge(context, REGISTRY["activities"])
