"""`crm import`: spreadsheets (and, when the mail importer is installed, mail exports).

A thin layer over :mod:`ingest.spreadsheet` and :mod:`ingest.mail`: expand the paths, connect once,
import each file in its own transaction with a progress bar, print one summary table, exit with a
documented code.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingest import db
from ingest.errors import CrmError, ExitCode
from ingest.readers import REPORT_SUFFIX, SPREADSHEET_SUFFIXES
from ingest.results import FileResult

# Kept here (not imported from the validator) so that `crm --help` does not load pandas.
ENTITIES = ("leads", "accounts", "contacts", "projects", "activities")
DATE_ORDERS = ("DMY", "MDY", "YMD")

IMPORT_EXIT_CODES = (
    "Exit codes: 0 every file loaded (or was already imported); 4 files loaded but some rows were "
    "rejected (see the reject report); 5 at least one file failed and loaded nothing; 3 a problem "
    "you can fix before anything is imported (a missing file, no database)."
)

console = Console()


def mail_module() -> ModuleType | None:
    """The mail importer, when it is installed (it is a separate part of the project)."""
    try:
        return importlib.import_module("ingest.mail")
    except ImportError:
        return None


def _is_mail(mail: ModuleType | None, path: Path) -> bool:
    check = getattr(mail, "is_mail_export", None) if mail else None
    return bool(check(path)) if check else False


def expand_paths(paths: list[Path], mail: ModuleType | None) -> list[Path]:
    """Files to import, in order: folders become their files (sorted), hidden files skipped."""
    result: list[Path] = []
    for path in paths:
        if not path.exists():
            raise CrmError(f"{path}: no such file or folder. Check the path and try again.")
        if path.is_dir() and not _is_mail(mail, path):
            result.extend(_files_in(path, mail))
        else:
            result.append(path)
    return result


def _files_in(folder: Path, mail: ModuleType | None) -> Iterator[Path]:
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.startswith(".") or entry.name.endswith(REPORT_SUFFIX):
            continue
        if entry.is_dir() and not _is_mail(mail, entry):
            yield from _files_in(entry, mail)
        else:
            yield entry


def write_template(entity: str, out: Path | None) -> Path:
    """Write the empty generic template for an entity (UTF-8 with BOM, so Excel reads it)."""
    from ingest.profiles import template_headers

    headers = template_headers(entity)
    target = out or Path(f"{entity}-template.csv")
    if target.is_dir():
        target = target / f"{entity}-template.csv"
    target.write_text(",".join(headers) + "\r\n", encoding="utf-8-sig")
    return target


def import_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="CSV/XLSX files, mail exports, or folders of them.", show_default=False
        ),
    ] = None,
    entity: Annotated[
        str | None,
        typer.Option(help=f"Load as this entity: {', '.join(ENTITIES)} (default: from the file)."),
    ] = None,
    profile: Annotated[
        str,
        typer.Option(
            help="Mapping profile: auto, generic, salesforce, hubspot, google_contacts, "
            "linkedin or outlook."
        ),
    ] = "auto",
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format", help="Order of day and month in dates like 03/04/2025: DMY, MDY, YMD."
        ),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="XLSX sheet to read (default: the first).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Reject the whole file if any row is bad.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Import a file again although it was imported before.")
    ] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for the reject reports (default: beside each file)."),
    ] = None,
    owner_email: Annotated[
        list[str] | None,
        typer.Option("--owner-email", help="Mail: your own address (repeat for several)."),
    ] = None,
    create_leads: Annotated[
        bool, typer.Option("--create-leads", help="Mail: unknown senders become leads.")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="Mail: only messages on or after this date (YYYY-MM-DD).")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(help="Write the empty import template for ENTITY and exit.", metavar="ENTITY"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where --template writes (default: ENTITY-template.csv).")
    ] = None,
) -> None:
    """Import CSV/XLSX exports (and mail exports): each file atomically, audited, idempotently.

    Exit codes: 0 every file loaded (or was already imported); 4 files loaded but some rows were
    rejected (see the reject report); 5 at least one file failed and loaded nothing; 3 a problem
    you can fix before anything is imported (a missing file, no database).
    """
    if template is not None:
        console.print(f"wrote {write_template(template, out)}")
        return
    if not paths:
        raise typer.BadParameter("give at least one file or folder (or --template ENTITY)")
    if date_format is not None and date_format.upper() not in DATE_ORDERS:
        raise typer.BadParameter(
            f"{date_format!r} is not one of {', '.join(DATE_ORDERS)}", param_hint="--date-format"
        )
    since_date = None
    if since is not None:
        try:
            since_date = dt.date.fromisoformat(since)
        except ValueError as exc:
            raise typer.BadParameter("write it as YYYY-MM-DD", param_hint="--since") from exc
    from ingest.spreadsheet import ImportOptions, import_spreadsheet

    options = ImportOptions(
        entity=entity,
        profile=profile,
        date_format=date_format.upper() if date_format else None,
        sheet=sheet,
        dry_run=dry_run,
        strict=strict,
        force=force,
        report_dir=report_dir,
    )
    mail = mail_module()
    files = expand_paths(list(paths), mail)
    target = db.resolve_target()
    results: list[FileResult] = []
    with db.connect(target, autocommit=True) as conn:
        if db.schema_version(conn) is None:
            raise CrmError(f"the database at {target.where} has no schema yet; run `crm db init`.")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            for path in files:
                task = bar.add_task(path.name, total=None)

                def report(done: int, total: int = 0, task: TaskID = task) -> None:
                    bar.update(task, completed=done, total=total or None)

                if _is_mail(mail, path):
                    assert mail is not None
                    result = mail.import_mail_file(
                        conn,
                        path,
                        owner_emails=list(owner_email or []),
                        create_leads=create_leads,
                        since=since_date,
                        dry_run=dry_run,
                        force=force,
                        progress=report,
                    )
                elif path.suffix.lower() in SPREADSHEET_SUFFIXES:
                    result = import_spreadsheet(conn, path, options, progress=report)
                    _relink_mail(conn, mail, result)
                else:
                    result = FileResult(
                        path=path,
                        kind="unknown",
                        status="failed",
                        message=f"{path.name}: not a spreadsheet "
                        f"({', '.join(SPREADSHEET_SUFFIXES)}) or a mail export the mail "
                        "importer recognises; skipped.",
                    )
                bar.remove_task(task)
                results.append(result)
    print_summary(results)
    code = summary_exit_code(results)
    if code != ExitCode.OK:
        raise typer.Exit(int(code))


def _relink_mail(conn: psycopg.Connection, mail: ModuleType | None, result: FileResult) -> None:
    """Let unmatched mail find the people and companies this file just added."""
    relink = getattr(mail, "relink", None) if mail else None
    if relink is None or result.status != "loaded" or not result.counts.inserted:
        return
    if result.entity in ("accounts", "contacts", "leads", "people"):
        relink(conn)


def summary_exit_code(results: list[FileResult]) -> ExitCode:
    if any(result.status == "failed" for result in results):
        return ExitCode.FILE_FAILED
    if any(result.counts.rejected for result in results):
        return ExitCode.ROWS_REJECTED
    return ExitCode.OK


def print_summary(results: list[FileResult]) -> None:
    table = Table(title="Import summary")
    for name, justify in (
        ("file", "left"),
        ("profile", "left"),
        ("status", "left"),
        ("inserted", "right"),
        ("updated", "right"),
        ("unchanged", "right"),
        ("rejected", "right"),
        ("seconds", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for result in results:
        status = result.status.replace("_", " ")
        style = {"failed": "red", "skipped": "yellow", "dry run": "cyan"}.get(status, "green")
        counts = result.counts
        table.add_row(
            result.path.name,
            result.profile or result.kind,
            f"[{style}]{status}[/]",
            f"{counts.inserted:,}",
            f"{counts.updated:,}",
            f"{counts.unchanged:,}",
            f"{counts.rejected:,}",
            f"{result.seconds:.2f}",
        )
    console.print(table)
    for result in results:
        if result.message:
            note = result.message
            if not note.startswith(result.path.name):
                note = f"{result.path.name}: {note}"
            console.print(note, highlight=False, markup=False)
        if result.reject_report is not None:
            console.print(
                f"{result.path.name}: rejected rows are listed in {result.reject_report}",
                highlight=False,
                markup=False,
            )
    if any(result.status == "dry_run" for result in results):
        console.print("Dry run: nothing was written.")
