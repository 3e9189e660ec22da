"""`crm export`: write the CRM out in another system's load format (today: Salesforce).

A thin layer over :mod:`consulting_crm.exports.salesforce`: connect, export, print one summary
table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from consulting_crm import database as db
from consulting_crm.cli.output import console
from ingest.errors import CrmError

EXPORT_EXIT_CODES = (
    "Exit codes: 0 the files were written; 3 a problem you can fix (no database, a bad --since "
    "date, a folder that cannot be written, values too long for their Salesforce field: nothing "
    "is written); 6 the salesforce models did not build."
)


# The dbt selector of the models this export reads (a plain `crm build` leaves them out).
SALESFORCE_MODELS = "path:models/exports/salesforce"

export_app = typer.Typer(
    help="Export the CRM for another system.\n\n" + EXPORT_EXIT_CODES,
    no_args_is_help=True,
)


@export_app.command("salesforce", no_args_is_help=True)
def export_salesforce_command(
    out_dir: Annotated[
        Path,
        typer.Argument(
            metavar="OUTDIR",
            help="Folder for the CSV files (created when missing).",
            show_default=False,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="Only records changed on or after this day (UTC): an incremental export.",
        ),
    ] = None,
    build: Annotated[
        bool,
        typer.Option(
            "--build/--no-build",
            help="Build the salesforce models first (--no-build: export what was built last).",
        ),
    ] = True,
    truncate: Annotated[
        bool,
        typer.Option(
            "--truncate",
            help="Cut values too long for their Salesforce field, ending in …[truncated] "
            "(without it, such values stop the export and are listed).",
        ),
    ] = False,
) -> None:
    """Write Data Loader-ready CSVs, one per Salesforce object, in load order, keyed by the
    external id Crm_Id__c; see docs/salesforce-mapping.md.

    First builds the `salesforce` models (a plain `crm build` leaves them out), so the files show
    the CRM as it is now. Values longer than their Salesforce field allows are listed and nothing
    is written, unless --truncate. Upsert the files on Crm_Id__c, in the order of their number.
    """
    from consulting_crm.exports.salesforce import TRUNCATION_MARKER, export_salesforce

    since_date = _parse_since(since) if since is not None else None
    target = db.resolve_target()
    with db.connect(target, autocommit=True) as conn:
        if db.schema_version(conn) is None:
            raise CrmError(f"the database at {target.where} has no schema yet; run `crm db init`.")
    if build:
        build_salesforce_models()
    with db.connect(target, autocommit=True) as conn:
        try:
            result = export_salesforce(conn, out_dir, since=since_date, truncate=truncate)
        except OSError as exc:
            raise CrmError(
                f"{out_dir}: cannot write the export there ({exc.strerror or exc}); choose "
                "another folder."
            ) from exc
    table = Table(title="Salesforce export" + (f" (changed since {since_date})" if since else ""))
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("object", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("file", overflow="fold")
    exported = result.files
    for item in exported:
        table.add_row(
            item.file_name.split("-", 1)[0],
            item.object_name,
            f"{item.rows:,}",
            str(item.path) if item.path else "[dim]none (no rows)[/]",
        )
    console.print(table)
    console.print(
        f"{sum(item.rows for item in exported):,} records in {out_dir}. Load the files in step "
        "order with Data Loader's Upsert on Crm_Id__c (docs/salesforce-mapping.md).",
        highlight=False,
    )
    if result.truncated:
        count = len(result.truncated)
        console.print(
            f"{count:,} {'value was' if count == 1 else 'values were'} longer than the "
            f'Salesforce field allows and cut to fit, ending in "{TRUNCATION_MARKER}":',
            markup=False,
            highlight=False,
        )
        for oversized in result.truncated:
            console.print(f"  {oversized.describe()}", markup=False, highlight=False)


def build_salesforce_models() -> None:
    """Build only the Salesforce-shaped models and their tests (they read the sources directly)."""
    import tempfile

    from consulting_crm.dbt_runner import run_build
    from ingest.errors import ExitCode

    with tempfile.TemporaryDirectory(prefix="crm-export-") as work:
        result = run_build(
            ["--select", SALESFORCE_MODELS],
            echo=lambda line: console.print(line, markup=False, highlight=False),
            target_path=Path(work) / "target",
            quiet=True,
        )
    if result.exit_code != ExitCode.OK:
        console.print(result.output, markup=False, highlight=False)
        raise CrmError(
            "the salesforce models did not build (dbt's output is above), so nothing was "
            "exported; fix what it names and export again.",
            exit_code=ExitCode.BUILD_FAILED,
        )


def _parse_since(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CrmError(
            f'--since "{text}" is not a date; write it as YYYY-MM-DD, e.g. --since 2025-06-30.'
        ) from None
