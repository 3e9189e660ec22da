"""Import files of any kind: the one place that decides how a path is imported.

`crm import`, `crm demo` and `crm nightly` all go through :func:`import_file`, so a spreadsheet or
a mail export behaves the same whichever command brought it in: each file in its own transaction,
audited in ``ingest.import_batches``, skipped when the same bytes were imported before, and
unmatched mail relinked after people or companies arrive.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from ingest import mail
from ingest.audit import connection_lost, is_connection_lost
from ingest.errors import CrmError, ExitCode
from ingest.files import special_file_problem
from ingest.options import ImportOptions, MailOptions, Progress
from ingest.readers import REPORT_SUFFIX, SPREADSHEET_SUFFIXES
from ingest.results import (
    FileResult,
    display_name,
    readable,
    unexpected_failure,
    unreadable_message,
)


def is_mail(path: Path) -> bool:
    """Whether ``path`` is a mail export (an mbox, an .eml, a folder of them)."""
    return mail.is_mail_export(path)


@dataclass
class ExpandedPaths:
    """What an import of some paths reads, and what it passes over."""

    files: list[Path] = field(default_factory=list)  # to import, in order
    # Files found in a folder that are of no kind we import (a report's .html, a .png): each a
    # "skipped" result that says so, so a folder of exports imports without failing on them.
    passed_over: list[FileResult] = field(default_factory=list)


def expand_paths(paths: Sequence[Path]) -> ExpandedPaths:
    """Files to import, in order: folders become their files (sorted), hidden files and our own
    reject reports left out, files no importer reads passed over; a folder that is a mail export
    (a Maildir, a folder of .eml) stays whole. A file named on its own is always tried (and fails
    when it is of no kind we import)."""
    expanded = ExpandedPaths()
    for path in paths:
        if not path.exists():
            raise CrmError(f"{path}: no such file or folder. Check the path and try again.")
        if path.is_dir() and not is_mail(path):
            for found in _files_in(path):
                if is_importable(found):
                    expanded.files.append(found)
                else:
                    expanded.passed_over.append(passed_over(found, path))
        else:
            expanded.files.append(path)
    return expanded


def is_importable(path: Path) -> bool:
    """Whether an importer might read ``path``: a spreadsheet by its name, a mail export by its
    content. Anything that cannot be looked at (a broken link, an unreadable file, a FIFO) counts
    as importable, so that importing it fails with the reason instead of being passed over."""
    if path.suffix.lower() in SPREADSHEET_SUFFIXES or path.is_dir():
        return True
    if special_file_problem(path) is not None or not path.is_file():
        return True
    if not os.access(path, os.R_OK):
        return True
    return is_mail(path)


def passed_over(path: Path, folder: Path) -> FileResult:
    """The "skipped" result of a file in ``folder`` that no importer reads."""
    return FileResult(
        path=path,
        kind="unknown",
        status="skipped",
        message=f"{display_name(path)}: not a spreadsheet ({', '.join(SPREADSHEET_SUFFIXES)}) "
        f"or a mail export, so the import of the folder {readable(str(folder))} passed over it; "
        "nothing from it was read.",
    )


def _files_in(folder: Path) -> Iterator[Path]:
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.startswith(".") or entry.name.endswith(REPORT_SUFFIX):
            continue
        if entry.is_dir() and not is_mail(entry):
            yield from _files_in(entry)
        else:
            yield entry


def import_file(
    conn: psycopg.Connection,
    path: Path,
    spreadsheet: ImportOptions,
    mail_options: MailOptions,
    *,
    progress: Progress | None = None,
) -> FileResult:
    """Import one file (spreadsheet or mail export) in its own transaction.

    Problems in the file become a failed result (with a message naming file, row and column),
    and so does anything unexpected while it is read (a bug: the message names it, the result
    carries the traceback), so the next file goes on. Problems the user must fix before anything
    can be imported (no owner address for mail, say) raise :class:`CrmError`; a lost database
    connection raises :class:`ConnectionLost`, which stops the run.
    """
    name = display_name(path)
    failure: Exception
    try:
        return _import_file(conn, path, spreadsheet, mail_options, progress)
    except CrmError:
        raise
    except psycopg.Error as exc:
        if is_connection_lost(conn):
            raise connection_lost(name, exc) from exc
        failure = exc
    except OSError as exc:  # before the importer could record anything (a link to nowhere)
        return FileResult(
            path=path, kind="unknown", status="failed", message=unreadable_message(name, exc)
        )
    except Exception as exc:
        failure = exc
    message, trace = unexpected_failure(name, failure)
    return FileResult(path=path, kind="unknown", status="failed", message=message, traceback=trace)


def _import_file(
    conn: psycopg.Connection,
    path: Path,
    spreadsheet: ImportOptions,
    mail_options: MailOptions,
    progress: Progress | None,
) -> FileResult:
    problem = special_file_problem(path)
    if problem is not None:  # refused before anything reads it: a FIFO or a device never ends
        return FileResult(path=path, kind="unknown", status="failed", message=readable(problem))
    if is_mail(path):
        return mail.import_mail_file(
            conn,
            path,
            owner_emails=list(mail_options.owner_emails),
            create_leads=mail_options.create_leads,
            since=mail_options.since,
            dry_run=spreadsheet.dry_run,
            force=spreadsheet.force,
            progress=progress,
            store_bodies=mail_options.store_bodies,
        )
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        from ingest.spreadsheet import import_spreadsheet

        result = import_spreadsheet(conn, path, spreadsheet, progress=progress)
        relink_after(conn, result)
        return result
    return FileResult(
        path=path,
        kind="unknown",
        status="failed",
        message=f"{display_name(path)}: not a spreadsheet ({', '.join(SPREADSHEET_SUFFIXES)}) "
        "or a mail export (mbox, .eml, a folder of .eml files); skipped.",
    )


def relink_after(conn: psycopg.Connection, result: FileResult) -> None:
    """Let unmatched mail find the people and companies a spreadsheet just added."""
    if result.status != "loaded" or not result.counts.inserted:
        return
    if result.entity in ("accounts", "contacts", "leads", "people"):
        mail.relink(conn)


def summary_exit_code(results: Sequence[FileResult]) -> ExitCode:
    """0 when every file loaded (or was already imported), 4 when rows were rejected, 5 when a
    file failed as a whole."""
    if any(result.status == "failed" for result in results):
        return ExitCode.FILE_FAILED
    if any(result.counts.rejected for result in results):
        return ExitCode.ROWS_REJECTED
    return ExitCode.OK
