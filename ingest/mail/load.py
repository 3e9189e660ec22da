"""Load one mail export: parse → COPY into a stage → de-duplicate, link and merge in SQL.

Everything for one file runs in one transaction together with its batch row. Messages are parsed
one at a time and streamed into the temporary table ``mail_stage`` with ``COPY`` in chunks; then a
handful of set-based statements de-duplicate (within the file and against earlier imports), link
each message to a contact, lead or account and create the activities (:mod:`ingest.mail.link`,
whose ``relink`` links unmatched messages later), and keep every message in
``ingest.mail_messages``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from ingest.audit import (
    connection_lost,
    find_loaded_batch,
    finish_batch,
    is_connection_lost,
    lock_imports,
    open_batch,
    record_failure,
    record_rejections,
)
from ingest.entities import ACTIVITIES, LEADS
from ingest.errors import ConnectionLost, CrmError
from ingest.files import Snapshot
from ingest.mail.body import BODY_MAX_CHARS
from ingest.mail.link import (
    EXTERNAL_ID,
    SOURCE,
    create_activities,
    link_messages,
    link_participants,
    rowcount,
)
from ingest.mail.message import MessageRejected, ParsedMessage, parse_message
from ingest.mail.people import (
    FREE_MAIL_DOMAINS,
    Owners,
    classify,
    company_from_domain,
    split_person_name,
)
from ingest.mail.sources import (
    MAX_MESSAGE_BYTES,
    MailExport,
    RawMessage,
    export_sha256,
    iter_messages,
    recognise,
)
from ingest.results import (
    BatchCounts,
    FileFacts,
    FileResult,
    Rejection,
    display_name,
    unexpected_failure,
)

__all__ = ["describe", "import_mail_file"]

STAGE = "mail_stage"
ENTITY = "activities"
CHUNK_MESSAGES = 2_000
PROGRESS_EVERY = 250

STAGE_COLUMNS: list[tuple[str, str]] = [
    ("position", "integer"),
    ("byte_offset", "bigint"),
    ("message_key", "text"),
    ("message_id", "text"),
    ("content_sha256", "text"),
    ("occurred_at", "timestamptz"),
    ("direction", "text"),
    ("link_state", "text"),
    ("is_automated", "boolean"),
    ("from_address", "text"),
    ("from_name", "text"),
    ("sender_first_name", "text"),
    ("sender_last_name", "text"),
    ("sender_company", "text"),
    ("counterpart_addresses", "text[]"),
    ("subject", "text"),
    ("body", "text"),
    ("thread_key", "text"),
    ("labels", "text[]"),
    ("details", "jsonb"),
]
RESOLUTION_COLUMNS = """
    mail_message_id bigint,
    has_message_id_conflict boolean not null default false,
    linked_by text,
    linked_address text,
    linked_at timestamptz,
    contact_id uuid,
    lead_id uuid,
    account_id uuid,
    activity_id uuid
