"""`crm import`: spreadsheets (and, when the mail importer is installed, mail exports).

A thin layer over :mod:`ingest.spreadsheet` and :mod:`ingest.mail`: expand the paths, connect once,
import each file in its own transaction with a progress bar, print one summary table, exit with a
documented code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from consulting_crm import database as db
from consulting_crm.cli.output import console
from consulting_crm.settings import load_settings
from ingest.dispatch import (
    DATE_ORDERS,
    ENTITIES,
    expand_paths,
    import_file,
    summary_exit_code,
)
from ingest.errors import CrmError, ExitCode
from ingest.options import ImportOptions, MailOptions
from ingest.results import FileResult

IMPORT_EXIT_CODES = (
    "Exit codes: 0 every file loaded (or was already imported); 4 files loaded but some rows were "
    "rejected (see the reject report); 5 at least one file failed and loaded nothing; 3 a problem "
    "you can fix before anything is imported (a missing file, no database)."
)


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
            "--date-format",
            help="Order of day and month in dates like 03/04/2025: DMY, MDY, YMD "
            "(default: import.date_format in `crm config`, else from the file).",
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
        typer.Option(
            "--owner-email",
            help="Mail: your own address (repeat for several; default: mail.owner_emails in "
            "`crm config`).",
        ),
    ] = None,
    create_leads: Annotated[
        bool, typer.Option("--create-leads", help="Mail: unknown senders become leads.")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="Mail: only messages on or after this date (YYYY-MM-DD).")
    ] = None,
    no_bodies: Annotated[
        bool,
        typer.Option(
            "--no-bodies", help="Mail: keep headers, links and attachment names, not the text."
        ),
    ] = False,
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
    settings = load_settings()
    spreadsheet = ImportOptions(
        entity=entity,
        profile=profile,
        date_format=date_format.upper() if date_format else settings.date_format,
        sheet=sheet,
        dry_run=dry_run,
        strict=strict,
        force=force,
        report_dir=report_dir,
    )
    mail_options = MailOptions(
        owner_emails=tuple(owner_email or settings.owner_emails),
        create_leads=create_leads or settings.create_leads,
        since=since_date,
        store_bodies=settings.store_bodies and not no_bodies,
    )
    files = expand_paths(list(paths))
    target = db.resolve_target()
    with db.connect(target, autocommit=True) as conn:
        if db.schema_version(conn) is None:
            raise CrmError(f"the database at {target.where} has no schema yet; run `crm db init`.")
        results = import_with_progress(conn, files, spreadsheet, mail_options, console=console)
    print_summary(results)
    code = summary_exit_code(results)
    if code != ExitCode.OK:
        raise typer.Exit(int(code))


def import_with_progress(
    conn: psycopg.Connection,
    files: Sequence[Path],
    spreadsheet: ImportOptions,
    mail_options: MailOptions,
    *,
    console: Console = console,
) -> list[FileResult]:
    """Import ``files`` one after another, each with a progress bar that goes away when done."""
    results: list[FileResult] = []
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

            result = import_file(conn, path, spreadsheet, mail_options, progress=report)
            bar.remove_task(task)
            results.append(result)
    return results


def print_summary(results: Sequence[FileResult], *, console: Console = console) -> None:
    """One table for the run (numbers never wrap), then each file's notes.

    On a narrow terminal the profile column is left out: the notes under the table name it.
    """
    wide = console.width >= 110
    table = Table(title="Import summary")
    table.add_column("file", overflow="fold", min_width=min(24, max(12, console.width - 66)))
    if wide:
        table.add_column("profile", overflow="fold")
    table.add_column("status", no_wrap=True)
    for name in ("new", "updated", "same", "rejected", "secs"):
        table.add_column(name, justify="right", no_wrap=True)
    for result in results:
        status = result.status.replace("_", " ")
        style = {"failed": "red", "skipped": "yellow", "dry run": "cyan"}.get(status, "green")
        counts = result.counts
        cells = [result.path.name]
        if wide:
            cells.append(result.profile or result.kind)
        cells += [
            f"[{style}]{status}[/]",
            f"{counts.inserted:,}",
            f"{counts.updated:,}",
            f"{counts.unchanged:,}",
            f"{counts.rejected:,}",
            f"{result.seconds:.2f}",
        ]
        table.add_row(*cells)
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
