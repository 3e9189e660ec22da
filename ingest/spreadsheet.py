"""Import one spreadsheet (CSV or XLSX): read → map → validate → COPY → merge, in one transaction.

:func:`import_spreadsheet` is the library entry point the ``crm import`` command calls for every
file. Either the whole file loads (with its batch row and rejected rows) or nothing does; a failed
file is then recorded as a failed batch in a transaction of its own.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

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
from ingest.entities import DATE_ORDERS, ENTITY_FIELDS, PLACEHOLDERS, ROW_IDENTITY, Field
from ingest.errors import ConnectionLost, CrmError, ExitCode
from ingest.files import Snapshot, special_file_problem
from ingest.formulas import guard_formula, restore_formula
from ingest.options import ImportOptions
from ingest.readers import REPORT_SUFFIX, Chunk, SheetTable, open_table
from ingest.results import (
    BatchCounts,
    FileFacts,
    FileResult,
    Rejection,
    SheetResult,
    display_name,
    readable,
    unexpected_failure,
    unreadable_message,
)

if TYPE_CHECKING:
    import pandas as pd

    from ingest.profiles import Mapping
    from ingest.validate import ColumnSource, ValidationContext

# pandas and the loader are imported when a file is really loaded, so that skipping a file that
# was imported before takes a fraction of a second.

Progress = Callable[[int, int], None]  # (done, total), in bytes for CSV and rows for XLSX


def import_spreadsheet(
    conn: psycopg.Connection,
    path: Path,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> FileResult:
    """Import one file; never raises for problems in the file (they become a failed result)."""
    started = time.perf_counter()
    if options.date_format is not None and options.date_format not in DATE_ORDERS:
        raise CrmError(
            f"--date-format {options.date_format} is not one of {', '.join(DATE_ORDERS)}."
        )
    result = FileResult(path=path, kind="spreadsheet", status="loaded")
    name = display_name(path)
    problem = special_file_problem(path)
    if problem is not None:
        result.status, result.message = "failed", readable(problem)
        return result
    try:
        snapshot = Snapshot.of([path])  # before hashing: the hash must cover exactly what is read
        facts = FileFacts.of(path)
    except OSError as exc:
        # Not one byte could be read, so there is no hash to record a batch under (the audit
        # trail identifies files by their bytes): the result alone says why.
        result.status, result.message = "failed", unreadable_message(name, exc)
        result.seconds = time.perf_counter() - started
        return result

    def fail(message: str) -> None:
        sheet = result.loading_sheet
        if sheet is not None:
            # A workbook imported sheet by sheet: say which sheet failed, and that the others
            # went with it.
            if message.startswith(f"{name}: "):
                message = f"{name}, sheet {sheet!r}: " + message.removeprefix(f"{name}: ")
            together = ", ".join(repr(part.sheet) for part in result.sheets)
            message += (
                f" The sheets {together} have the same columns and are imported together, all "
                "or nothing: nothing from any of them was loaded."
            )
        result.sheets = []
        result.loading_sheet = None
        _record_failure(conn, facts, result, options, message)

    try:
        _import(conn, path, options, result, facts, snapshot, progress, name)
    except ConnectionLost:
        raise
    except CrmError as exc:
        fail(str(exc))
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        detail = exc.diag.message_primary or str(exc)
        constraint = f" (rule {exc.diag.constraint_name})" if exc.diag.constraint_name else ""
        fail(
            f"{name}: the database refused the file: {detail}{constraint}; nothing was "
            "loaded. Correct the value it names and import again."
        )
    except psycopg.Error as exc:
        if is_connection_lost(conn):
            raise connection_lost(name, exc) from exc
        # Still connected: the server stopped this statement (a timeout, a lock it could not
        # get, an administrator's cancel). Nothing of the file was kept; the next file goes on.
        detail = " ".join((exc.diag.message_primary or str(exc)).split())
        fail(
            f"{name}: the database stopped the import ({type(exc).__name__}: {detail}); "
            "nothing was loaded. Import it again; if it happens again, ask whoever runs the "
            "server."
        )
    except OSError as exc:
        fail(unreadable_message(name, exc))
    except Exception as exc:  # a bug: this file fails alone, with a trace a developer can use
        message, trace = unexpected_failure(name, exc)
        fail(message)
        result.traceback = trace
    result.seconds = time.perf_counter() - started
    return result


def _import(
    conn: psycopg.Connection,
    path: Path,
    options: ImportOptions,
    result: FileResult,
    facts: FileFacts,
    snapshot: Snapshot,
    progress: Progress | None,
    name: str,
) -> None:
    """Skip the file when it was imported before; else load it in one transaction (raising on
    anything that fails the file; :func:`import_spreadsheet` records the failure).

    A workbook whose other visible sheets have exactly the header row of the sheet read (a sheet
    per year) is imported sheet by sheet unless ``--sheet`` names one: each sheet its own batch,
    all of them in this one transaction, so a sheet that fails leaves nothing of the others.
    """
    workbook = path.suffix.lower() in (".xlsx", ".xlsm")
    table: SheetTable | None = None
    tables: list[SheetTable] = []
    if workbook:
        table = open_table(path, sheet=options.sheet, encoding=options.encoding)
        tables = [table] + [open_table(path, sheet=other) for other in table.same_column_sheets]
    if not options.force and not options.dry_run:
        earlier = find_loaded_batch(conn, facts.sha256, [str(each.sheet) for each in tables])
        if earlier:
            result.status = "skipped"
            result.import_batch_id = earlier[0]
            result.message = (
                f"already imported (batch {earlier[0]}, {earlier[1]}); nothing changed. "
                "Use --force to import it again."
            )
            return
    from ingest.mapping import mapping_for_table

    if table is None:
        table = open_table(path, sheet=options.sheet, encoding=options.encoding)
        tables = [table]
    result.encoding = table.encoding
    mapping = mapping_for_table(table, name, options, also=tables[1:])
    result.profile = mapping.variant.label
    result.entity = mapping.entity
    several = len(tables) > 1
    if several:
        result.sheets = [SheetResult(sheet=str(each.sheet)) for each in tables]
    total = sum(each.size for each in tables)
    with conn.transaction():
        lock_imports(conn)
        batches: list[int] = []
        messages: list[str] = []
        done = 0
        from ingest.validate import ValidationContext

        decided = ValidationContext(file_name=name)  # one reading of each column for all sheets
        for each in tables:
            result.loading_sheet = each.sheet if several else None
            batch_id = open_batch(
                conn,
                facts,
                profile=mapping.variant.label,
                entity=mapping.entity,
                encoding=each.encoding,
                dry_run=options.dry_run,
                sheet=each.sheet,
            )
            batches.append(batch_id)
            notes: dict[str, str] = {}

            def sheet_progress(position: int, _total: int, before: int = done) -> None:
                if progress is not None:
                    progress(before + position, total)

            label = f"{name}, sheet {each.sheet!r}" if several else name
            counts = _load_file(
                conn,
                each,
                mapping,
                options,
                batch_id,
                sheet_progress,
                notes,
                label,
                several,
                decided,
            )
            messages.append(describe(each, mapping, counts, notes))
            done += each.size
            if several:
                part = result.sheets[len(batches) - 1]
                part.counts, part.import_batch_id = counts, batch_id
        result.loading_sheet = None
        if several and not any(part.counts.read for part in result.sheets):
            raise CrmError(
                f"{name}: the sheets "
                + ", ".join(repr(each.sheet) for each in tables)
                + " have a header row but no data rows. Export it again with the rows you want "
                "to import.",
                exit_code=ExitCode.FILE_FAILED,
            )
        snapshot.check_unchanged(name)
        result.import_batch_id = batches[0]
        counts = _sum_counts([part.counts for part in result.sheets]) if several else counts
        result.counts = counts
        result.message = (
            _describe_sheets(tables, mapping, result.sheets, messages) if several else messages[0]
        )
        if several:
            for part, message in zip(result.sheets, messages, strict=True):
                together = ", ".join(repr(each.sheet) for each in tables)
                part.message = f"{message}; imported with sheets {together} (same columns)"
        if counts.rejected:
            unknown = _unknown_values_note(conn, batches, mapping)
            if unknown:
                result.message += "; " + unknown
        unwritten = None
        if counts.rejected:
            try:
                sheets = {part.import_batch_id: part.sheet for part in result.sheets}
                result.reject_report = write_reject_report(
                    conn, batches, path, options, sheets=sheets or None
                )
            except OSError as exc:
                unwritten = _report_not_written(exc, path, options, batches, counts.rejected)
                result.message += "; " + unwritten
        if options.strict and counts.rejected:
            first = conn.execute(
                "select message from ingest.rejected_rows where import_batch_id = any(%s) "
                "order by import_batch_id, row_number, rejected_row_id limit 1",
                (batches,),
            ).fetchone()
            where = (
                f"All of them are in {result.reject_report}."
                if result.reject_report is not None
                else f"The reject report could not be written ({unwritten})."
            )
            raise CrmError(
                f"{name}: {counts.rejected} row(s) rejected and --strict is on, so "
                f"nothing was loaded. First: {first[0] if first else '?'} {where}",
                exit_code=ExitCode.FILE_FAILED,
            )
        if several:
            for part in result.sheets:
                assert part.import_batch_id is not None
                finish_batch(conn, part.import_batch_id, part.counts, message=part.message)
        else:
            finish_batch(conn, batches[0], counts, message=result.message)
        if options.dry_run:
            result.status = "dry_run"
            raise psycopg.Rollback()
    if not options.dry_run and not counts.rejected:
        # Committed with nothing rejected: an earlier import's report would tell a reader this
        # file still has rejected rows.
        stale = remove_stale_report(conn, path, options, batches[0])
        if stale is not None:
            result.message += (
                f"; deleted {readable(str(stale))}, the reject report of an earlier import of "
                "this file: this import rejected nothing"
            )


def _sum_counts(parts: list[BatchCounts]) -> BatchCounts:
    total = BatchCounts()
    for part in parts:
        total.read += part.read
        total.blank += part.blank
        total.inserted += part.inserted
        total.updated += part.updated
        total.unchanged += part.unchanged
        total.rejected += part.rejected
        for key, value in part.extra.items():
            total.extra[key] = total.extra.get(key, 0) + value
    return total


def _describe_sheets(
    tables: list[SheetTable], mapping: Mapping, parts: list[SheetResult], messages: list[str]
) -> str:
    """The summary's note for a workbook imported sheet by sheet: which sheets and why, which
    not and why, then what each sheet came to and what was decided on it."""
    first = tables[0]
    named = ", ".join(repr(each.sheet) for each in tables)
    head = [
        f"profile {mapping.variant.label}" + (" (chosen from the headers)" if mapping.auto else ""),
        f"imported sheets {named} (same columns), each its own import batch, all or nothing",
    ]
    if first.other_sheets:
        head.append(_not_imported(first.other_sheets))
    prefix = f"{head[0]}; sheet "
    for part, each, message in zip(parts, tables, messages, strict=True):
        counts = part.counts
        what = (
            "no data rows"
            if not counts.read
            else f"{counts.inserted} new, {counts.updated} updated, {counts.unchanged} same, "
            f"{counts.rejected} rejected"
        )
        details = message.removeprefix(prefix).removeprefix(f"{each.sheet!r}").lstrip("; ")
        head.append(f"sheet {each.sheet!r}: {what}" + (f" ({details})" if details else ""))
    return "; ".join(head)


def _not_imported(other_sheets: dict[str, str]) -> str:
    return "NOT imported: " + ", ".join(
        f"sheet {sheet!r} ({why})" for sheet, why in other_sheets.items()
    )


def _report_not_written(
    exc: OSError, path: Path, options: ImportOptions, batches: list[int], rejected: int
) -> str:
    """What the summary says when the reject report could not be written: why, and where the
    rejected rows are instead."""
    folder = readable(str(options.report_dir or path.parent))
    why = f"the reject report could not be written to {folder} ({exc.strerror or exc})"
    if options.dry_run or options.strict:
        return (
            f"{why}; run the import again with --report-dir FOLDER (a folder you may write to) "
            "to get it"
        )
    return (
        f"{why}; the {rejected} rejected row(s) are kept in the database (ingest.rejected_rows, "
        f"import batch {', '.join(str(batch) for batch in batches)}); to get the report, "
        "import the file again with --force --report-dir FOLDER (a folder you may write to)"
    )


def _record_failure(
    conn: psycopg.Connection,
    facts: FileFacts,
    result: FileResult,
    options: ImportOptions,
    message: str,
) -> None:
    try:
        record_failure(
            conn,
            facts,
            result,
            profile=result.profile,
            entity=result.entity,
            encoding=result.encoding,
            message=message,
            dry_run=options.dry_run,
        )
    except psycopg.Error as exc:
        if is_connection_lost(conn):
            raise connection_lost(facts.name, exc) from exc
        raise


def _unknown_values_note(
    conn: psycopg.Connection, batches: list[int], mapping: Mapping
) -> str | None:
    """For rows rejected for a value a fixed-set column does not know: each distinct value with
    its count, a proposed target and the --value flags that would read it."""
    from ingest.mapping import describe_unknown_values

    rows = conn.execute(
        "select column_name, raw_value, count(*) from ingest.rejected_rows "
        "where import_batch_id = any(%s) and reason_code = 'invalid_value' "
        "group by column_name, raw_value order by count(*) desc, raw_value",
        (batches,),
    ).fetchall()
    return describe_unknown_values([(str(h), str(v), int(n)) for h, v, n in rows], mapping)


def describe(
    table: SheetTable, mapping: Mapping, counts: BatchCounts, notes: dict[str, str] | None = None
) -> str:
    """The one-paragraph note for the summary and the batch row: what was chosen and left out,
    and every decision taken on evidence (``notes``: a date order, a decimal mark …)."""
    parts = [
        f"profile {mapping.variant.label}" + (" (chosen from the headers)" if mapping.auto else "")
    ]
    if table.kind == "csv":
        parts.append(f"{table.encoding}, delimiter {table.delimiter!r}")
    else:
        parts.append(f"sheet {table.sheet!r}")
    if table.preamble_rows:
        parts.append(f"skipped {table.preamble_rows} line(s) before the header")
    if table.encoding_note:
        parts.append(table.encoding_note)
    nul_note = table.nul_note()
    if nul_note:
        parts.append(nul_note)
    if table.other_sheets and not table.same_column_sheets:
        parts.append(_not_imported(table.other_sheets))  # (several sheets: said once, above)
    if table.hidden_columns:
        parts.append("left out hidden column(s): " + ", ".join(table.hidden_columns))
    totals_note = table.totals_note()
    if totals_note:
        parts.append(totals_note)
    if mapping.unmapped:
        parts.append("not mapped: " + ", ".join(mapping.unmapped))
    if counts.blank:
        parts.append(f"{counts.blank} blank row(s) dropped")
    routed = {key: value for key, value in counts.extra.items() if key in ("contacts", "leads")}
    if routed:
        parts.append(f"{routed.get('contacts', 0)} to contacts, {routed.get('leads', 0)} to leads")
    parts.extend((notes or {}).values())
    return "; ".join(parts)


def _load_file(
    conn: psycopg.Connection,
    table: SheetTable,
    mapping: Mapping,
    options: ImportOptions,
    batch_id: int,
    progress: Progress | None,
    notes: dict[str, str],
    label: str | None = None,
    empty_ok: bool = False,
    decided: ValidationContext | None = None,
) -> BatchCounts:
    """Load one table into batch ``batch_id``; ``label`` names it in messages (the file, or the
    file and sheet); ``empty_ok``: a table with no data rows loads nothing instead of failing
    (one sheet of several); ``decided``: where the decisions taken on evidence (a column's
    decimal mark, date order, percent scale) are kept, so that the sheets of one workbook read
    with one mapping read a column alike: the evidence of sheet "2024" holds for sheet "2025"."""
    from ingest.load import (
        EARLY_KEYS,
        STAGE,
        LoadContext,
        Stager,
        StagingThread,
        create_stage,
        frame_columns,
        load_stage,
    )
    from ingest.validate import ColumnSource, ValidationContext

    variant = mapping.variant
    fields = ENTITY_FIELDS[variant.entity]
    sources = {
        target: ColumnSource(mapping.headers[index], variant.values.get(target, {}))
        for target, index in mapping.targets.items()
    }
    for target in variant.defaults:
        sources.setdefault(
            target, ColumnSource(mapping.header_of(target), variant.values.get(target, {}))
        )
    context = ValidationContext(
        file_name=label or display_name(table.path),
        date_order=options.date_format or variant.date_format,
        default_date_order=options.default_date_format,
        decimal_comma=table.delimiter == ";",
        decimal_separator=options.decimal_separator,
        years=options.years,
    )
    if decided is not None:
        context.decimal_marks = decided.decimal_marks
        context.inferred_orders = decided.inferred_orders
        context.percent_scales = decided.percent_scales
    _enlarge_temp_buffers(conn)
    conn.execute(f"drop table if exists {STAGE}, {EARLY_KEYS}")
    copy_columns = create_stage(conn, variant.entity)
    stager = Stager(conn, variant.entity, copy_columns, batch_id=batch_id, source=variant.profile)
    counts = BatchCounts()
    # A worker thread stages chunk n (for leads, it inserts the provably new rows straight away)
    # while this thread reads and validates chunk n + 1. Rejections wait in a file on disk
    # meanwhile (the worker has the connection), so memory stays bounded even when every row is
    # bad.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill, contextlib.closing(stager):
        worker = StagingThread(stager)
        # The cyclic garbage collector would otherwise walk the rows being read again and again
        # (a quarter of the reading time); young objects are still collected every ten chunks,
        # and automatic collection comes back afterwards.
        chunks_read = 0
        collecting = gc.isenabled()
        gc.disable()
        # The staging thread needs the GIL briefly each time the server has taken what it was
        # sent; a shorter switch interval hands it over sooner, so the server is not kept waiting.
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, 0.001))
        try:
            for chunk in table.chunks(options.rows_per_chunk):
                counts.read += len(chunk.rows) + len(chunk.ragged)
                counts.blank += chunk.blank
                frame, rejections = _validate_chunk(chunk, mapping, fields, sources, context)
                worker.put(stager.prepare(frame_columns(frame, copy_columns), len(frame)))
                for rejection in rejections:
                    spill.write(json.dumps(dataclasses.asdict(rejection)) + "\n")
                if progress is not None:
                    progress(chunk.position, table.size)
                del chunk, frame, rejections
                chunks_read += 1
                if chunks_read % 10 == 0:
                    gc.collect(1)
        except BaseException:
            worker.abandon()
            raise
        finally:
            if collecting:
                gc.enable()
            sys.setswitchinterval(switch_interval)
        worker.close()
        if stager.early_inserted and stager.staged_for_merge:
            stager.stage_early_keys()
        spill.seek(0)
        record_rejections(conn, batch_id, (Rejection(**json.loads(line)) for line in spill))
    notes.update(context.notes)
    if counts.read == 0 and empty_ok:
        return counts
    if counts.read == 0:
        raise CrmError(
            f"{label or display_name(table.path)}: the file has a header row but no data rows. "
            "Export it again with the rows you want to import.",
            exit_code=ExitCode.FILE_FAILED,
        )
    load_context = LoadContext(
        conn=conn,
        batch_id=batch_id,
        file_name=label or display_name(table.path),
        source=variant.profile,
        entity=variant.entity,
        headers={target: source.header for target, source in sources.items()},
        forced_entity=options.entity,
        constants=frozenset(variant.defaults),
        early_inserted=stager.early_inserted,
        staged_for_merge=stager.staged_for_merge,
        create_accounts=options.create_accounts or variant.create_accounts,
        dry_run=options.dry_run,
    )
    merged = load_stage(load_context)
    notes.update(load_context.notes)
    if load_context.created_accounts:
        counts.extra["accounts_created"] = len(load_context.created_accounts)
    counts.inserted, counts.updated, counts.unchanged = (
        merged.inserted,
        merged.updated,
        merged.unchanged,
    )
    counts.extra.update(merged.routed)
    row = conn.execute(
        "select count(distinct row_number) from ingest.rejected_rows where import_batch_id = %s",
        (batch_id,),
    ).fetchone()
    counts.rejected = int(row[0]) if row else 0
    return counts


def _enlarge_temp_buffers(conn: psycopg.Connection) -> None:
    """Keep the stage table in memory (the default 8 MB spills a large file to disk).

    PostgreSQL allows this only before a session first touches a temporary table; later files of
    the same run reuse the setting, and a session that cannot change it works as before.
    """
    try:
        with conn.transaction():
            conn.execute("set temp_buffers = '256MB'")
    except psycopg.Error:
        pass


def _validate_chunk(
    chunk: Chunk,
    mapping: Mapping,
    fields: dict[str, Field],
    sources: dict[str, ColumnSource],
    context: ValidationContext,
) -> tuple[pd.DataFrame, list[Rejection]]:
    import pandas as pd

    from ingest.validate import validate_frame

    headers = mapping.headers
    width = len(headers)
    rejections = [
        Rejection(
            row_number=ragged.row_number,
            reason_code="ragged_row",
            message=f"{context.file_name}, row {ragged.row_number}: it has {len(ragged.cells)} "
            f"cells but the header has {width}; fix the quoting or the delimiter on that row "
            "(a value with a delimiter in it needs double quotes).",
            value=None,
            raw_row={f"cell {index + 1}": cell for index, cell in enumerate(ragged.cells)},
        )
        for ragged in chunk.ragged
    ]
    if not chunk.rows:
        return pd.DataFrame(), rejections
    index = pd.RangeIndex(len(chunk.rows))
    row_numbers = pd.Series(chunk.row_numbers, index=index)
    by_position = list(zip(*chunk.rows, strict=True))
    raw = pd.DataFrame(
        {
            target: pd.Series(by_position[position], index=index, dtype=object)
            for target, position in mapping.targets.items()
        },
        index=index,
    )
    variant = mapping.variant
    if variant.restore_formula_guard:
        for target in raw:
            restored = [restore_formula(value) for value in raw[target].tolist()]
            raw[target] = pd.Series(restored, index=index, dtype=object)
    for target, placeholders in variant.blanks.items():
        if target in raw:
            raw[target] = raw[target].where(~raw[target].str.strip().isin(placeholders), "")
    # `-`, `n/a`, `none` … (PLACEHOLDERS) are blanks in fields with a format (phone, email, URL,
    # number, date); free text such as names keeps them as written (`NA` is a surname).
    for target in raw:
        if not fields[str(target)].placeholders_are_blank:
            continue
        column = raw[target]
        placeholder = column.str.strip().str.casefold().isin(PLACEHOLDERS)
        if placeholder.any():
            raw[target] = column.where(~placeholder, "")
            header = sources[str(target)].header
            context.notes.setdefault(
                f"placeholders {target}",
                f'placeholders like "{column[placeholder].iloc[0].strip()}" in "{header}" read '
                "as blank",
            )
    for target, separator in variant.first_of.items():
        if target in raw:
            raw[target] = raw[target].str.split(separator, n=1, regex=False).str[0].str.strip()
    # A profile's constant fills blank cells; the stage's from_constant lists, per row, the
    # columns it filled, so the merge lets it fill only blank stored values (never overwrite).
    from_constant = pd.Series("", index=index, dtype=object)
    for target, default in variant.defaults.items():
        if target in raw:
            blank = raw[target].fillna("").str.strip().eq("")
            raw[target] = raw[target].where(~blank, default)
        else:
            blank = pd.Series(True, index=index)
            raw[target] = pd.Series(default, index=index, dtype=object)
        from_constant = from_constant.where(~blank, from_constant + "," + target)
    typed, rejections_in_values = validate_frame(raw, fields, sources, context, row_numbers)
    rejections.extend(rejections_in_values)
    if "opened_on" in fields and "created_at" in typed:
        # The file's own creation date of a lead or deal is the day it started (opened_on), as
        # written in the file; without one, created_at is only the import time, no business date.
        written = typed["created_at"].astype(object).where(typed["created_at"].notna(), None)
        from_created = written.map(lambda value: None if value is None else str(value)[:10])
        if "opened_on" in typed:
            given = typed["opened_on"]
            typed["opened_on"] = given.astype(object).where(given.notna(), from_created)
        else:
            typed["opened_on"] = from_created
    identity = ROW_IDENTITY.get(variant.entity)
    if identity is not None and not typed.empty:
        present = [column for column in identity if column in typed]
        unnamed = typed[present].isna().all(axis=1) if present else typed.index.notna()
        for position in typed.index[unnamed]:
            number = int(row_numbers.at[position])
            rejections.append(
                Rejection(
                    row_number=number,
                    reason_code="missing_identity",
                    message=f"{context.file_name}, row {number}: the row has no first name, last "
                    "name, company or email; fill in at least one of them.",
                    raw_row={headers[i]: chunk.rows[position][i] for i in range(width)},
                )
            )
        typed = typed[~unnamed]
    for rejection_index, rejection in enumerate(rejections):
        if rejection.raw_row is None and rejection.reason_code != "ragged_row":
            position = rejection.row_number - chunk.row_numbers[0]
            if (
                0 <= position < len(chunk.rows)
                and chunk.row_numbers[position] == rejection.row_number
            ):
                cells = chunk.rows[position]
                rejections[rejection_index] = Rejection(
                    row_number=rejection.row_number,
                    reason_code=rejection.reason_code,
                    message=rejection.message,
                    column=rejection.column,
                    value=rejection.value,
                    raw_row={headers[i]: cells[i] for i in range(width)},
                )
    typed.insert(0, "row_number", row_numbers[typed.index])
    if variant.defaults:
        marked = from_constant[typed.index]
        typed["from_constant"] = ("{" + marked.str.lstrip(",") + "}").where(marked.ne(""), None)
    return typed, rejections


REPORT_HEADER = ["row", "column", "value", "reason", "message"]
# The report of a workbook imported sheet by sheet: row numbers are per sheet, so each row says
# its sheet first.
SHEETS_REPORT_HEADER = ["sheet", *REPORT_HEADER]


def remove_stale_report(
    conn: psycopg.Connection, path: Path, options: ImportOptions, batch_id: int
) -> Path | None:
    """Delete the reject report an earlier import of ``path`` left where batch ``batch_id`` (which
    rejected nothing) would have written its own; the path deleted, or None.

    Files of one stem share a report name (``people.csv`` and ``people.xlsx``, both
    ``people.rejected.csv``), so the report is taken for this file's only when the last earlier
    import of a file of that stem was of a file of this name; and a file of that name whose
    first line is not our header is not one of our reports. Either way it is left alone.
    """
    report = (options.report_dir or path.parent) / f"{path.stem}{REPORT_SUFFIX}"
    name = display_name(path)
    stem = Path(name).stem + "."
    last = conn.execute(
        "select file_name from ingest.import_batches where import_batch_id < %s "
        "and not is_dry_run and left(file_name, %s) = %s "
        "order by import_batch_id desc limit 1",
        (batch_id, len(stem), stem),
    ).fetchone()
    if last is None or last[0] != name:
        return None
    try:
        with report.open(encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), None)
        if first not in (REPORT_HEADER, SHEETS_REPORT_HEADER):
            return None
        report.unlink()
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # none there, or unreadable or undeletable: nothing to supersede safely
    return report


def write_reject_report(
    conn: psycopg.Connection,
    batches: int | list[int],
    path: Path,
    options: ImportOptions,
    *,
    sheets: dict[int | None, str] | None = None,
) -> Path:
    """Write the rejected rows of ``batches`` to `<file stem>.rejected.csv` (UTF-8 with BOM for
    Excel).

    ``sheets`` (batch → sheet), for a workbook imported sheet by sheet: the report is still one
    file, whose first column names each row's sheet (row numbers are per sheet), ordered by
    sheet as the workbook orders them, then by row.

    Every text cell goes through :func:`guard_formula`, as in the Salesforce export: a rejected
    value like ``=HYPERLINK(...)`` must open as text, not run as a formula. Raises OSError when
    the folder cannot be written (the caller says so in the summary; the rows stay in the
    database).
    """
    batch_ids = [batches] if isinstance(batches, int) else list(batches)
    folder = options.report_dir or path.parent
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / f"{path.stem}{REPORT_SUFFIX}"
    with report.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SHEETS_REPORT_HEADER if sheets else REPORT_HEADER)
        with conn.cursor(name="reject_report") as cur:
            cur.execute(
                "select import_batch_id, row_number, column_name, raw_value, reason_code, "
                "message from ingest.rejected_rows where import_batch_id = any(%s) "
                "order by import_batch_id, row_number, rejected_row_id",
                (batch_ids,),
            )
            for batch_id, *record in cur:
                cells = [sheets[batch_id], *record] if sheets else record
                writer.writerow(
                    [guard_formula(cell) if isinstance(cell, str) else cell for cell in cells]
                )
    return report
