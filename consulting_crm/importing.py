"""Importing as a person sees it: a progress bar per file, then one summary table.

``crm import`` and ``crm demo`` both import this way; the files themselves go through
:func:`ingest.dispatch.import_file`, as in ``crm nightly``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import psycopg
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingest.dispatch import import_file
from ingest.options import ImportOptions, MailOptions
from ingest.results import FileResult, display_name, readable


def import_with_progress(
    conn: psycopg.Connection,
    files: Sequence[Path],
    spreadsheet: ImportOptions,
    mail_options: MailOptions,
    *,
    console: Console,
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
            task = bar.add_task(display_name(path), total=None, markup=False)

            def report(done: int, total: int = 0, task: TaskID = task) -> None:
                bar.update(task, completed=done, total=total or None)

            result = import_file(conn, path, spreadsheet, mail_options, progress=report)
            bar.remove_task(task)
            results.append(result)
    return results


def print_summary(results: Sequence[FileResult], *, console: Console) -> None:
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
        cells = [result.name]
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
        # A workbook imported sheet by sheet: a row per sheet under the file's (which sums them).
        for part in result.sheets:
            counts = part.counts
            cells = [escape(f"  sheet {readable(part.sheet)}")]
            if wide:
                cells.append("")
            cells += [
                "" if counts.read else "no rows",
                f"{counts.inserted:,}",
                f"{counts.updated:,}",
                f"{counts.unchanged:,}",
                f"{counts.rejected:,}",
                "",
            ]
            table.add_row(*cells)
    console.print(table)
    for result in results:
        if result.message:
            note = readable(result.message)
            if not note.startswith(result.name):
                note = f"{result.name}: {note}"
            console.print(note, highlight=False, markup=False)
        if result.reject_report is not None:
            console.print(
                f"{result.name}: rejected rows are listed in {readable(str(result.reject_report))}",
                highlight=False,
                markup=False,
            )
    dry_runs = [result for result in results if result.status == "dry_run"]
    if any(result.reject_report is not None for result in dry_runs):
        # The report is what a dry run is for: every row the import would reject, and why.
        console.print(
            "Dry run: nothing was written to the database; the reject reports named above list "
            "the rows a real import would reject.",
            highlight=False,
        )
    elif dry_runs:
        console.print("Dry run: nothing was written.")


def print_tracebacks(results: Sequence[FileResult], *, console: Console) -> None:
    """With CRM_DEBUG=1, the traceback of every unexpected error that failed a file (for a
    developer; the summary already said what failed and where it was raised)."""
    if os.environ.get("CRM_DEBUG", "") in ("", "0"):
        return
    for result in results:
        if result.traceback:
            console.print(
                f"{result.name}: traceback of the unexpected error:\n{result.traceback}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
