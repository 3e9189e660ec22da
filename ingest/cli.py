"""The crm command: a thin layer over the library that prints tables and turns errors into lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest import db
from ingest.errors import CrmError, ExitCode
from ingest.export_cli import export_app
from ingest.import_cli import import_command
from ingest.mail.cli import relink_command

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 unexpected error (a bug: please report it with the traceback); "
    "2 bad command line; 3 a problem you can fix (the message says how); "
    "4 import loaded but rows were rejected; 5 a file failed and loaded nothing; "
    "6 dbt build failed; 7 another run holds the lock."
)

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="crm",
    help="Consulting CRM: a PostgreSQL system of record, importers and dbt analytics.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The database: create the schema, see where it is and what it holds.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
config_app = typer.Typer(
    help="Settings you state once (config.toml), such as your own mail addresses.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")
app.add_typer(export_app, name="export")
app.command("import", no_args_is_help=True)(import_command)
app.command("relink")(relink_command)


@app.command("report")
def report(
    out: Annotated[Path, typer.Option(help="Where to write the HTML file.")] = Path(
        "crm-report.html"
    ),
) -> None:
    """Write a self-contained HTML report (opens offline) from the analytics models."""
    from ingest.report import write_report

    target = db.resolve_target()
    with db.connect(target) as conn:
        written = write_report(conn, out)
    console.print(f"Report written to {written.resolve()}")


@app.command("demo")
def demo(
    out: Annotated[
        Path, typer.Option(help="Folder for the generated exports and the report.")
    ] = Path("demo"),
    seed: Annotated[int, typer.Option(help="Seed of the invented practice.")] = 7,
    scale: Annotated[
        int, typer.Option(min=1, help="Multiply every volume (clients, people, mail) by N.")
    ] = 1,
    allow_existing: Annotated[
        bool,
        typer.Option(
            "--allow-existing", help="Import into a database that already holds other data."
        ),
    ] = False,
) -> None:
    """From nothing to dashboards: schema, a consultancy's exports, import, build, figures, report.

    Uses the embedded PostgreSQL unless DATABASE_URL (or PG*) is set. Safe to run again: the same
    files are recognised and nothing changes.
    """
    from ingest.demo.run import run_demo

    run = run_demo(out, seed=seed, scale=scale, allow_existing=allow_existing, console=console)
    if run.exit_code != ExitCode.OK:
        raise typer.Exit(int(run.exit_code))


@app.command("nightly", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def nightly(
    ctx: typer.Context,
    inbox: Annotated[
        Path, typer.Option(help="Folder new exports are dropped into.", show_default=False)
    ],
    as_of: Annotated[
        str | None,
        typer.Option(help="Compute the figures as of this date (YYYY-MM-DD; default: today)."),
    ] = None,
    settle_seconds: Annotated[
        float,
        typer.Option(help="Leave files changed more recently than this for the next run."),
    ] = 60.0,
) -> None:
    """For cron: import the inbox's new files, build, check freshness, write a run summary.

    Imported files move to INBOX/archive/RUN/, failed ones to INBOX/failed/RUN/ with a
    NAME.reason.txt; summaries go to INBOX/runs/RUN.json and .txt (runs/latest.txt is the last).
    Extra arguments go to dbt build. Exit code 0 only when everything passed; otherwise 4 rows
    rejected, 5 a file failed, 6 the build or source freshness failed, 7 another run holds the
    lock.
    """
    import datetime as dt

    from ingest.nightly import run_nightly

    if as_of is not None:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError as exc:
            raise typer.BadParameter("write it as YYYY-MM-DD", param_hint="--as-of") from exc
    run = run_nightly(
        inbox,
        dbt_args=ctx.args,
        as_of_date=as_of,
        settle_seconds=settle_seconds,
        console=console,
    )
    console.print(Path(run.summary_text).read_text(encoding="utf-8"), markup=False, highlight=False)
    if run.exit_code != ExitCode.OK:
        raise typer.Exit(run.exit_code)


@config_app.command("show")
def config_show() -> None:
    """Show where the settings file is and every setting with its value."""
    from ingest.config import KEYS, config_path, read_values

    path = config_path()
    values = read_values(path)
    console.print(f"Settings file: {path}" + ("" if path.exists() else " (not created yet)"))
    table = Table()
    table.add_column("setting")
    table.add_column("value")
    table.add_column("what it does", overflow="fold")
    for name, (_, meaning) in KEYS.items():
        value = values.get(name)
        if value is None:
            shown = "(not set)"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, list):
            shown = ", ".join(value)
        else:
            shown = str(value)
        table.add_row(name, shown, meaning)
    console.print(table)


@config_app.command("set")
def config_set(
    name: Annotated[str, typer.Argument(help="Setting, e.g. mail.owner_emails.")],
    values: Annotated[list[str], typer.Argument(help="Value(s); lists take several.")],
) -> None:
    """Set a setting, e.g. `crm config set mail.owner_emails me@firm.com me@gmail.com`."""
    from ingest.config import config_path, parse_value, read_values, write_values

    path = config_path()
    current = read_values(path)
    current[name] = parse_value(name, values)
    write_values(path, current)
    console.print(f"{name} set in {path}.")


@config_app.command("unset")
def config_unset(
    name: Annotated[str, typer.Argument(help="Setting to remove (back to its default).")],
) -> None:
    """Remove a setting, so its default applies again."""
    from ingest.config import KEYS, config_path, read_values, write_values

    if name not in KEYS:
        raise CrmError(f"unknown setting {name!r}; known settings: {', '.join(KEYS)}.")
    path = config_path()
    current = read_values(path)
    current.pop(name, None)
    write_values(path, current)
    console.print(f"{name} removed from {path}.")


@db_app.command("init")
def db_init() -> None:
    """Apply schema.sql (safe to run again: an existing database keeps every row)."""
    target = db.resolve_target()
    with db.connect(target) as conn:
        before = db.schema_version(conn)
        version = db.apply_schema(conn)
    if before == version:
        console.print(f"Schema version {version} already applied at {target.where}; nothing to do.")
    else:
        console.print(f"[green]Schema version {version} applied[/] at {target.where}.")


@db_app.command("status")
def db_status() -> None:
    """Show where the database is, its PostgreSQL version, schema version and row counts."""
    target = db.resolve_target()
    with db.connect(target) as conn:
        server_version = conn.execute("show server_version").fetchone()
        version = db.schema_version(conn)
        counts: list[tuple[str, int]] = []
        if version is not None:
            for table_name in db.PUBLIC_TABLES:
                row = conn.execute(f"select count(*) from public.{table_name}").fetchone()
                counts.append((table_name, int(row[0]) if row else 0))
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_row("Database", target.where)
    summary.add_row("PostgreSQL", str(server_version[0]) if server_version else "?")
    summary.add_row(
        "Schema version", str(version) if version is not None else "not applied (run: crm db init)"
    )
    console.print(summary)
    if counts:
        table = Table(title="Rows per table")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for table_name, count in counts:
            table.add_row(table_name, f"{count:,}")
        console.print(table)


@db_app.command("url")
def db_url() -> None:
    """Print the connection URI (for psql, dbt or a BI tool)."""
    target = db.resolve_target()
    if target.kind == "env":
        parts = db.libpq_environment(target) or {}
        console.print(
            "Using the PG* variables from the environment; libpq reads them directly."
            + (f" {parts}" if parts else "")
        )
        return
    print(target.conninfo)


@db_app.command("diagram")
def db_diagram(
    out: Annotated[
        Path, typer.Option(help="Folder to write er-diagram.{mmd,dot,png} into.")
    ] = db.PROJECT_ROOT / "architecture",
) -> None:
    """Draw the ER diagram from the live schema (Mermaid source plus a PNG via Graphviz)."""
    from ingest.diagram import write_diagram

    target = db.resolve_target()
    with db.connect(target) as conn:
        written = write_diagram(conn, out)
    for path in written:
        console.print(f"wrote {path}")


@db_app.command("create-reader")
def db_create_reader(
    name: Annotated[str, typer.Argument(help="Login name for the BI tool, e.g. powerbi_desktop.")],
    connection_limit: Annotated[
        int, typer.Option(help="Most connections this login may hold at once.")
    ] = 10,
    statement_timeout: Annotated[
        str, typer.Option(help="Longest a single query may run (PostgreSQL interval).")
    ] = "5min",
) -> None:
    """Create (or update) a read-only login that can read the analytics models and nothing else.

    The password comes from CRM_READER_PASSWORD or a prompt (never echoed), and is hashed
    (SCRAM-SHA-256) before it is sent to the server.
    """
    import os

    from ingest.access import ReaderSettings, create_reader

    password = os.environ.get("CRM_READER_PASSWORD") or typer.prompt(
        f"Password for {name}", hide_input=True, confirmation_prompt=True
    )
    target = db.resolve_target()
    with db.connect(target) as conn:
        created = create_reader(
            conn, name, password, ReaderSettings(connection_limit, statement_timeout)
        )
    verb = "Created" if created else "Updated"
    console.print(
        f"{verb} read-only login [bold]{name}[/] (member of powerbi_reader) at {target.where}."
    )
    if target.kind == "embedded":
        console.print("Power BI reaches the embedded server over TCP once you run `crm db serve`.")


@db_app.command("serve")
def db_serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = (
        "0.0.0.0"
    ),
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 5433,
) -> None:
    """Let BI tools reach the embedded server over TCP; every TCP login needs a password."""
    from ingest.access import serve_embedded

    target = db.resolve_target(start=False)
    if target.kind != "embedded" or target.data_dir is None:
        raise CrmError(
            f"crm db serve is for the embedded server; {target.where} already accepts "
            "connections the way its administrator set it up."
        )
    where = serve_embedded(target.data_dir, host=host, port=port)
    console.print(
        f"The embedded PostgreSQL now listens on {where} (database {db.EMBEDDED_DATABASE}); "
        "TCP logins need a password (create one with `crm db create-reader`). "
        "It keeps listening until `crm db stop` or a reboot."
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (it starts again on the next command)."""
    target = db.resolve_target(start=False)
    if target.kind != "embedded" or target.data_dir is None:
        raise CrmError(
            "crm db stop only stops the embedded server; this session uses "
            f"{target.where} (unset DATABASE_URL and the PG* variables to use the embedded one)."
        )
    if db.stop_embedded_server(target.data_dir):
        console.print(f"Stopped the embedded PostgreSQL in {target.data_dir / 'pgdata'}.")
    else:
        console.print("The embedded PostgreSQL was not running.")


@app.command("build", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def build(ctx: typer.Context) -> None:
    """Run dbt build (snapshots, seeds, models, tests) against the configured database.

    Extra arguments go to dbt, e.g. `crm build --select marts --vars '{as_of_date: 2025-06-30}'`.
    Exits with 6 when a model or test fails.
    """
    from ingest.build import run_build

    result = run_build(
        ctx.args, echo=lambda line: console.print(line, markup=False, soft_wrap=True)
    )
    if result.exit_code != ExitCode.OK:
        raise typer.Exit(int(result.exit_code))


# `crm --help` lists the commands in the order a newcomer meets them (typer keeps the order the
# commands were registered in, which follows the modules they come from).
COMMAND_ORDER = ("demo", "import", "relink", "build", "report", "nightly")
app.registered_commands.sort(
    key=lambda command: (
        COMMAND_ORDER.index(command.name) if command.name in COMMAND_ORDER else len(COMMAND_ORDER)
    )
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the crm command: run the app and map user errors to one line and a code."""
    try:
        app(args=argv, prog_name="crm")
    except CrmError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return int(exc.exit_code)
    except SystemExit as exc:  # click ends every run this way, with the command's exit code
        if exc.code is None:
            return int(ExitCode.OK)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.BUG)
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