"""

Progress = Callable[[int], None]


def import_mail_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    owner_emails: Sequence[str],
    create_leads: bool = False,
    since: date | None = None,
    dry_run: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    store_bodies: bool = True,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    body_max_chars: int = BODY_MAX_CHARS,
) -> FileResult:
    """Import one mail export in one transaction; problems in the file become a failed result."""
    started = time.perf_counter()
    owners = Owners.of(owner_emails)
    if not owners.addresses and not owners.domains:
        raise CrmError(
            f"{path.name}: importing mail needs your own address(es) to tell sent from received "
            "mail; give --owner-email you@example.com (repeatable), or state them once: "
            "crm config set mail.owner_emails you@example.com you@gmail.com"
        )
    export = recognise(path)
    if export is None:
        raise CrmError(
            f"{path}: not a mail export (expected an mbox file, an Apple Mail .mbox folder, an "
            ".eml file or a folder of .eml files)."
        )
    snapshot = Snapshot.of(export.files)  # before hashing: the hash must cover what is read
    facts = _facts(export)
    result = FileResult(
        path=path, kind="mail", status="loaded", profile=export.label, entity=ENTITY
    )
    if not force and not dry_run:
        earlier = find_loaded_batch(conn, facts.sha256)
        if earlier:
            result.status = "skipped"
            result.import_batch_id = earlier[0]
            result.message = (
                f"already imported (batch {earlier[0]}, {earlier[1]}); nothing changed. "
                "Use --force to import it again."
            )
            result.seconds = time.perf_counter() - started
            return result
    options = _Options(
        owners=owners,
        create_leads=create_leads,
        since=datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None,
        store_bodies=store_bodies,
        max_message_bytes=max_message_bytes,
        body_max_chars=body_max_chars,
    )
    try:
        with conn.transaction():
            lock_imports(conn)
            batch_id = open_batch(
                conn, facts, profile=export.label, entity=ENTITY, encoding=None, dry_run=dry_run
            )
            result.import_batch_id = batch_id
            counts = _load_export(conn, export, options, batch_id, progress)
            snapshot.check_unchanged(path.name)
            result.counts = counts
            result.message = describe(counts)
            finish_batch(conn, batch_id, counts, message=result.message)
            if dry_run:
                result.status = "dry_run"
                raise psycopg.Rollback()
    except OSError as exc:
        _record_failure(
            conn,
            facts,
            result,
            export,
            dry_run,
            f"{path.name}: could not be read ({exc.strerror or exc}); nothing was loaded.",
        )
    except ConnectionLost:
        raise
    except CrmError as exc:
        _record_failure(conn, facts, result, export, dry_run, str(exc))
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        detail = exc.diag.message_primary or str(exc)
        constraint = f" (rule {exc.diag.constraint_name})" if exc.diag.constraint_name else ""
        _record_failure(
            conn,
            facts,
            result,
            export,
            dry_run,
            f"{path.name}: the database refused the import: {detail}{constraint}; nothing was "
            "loaded.",
        )
    except psycopg.Error as exc:
        if is_connection_lost(conn):
            raise connection_lost(display_name(path), exc) from exc
        detail = " ".join((exc.diag.message_primary or str(exc)).split())
        _record_failure(
            conn,
            facts,
            result,
            export,
            dry_run,
            f"{display_name(path)}: the database stopped the import ({type(exc).__name__}: "
            f"{detail}); nothing was loaded. Import it again; if it happens again, ask whoever "
            "runs the server.",
        )
    except Exception as exc:  # a bug: this export fails alone, with a trace a developer can use
        message, trace = unexpected_failure(display_name(path), exc)
        _record_failure(conn, facts, result, export, dry_run, message)
        result.traceback = trace
    result.seconds = time.perf_counter() - started
    return result


def describe(counts: BatchCounts) -> str:
    """One line for the summary table and the batch row."""
    extra = counts.extra
    parts = [
        f"{extra.get('linked', 0)} linked",
        f"{extra.get('unmatched', 0)} unmatched (kept for crm relink)",
        f"{extra.get('internal', 0)} internal",
    ]
    for key, text in (
        ("duplicates", "duplicate(s) in the file"),
        ("already_stored", "already stored"),
        ("message_id_conflicts", "sharing a Message-ID with a different message (flagged)"),
        ("before_since", "before --since"),
        ("leads_created", "lead(s) created"),
        ("related", "further participant(s) related to their activity"),
        ("flagged", "with decoding problems (flagged in details)"),
        (
            "subjects_shortened",
            f"subject(s) over {SUBJECT_MAX_CHARS} characters shortened "
            "(the whole subject is in details)",
        ),
    ):
        if extra.get(key):
            parts.append(f"{extra[key]} {text}")
    if extra.get("nul_removed"):
        parts.append(
            f"removed {extra['nul_removed']} NUL byte(s) from {extra['nul_messages']} message(s)"
        )
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------


class _Options:
    def __init__(
        self,
        *,
        owners: Owners,
        create_leads: bool,
        since: datetime | None,
        store_bodies: bool,
        max_message_bytes: int,
        body_max_chars: int,
    ) -> None:
        self.owners = owners
        self.create_leads = create_leads
        self.since = since
        self.store_bodies = store_bodies
        self.max_message_bytes = max_message_bytes
        self.body_max_chars = body_max_chars


def _facts(export: MailExport) -> FileFacts:
    if export.kind == "eml-folder":
        sha256, size = export_sha256(export)
        return FileFacts(name=export.path.name, sha256=sha256, size_bytes=size)
    facts = FileFacts.of(export.files[0])
    return FileFacts(name=export.path.name, sha256=facts.sha256, size_bytes=facts.size_bytes)


def _record_failure(
    conn: psycopg.Connection,
    facts: FileFacts,
    result: FileResult,
    export: MailExport,
    dry_run: bool,
    message: str,
) -> None:
    try:
        record_failure(
            conn,
            facts,
            result,
            profile=export.label,
            entity=ENTITY,
            encoding=None,
            message=message,
            dry_run=dry_run,
        )
    except psycopg.Error as exc:
        if is_connection_lost(conn):
            raise connection_lost(facts.name, exc) from exc
        raise


def _where(raw: RawMessage, export: MailExport) -> str:
    if export.kind == "eml-folder":
        return f"{export.path.name}/{raw.origin}"
    if export.kind == "eml":
        return export.path.name
    return f"{export.path.name}, message {raw.number} (byte offset {raw.offset})"


def _rejection(raw: RawMessage, export: MailExport, reason: str, text: str) -> Rejection:
    return Rejection(
        row_number=raw.number,
        reason_code=reason,
        message=f"{_where(raw, export)}: {text}",
        column=None,
        value=raw.from_line,
        raw_row={"file": raw.origin, "offset": raw.offset, "size_bytes": raw.size_bytes},
    )


def _load_export(
    conn: psycopg.Connection,
    export: MailExport,
    options: _Options,
    batch_id: int,
    progress: Progress | None,
) -> BatchCounts:
    conn.execute(f"drop table if exists {STAGE}")
    columns = ",\n".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS)
    conn.execute(f"create temp table {STAGE} ({columns}, {RESOLUTION_COLUMNS}) on commit drop")
    counts = BatchCounts()
    rows: list[tuple[object, ...]] = []
    rejections: list[Rejection] = []
    before_since = 0
    flagged = 0
    cleaned = _Cleaned()
    for raw in iter_messages(export, max_bytes=options.max_message_bytes):
        counts.read += 1
        if raw.is_oversized:
            rejections.append(
                _rejection(
                    raw,
                    export,
                    "message_too_large",
                    f"is {raw.size_bytes:,} bytes, over the {options.max_message_bytes:,}-byte "
                    "limit for one message; it was skipped (its attachments are what make it "
                    "large — forward it without them if it matters).",
                )
            )
        else:
            try:
                message = parse_message(
                    raw.data,
                    from_line=raw.from_line,
                    store_body=options.store_bodies,
                    body_limit=options.body_max_chars,
                )
            except MessageRejected as exc:
                rejections.append(_rejection(raw, export, exc.reason_code, str(exc)))
            except Exception as exc:  # one broken message must not stop the mailbox
                rejections.append(
                    _rejection(
                        raw,
                        export,
                        "unparseable_message",
                        f"could not be parsed ({type(exc).__name__}: {exc}); it was skipped.",
                    )
                )
            else:
                if options.since is not None and message.occurred_at < options.since:
                    before_since += 1
                else:
                    flagged += bool(message.flags)
                    rows.append(cleaned.row(_stage_row(raw, message, options.owners)))
        if len(rows) >= CHUNK_MESSAGES:
            _copy_rows(conn, rows)
            rows.clear()
        if len(rejections) >= CHUNK_MESSAGES:
            record_rejections(conn, batch_id, rejections)
            rejections.clear()
        if progress is not None and counts.read % PROGRESS_EVERY == 0:
            progress(counts.read)
    if rows:
        _copy_rows(conn, rows)
    if rejections:
        record_rejections(conn, batch_id, rejections)
    if progress is not None:
        progress(counts.read)
    if counts.read == 0:
        raise CrmError(f"{export.path.name}: the export holds no messages; nothing was loaded.")
    counts.extra.update(_merge_stage(conn, batch_id, options))
    counts.inserted = counts.extra.pop("inserted")
    counts.updated = counts.extra.pop("updated")
    counts.unchanged = counts.extra["already_stored"] - counts.updated
    counts.extra["before_since"] = before_since
    counts.extra["flagged"] = flagged
    if cleaned.nul_removed:
        counts.extra["nul_removed"] = cleaned.nul_removed
        counts.extra["nul_messages"] = cleaned.nul_messages
    if cleaned.subjects_shortened:
        counts.extra["subjects_shortened"] = cleaned.subjects_shortened
    row = conn.execute(
        "select count(*) from ingest.rejected_rows where import_batch_id = %s", (batch_id,)
    ).fetchone()
    counts.rejected = int(row[0]) if row else 0
    return counts


# What a message may put into the tables with length limits (ingest/entities.py, schema.sql).
# A mail is never rejected for these: a long subject is shortened (the whole one kept in details),
# a sender name too long to be a name is not used for a new lead.
SUBJECT_MAX_CHARS = ACTIVITIES.fields["subject"].length_limit or 255
NAME_MAX_CHARS = min(
    LEADS.fields["first_name"].length_limit or 255, LEADS.fields["last_name"].length_limit or 255
)


class _Cleaned:
    """Makes staged rows storable, counting what it changed: PostgreSQL refuses NUL in text (a
    COPY with one fails the whole mailbox), so NULs are removed wherever they are, and a subject
    over the activities' limit is shortened."""

    def __init__(self) -> None:
        self.nul_removed = 0
        self.nul_messages = 0
        self.subjects_shortened = 0

    def row(self, row: tuple[object, ...]) -> tuple[object, ...]:
        before = self.nul_removed
        cleaned = tuple(self._value(value) for value in row)
        if self.nul_removed > before:
            self.nul_messages += 1
        details = row[-1]
        if isinstance(details, dict) and details.get("subject_shortened"):
            self.subjects_shortened += 1
        return cleaned

    def _value(self, value: object) -> object:
        if isinstance(value, str):
            if "\x00" in value:
                self.nul_removed += value.count("\x00")
                return value.replace("\x00", "")
            return value
        if isinstance(value, list):
            return [self._value(item) for item in value]
        if isinstance(value, dict):
            return {self._value(key): self._value(item) for key, item in value.items()}
        return value


