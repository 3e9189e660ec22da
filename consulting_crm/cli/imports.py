"""`crm import`: spreadsheets (and, when the mail importer is installed, mail exports).

A thin layer over :mod:`ingest.spreadsheet` and :mod:`ingest.mail`: expand the paths, connect once,
import each file in its own transaction with a progress bar, print one summary table, exit with a
documented code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from consulting_crm import database as db
from consulting_crm.cli.output import console, err_console
from consulting_crm.importing import import_with_progress, print_summary, print_tracebacks
from consulting_crm.settings import load_settings, profiles_dir
from ingest.dispatch import expand_paths, summary_exit_code
from ingest.entities import DATE_ORDERS, ENTITIES
from ingest.errors import CrmError, ExitCode
from ingest.options import ImportOptions, MailOptions


def import_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH",
            help="CSV/XLSX files, mail exports, or folders of them.",
            show_default=False,
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
            "linkedin, outlook, or one of yours (`crm profile list`)."
        ),
    ] = "auto",
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="HEADER=FIELD",
            help='Read column HEADER into FIELD, e.g. --map "Kunde=account_name" (repeat for '
            "several; wins over the profile).",
        ),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option(
            "--value",
            metavar="FIELD:THEIRS=OURS",
            help='Read a value as one of ours, e.g. --value "stage:Closed Won=won" (repeat for '
            "several).",
        ),
    ] = None,
    create_accounts: Annotated[
        bool,
        typer.Option(
            "--create-accounts",
            help="Projects and contacts: a client (account name) that is no account yet "
            "becomes one, one per name (letter case and spaces aside); the summary names them "
            "(kept by --save-profile).",
        ),
    ] = False,
    save_profile: Annotated[
        str | None,
        typer.Option(
            "--save-profile",
            metavar="NAME",
            help="Save the mapping used (profile, --entity, --map, --value, --date-format) as "
            "your profile NAME, found by itself next time (one spreadsheet only).",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="Order of day and month in dates like 03/04/2025: DMY, MDY, YMD "
            "(default: the profile's order, then import.date_format in `crm config`, then "
            "from the dates in each column).",
        ),
    ] = None,
    decimal_separator: Annotated[
        str | None,
        typer.Option(
            "--decimal-separator",
            help='Decimal mark in numbers and amounts: "." (1,234.56) or "," (1.234,56) '
            "(default: import.decimal_separator in `crm config`, else decided per column "
            "from its values).",
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Read CSV files in this encoding, e.g. utf-8, cp1252, latin-1 (default: "
            "from the file's bytes).",
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            help="XLSX sheet to read, only that one (default: the first, and every other sheet "
            "with exactly its header row, as one file)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Validate and report: nothing goes into the database; only the reject report is "
            "written.",
        ),
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
        typer.Option(help="Write the import template for ENTITY and exit.", metavar="ENTITY"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where --template writes (default: ENTITY-template.csv or .xlsx)."),
    ] = None,
    template_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="csv|xlsx",
            help="--template as a CSV header row, or a workbook with an example row, drop-down "
            "lists and a sheet explaining each column.",
        ),
    ] = "csv",
) -> None:
    """Import spreadsheet exports (CSV/XLSX: generic template, Salesforce, HubSpot, Google
    Contacts, LinkedIn, Outlook) and mail exports (mbox, .eml): each file atomically, audited,
    idempotently; see docs/importing.md.

    Exit codes: 0 every file loaded (or was already imported); 4 files loaded but some rows were
    rejected (see the reject report); 5 at least one file failed and loaded nothing (each file
    fails alone; the next goes on); 3 a problem you can fix before anything is imported (a
    missing file, no database) or the database connection was lost (the file being imported
    rolled back; the run stops).
    """
    if template is not None:
        from ingest.templates import write_template

        console.print(f"wrote {write_template(template, out, template_format)}")
        return
    if not paths:
        raise typer.BadParameter("give at least one file or folder (or --template ENTITY)")
    if template_format != "csv":
        raise typer.BadParameter("is for --template ENTITY", param_hint="--format")
    if date_format is not None and date_format.upper() not in DATE_ORDERS:
        raise typer.BadParameter(
            f"{date_format!r} is not one of {', '.join(DATE_ORDERS)}", param_hint="--date-format"
        )
    if dry_run and save_profile is not None:
        raise typer.BadParameter(
            "a dry run writes nothing, not even a profile; check the mapping with --dry-run "
            "and the same --map/--value, then run without --dry-run to save it",
            param_hint="--save-profile",
        )
    if decimal_separator is not None and decimal_separator not in (".", ","):
        raise typer.BadParameter(
            f'{decimal_separator!r} is not "." or ","', param_hint="--decimal-separator"
        )
    if encoding is not None:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise typer.BadParameter(
                f"{encoding!r} is not an encoding Python knows (e.g. utf-8, cp1252, latin-1)",
                param_hint="--encoding",
            ) from exc
    since_date = None
    if since is not None:
        try:
            since_date = dt.date.fromisoformat(since)
        except ValueError as exc:
            raise typer.BadParameter("write it as YYYY-MM-DD", param_hint="--since") from exc
    settings = load_settings()
    from ingest.mapping import parse_overrides

    overrides = parse_overrides(map_ or [], value or [])
    spreadsheet = ImportOptions(
        entity=entity,
        profile=profile,
        date_format=date_format.upper() if date_format else None,
        default_date_format=settings.date_format,
        decimal_separator=decimal_separator or settings.decimal_separator,
        encoding=encoding,
        years=settings.years,
        sheet=sheet,
        dry_run=dry_run,
        strict=strict,
        force=force,
        report_dir=report_dir,
        profile_dir=profiles_dir(),
        overrides=overrides or None,
        create_accounts=create_accounts,
    )
    mail_options = MailOptions(
        owner_emails=tuple(owner_email or settings.owner_emails),
        create_leads=create_leads or settings.create_leads,
        since=since_date,
        store_bodies=settings.store_bodies and not no_bodies,
    )
    expanded = expand_paths(list(paths))
    if save_profile is not None:
        from consulting_crm.cli.profiles import save_profile_before_import

        spreadsheet = save_profile_before_import(expanded.files, spreadsheet, save_profile)
    elif spreadsheet.overrides is None and not dry_run:
        from consulting_crm.cli.mapping_prompt import ask_mapping_if_needed, on_a_terminal

        if on_a_terminal():
            spreadsheet = ask_mapping_if_needed(
                expanded.files, spreadsheet, console, unknown_accounts=_unknown_accounts
            )
    target = db.resolve_target()
    with db.connect(target, autocommit=True) as conn:
        if db.schema_version(conn) is None:
            raise CrmError(f"the database at {target.where} has no schema yet; run `crm db init`.")
        results = import_with_progress(
            conn, expanded.files, spreadsheet, mail_options, console=console
        )
    results += expanded.passed_over
    print_summary(results, console=console)
    print_tracebacks(results, console=err_console)
    code = summary_exit_code(results)
    if code != ExitCode.OK:
        raise typer.Exit(int(code))


def _unknown_accounts(names: list[str]) -> list[str]:
    """The clients among ``names`` that are no account yet (none when the database cannot be
    reached: the import says why right after)."""
    from ingest.load.matching import unknown_account_names

    try:
        target = db.resolve_target()
        with db.connect(target, autocommit=True) as conn:
            if db.schema_version(conn) is None:
                return []
            return unknown_account_names(conn, names)
    except (CrmError, psycopg.Error):
        return []
