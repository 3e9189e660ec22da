"""`crm db …`: the database itself: schema, status, URL, diagram, BI logins, the embedded server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from consulting_crm import database as db
from consulting_crm.cli.output import EXIT_CODES_HELP, console
from ingest.errors import CrmError

db_app = typer.Typer(
    help="The database: create the schema, see where it is and what it holds.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
)


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
    """Show where the database is, whether through a pooler, its PostgreSQL version, schema
    version and row counts."""
    target = db.resolve_target()
    route = db.connection_route(target)
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
    summary.add_row("Connection", route.describe())
    if (note := route.session_note()) is not None:
        summary.add_row("Sessions", note)
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
    """Print the connection URI for psql, dbt or a BI tool, e.g. `psql "$(crm db url)"`."""
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
        Path, typer.Option(metavar="DIR", help="Folder to write er-diagram.{mmd,dot,png} into.")
    ] = db.PROJECT_ROOT / "architecture",
) -> None:
    """Draw the ER diagram from the live schema (Mermaid source plus a PNG via Graphviz)."""
    from consulting_crm.diagram import write_diagram

    target = db.resolve_target()
    with db.connect(target) as conn:
        written = write_diagram(conn, out)
    for path in written:
        console.print(f"wrote {path}")


@db_app.command("create-reader")
def db_create_reader(
    name: Annotated[str, typer.Argument(help="Login name for the BI tool, e.g. powerbi_desktop.")],
    connection_limit: Annotated[
        int, typer.Option(metavar="N", help="Most connections this login may hold at once.")
    ] = 10,
    statement_timeout: Annotated[
        str,
        typer.Option(
            metavar="INTERVAL", help="Longest a single query may run (PostgreSQL interval)."
        ),
    ] = "5min",
) -> None:
    """Create (or update) a read-only login for Power BI that can read the analytics models and
    nothing else; see docs/power-bi.md.

    The password comes from CRM_READER_PASSWORD or a prompt (never echoed), and is hashed
    (SCRAM-SHA-256) before it is sent to the server.
    """
    import os

    from consulting_crm.access import ReaderSettings, create_reader

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
    from consulting_crm.access import serve_embedded

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