def _short_subject(subject: str | None, details: dict[str, object]) -> str | None:
    if subject is None or len(subject) <= SUBJECT_MAX_CHARS:
        return subject
    details["subject"] = subject
    details["subject_shortened"] = True
    return subject[: SUBJECT_MAX_CHARS - 1].rstrip() + "…"


def _name(part: str | None) -> str | None:
    return part if part is None or len(part) <= NAME_MAX_CHARS else None


def _stage_row(raw: RawMessage, message: ParsedMessage, owners: Owners) -> tuple[object, ...]:
    classified = classify(message, owners)
    first_name, last_name = split_person_name(message.from_name)
    first_name, last_name = _name(first_name), _name(last_name)
    sender_domain = (message.from_address or "").rpartition("@")[2]
    details: dict[str, object] = {
        "message_id": message.message_id,
        "from": message.from_address,
        "from_name": message.from_name,
        "to": message.to_addresses,
        "cc": message.cc_addresses,
        "counterparts": classified.counterparts,
        "occurred_at_source": message.occurred_at_source,
        "thread_key_source": message.thread_key_source,
        "in_reply_to": message.in_reply_to,
        "attachments": [
            {"name": a.name, "type": a.content_type, "size_bytes": a.size_bytes}
            for a in message.attachments
        ],
        "size_bytes": raw.size_bytes,
    }
    if message.bcc_addresses:
        details["bcc"] = message.bcc_addresses
    if message.body_truncated:
        details["body_truncated"] = True
    if message.body_is_html:
        details["body_from_html"] = True
    if message.flags:
        details["flags"] = message.flags
    subject = _short_subject(message.subject, details)
    return (
        raw.number,
        raw.offset,
        message.message_key,
        message.message_id,
        message.content_sha256,
        message.occurred_at,
        classified.direction,
        "internal" if classified.is_internal else "unmatched",
        message.is_automated,
        message.from_address,
        message.from_name,
        first_name,
        last_name,
        company_from_domain(sender_domain) if sender_domain else None,
        classified.counterparts,
        subject,
        message.body,
        message.thread_key,
        message.labels,
        details,  # a dict until _Cleaned has gone through it; COPY gets its JSON text
    )


def _copy_rows(conn: psycopg.Connection, rows: list[tuple[object, ...]]) -> None:
    names = ", ".join(name for name, _ in STAGE_COLUMNS)
    with conn.cursor().copy(f"copy {STAGE} ({names}) from stdin") as copy:
        # jsonb travels as its JSON text; COPY parses it on the server.
        copy.set_types(["text" if kind == "jsonb" else kind for _, kind in STAGE_COLUMNS])
        for row in rows:
            copy.write_row((*row[:-1], json.dumps(row[-1], ensure_ascii=False)))


def _merge_stage(conn: psycopg.Connection, batch_id: int, options: _Options) -> dict[str, int]:
    conn.execute(f"create index on {STAGE} (message_key, content_sha256)")
    conn.execute(f"analyze {STAGE} (message_key, content_sha256, message_id, link_state)")
    # The same message twice in one file (Takeout labels, a copy in two folders): keep the first,
    # with the labels of all.
    conn.execute(
        f"""
        update {STAGE} s set labels = g.labels
        from (
            select d.message_key, d.content_sha256, min(d.position) as keep,
                   array(select distinct x collate "C" from {STAGE} e, unnest(e.labels) as x
                         where e.message_key = d.message_key
                           and e.content_sha256 = d.content_sha256
                         order by 1) as labels
            from {STAGE} d
            group by d.message_key, d.content_sha256
            having count(*) > 1
        ) g
        where s.position = g.keep
        """
    )
    duplicates = rowcount(
        conn,
        f"""
        delete from {STAGE} s using {STAGE} k
        where k.message_key = s.message_key and k.content_sha256 = s.content_sha256
          and k.position < s.position
        """,
    )
    conn.execute(
        f"""
        update {STAGE} s set mail_message_id = m.mail_message_id
        from ingest.mail_messages m
        where m.message_key = s.message_key and m.content_sha256 = s.content_sha256
        """
    )
    row = conn.execute(f"select count(*) from {STAGE} where mail_message_id is not null").fetchone()
    already_stored = int(row[0]) if row else 0
    updated = _merge_labels(conn)
    # Two different messages with one Message-ID: both kept, both flagged.
    conflicts = rowcount(
        conn,
        f"""
        update {STAGE} s set has_message_id_conflict = true
        where s.mail_message_id is null and s.message_id is not null and (
            exists (select from ingest.mail_messages m
                    where m.message_key = s.message_key and m.content_sha256 <> s.content_sha256)
            or exists (select from {STAGE} o
                       where o.message_key = s.message_key
                         and o.content_sha256 <> s.content_sha256))
        """,
    )
    if conflicts:
        conn.execute(
            f"""
            update ingest.mail_messages m set has_message_id_conflict = true
            where not m.has_message_id_conflict
              and exists (select from {STAGE} s
                          where s.has_message_id_conflict and s.message_key = m.message_key)
            """
        )
    conn.execute(f"delete from {STAGE} where mail_message_id is not null")
    link_messages(conn, STAGE, "m.link_state = 'unmatched'", row_key="position")
    leads_created = _create_leads(conn, batch_id) if options.create_leads else 0
    inserted = create_activities(
        conn, STAGE, "m.link_state = 'linked'", batch=sql.Literal(batch_id)
    )
    conn.execute(
        sql.SQL(
            """
            update {stage} m set activity_id = a.activity_id
            from public.activities a
            where m.link_state = 'linked' and a.external_id = {external_id}
              and a.external_system = 'mail'
            """
        ).format(stage=sql.SQL(STAGE), external_id=EXTERNAL_ID)
    )
    related = link_participants(conn, STAGE, "m.link_state = 'linked'", batch=sql.Literal(batch_id))
    conn.execute(
        f"""
        insert into ingest.mail_messages (
            message_key, message_id, content_sha256, has_message_id_conflict, occurred_at,
            direction, from_address, from_name, counterpart_addresses, subject, body, thread_key,
            labels, details, is_automated, link_state, linked_by, linked_address, linked_at,
            contact_id, lead_id, account_id, activity_id, import_batch_id
        )
        select s.message_key, s.message_id, s.content_sha256, s.has_message_id_conflict,
               s.occurred_at, s.direction::public.activity_direction, s.from_address, s.from_name,
               s.counterpart_addresses, s.subject,
               case when s.link_state = 'unmatched' then s.body end,
               s.thread_key, s.labels, s.details, s.is_automated, s.link_state, s.linked_by,
               s.linked_address, s.linked_at, s.contact_id, s.lead_id, s.account_id,
               s.activity_id, %s
        from {STAGE} s
        on conflict (message_key, content_sha256) do nothing
        """,
        (batch_id,),
    )
    states: dict[str, int] = {
        str(state): int(count)
        for state, count in conn.execute(
            f"select link_state, count(*) from {STAGE} group by 1"
        ).fetchall()
    }
    return {
        "inserted": inserted,
        "updated": updated,
        "linked": int(states.get("linked", 0)),
        "unmatched": int(states.get("unmatched", 0)),
        "internal": int(states.get("internal", 0)),
        "duplicates": duplicates,
        "already_stored": already_stored,
        "message_id_conflicts": conflicts,
        "leads_created": leads_created,
        "related": related,
    }


def _merge_labels(conn: psycopg.Connection) -> int:
    """Add labels seen now to messages stored earlier (and to their activities)."""
    row = conn.execute(
        f"""
        with merged as (
            select m.mail_message_id,
                   array(select x from unnest(m.labels || s.labels) as x
                         group by x order by x collate "C") as labels
            from {STAGE} s
            join ingest.mail_messages m on m.mail_message_id = s.mail_message_id
        ),
        grown as (
            update ingest.mail_messages m set labels = merged.labels
            from merged
            where m.mail_message_id = merged.mail_message_id and m.labels <> merged.labels
            returning m.activity_id, m.labels
        ),
        activities as (
            update public.activities a
            set details = jsonb_set(a.details, '{{labels}}', to_jsonb(grown.labels))
            from grown
            where a.activity_id = grown.activity_id
            returning 1
        )
        select count(*) from grown
        """
    ).fetchone()
    return int(row[0]) if row else 0


def _create_leads(conn: psycopg.Connection, batch_id: int) -> int:
    """--create-leads: unknown senders of personal (not bulk) received mail from company domains."""
    created = rowcount(
        conn,
        f"""
        insert into public.leads
            (first_name, last_name, company, email, lead_source, source, external_system,
             import_batch_id)
        select distinct on (lower(s.from_address))
               s.sender_first_name, s.sender_last_name, s.sender_company, s.from_address,
               'Email', %(source)s, %(source)s, %(batch)s
        from {STAGE} s
        where s.link_state = 'unmatched' and s.direction = 'inbound' and not s.is_automated
          and s.from_address is not null
          and split_part(s.from_address, '@', 2) <> all(%(free)s)
        order by lower(s.from_address), s.position
        on conflict ((lower(email))) do nothing
        """,
        {"source": SOURCE, "batch": batch_id, "free": sorted(FREE_MAIL_DOMAINS)},
    )
    if created:
        link_messages(conn, STAGE, "m.link_state = 'unmatched'", row_key="position")
    return created
