"""`crm db …`: the database itself: schema, status, URL, diagram, BI logins, the embedded server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from consulting_crm import database as db
from consulting_crm.cli.output import EXIT_CODES_HELP, console, err_console
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


def _chosen_by(target: db.Target) -> str:
    """Why every command of this session uses ``target`` (and where the demo's data is)."""
    if target.kind == "url":
        return "DATABASE_URL (every crm command, dbt and the tests use it; the demo too)"
    if target.kind == "env":
        return "the PG* variables (every crm command, dbt and the tests use them; the demo too)"
    assert target.data_dir is not None
    demo = target.data_dir / db.DEMO_HOME
    return (
        "nothing set: the embedded server in CRM_HOME; `crm demo` keeps its own in "
        f"{demo / 'pgdata'}" + ("" if (demo / "pgdata").is_dir() else " (not created yet)")
    )


@db_app.command("status")
def db_status() -> None:
    """Show where the database is, whether through a pooler, its PostgreSQL version, schema
    version and row counts."""
    target = db.resolve_target()
    route = db.connection_route(target)
    with db.connect(target) as conn:
        server_version = conn.execute("show server_version").fetchone()
        serving = db.serving(conn, target.data_dir) if target.kind == "embedded" else None
        version = db.schema_version(conn)
        counts: list[tuple[str, int]] = []
        if version is not None:
            for table_name in db.PUBLIC_TABLES:
                row = conn.execute(f"select count(*) from public.{table_name}").fetchone()
                counts.append((table_name, int(row[0]) if row else 0))
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(no_wrap=True)
    summary.add_column(overflow="fold")  # a long path wraps; it is never cut short with "…"
    summary.add_row("Database", target.where)
    summary.add_row("Chosen by", _chosen_by(target))
    summary.add_row("Connection", route.describe())
    if (note := route.session_note()) is not None:
        summary.add_row("Sessions", note)
    summary.add_row("PostgreSQL", str(server_version[0]) if server_version else "?")
    summary.add_row(
        "Schema version", str(version) if version is not None else "not applied (run: crm db init)"
    )
    if serving is not None:
        summary.add_row("Serving BI tools", serving)
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
    if target.kind == "embedded":
        # The URI names the server's local socket: right for psql and dbt on this machine, useless
        # to a BI tool. Said on stderr, so `psql "$(crm db url)"` still gets the bare URI.
        with db.connect(target) as conn:
            tcp = db.serving(conn, target.data_dir)
        err_console.print(
            "This URI uses the embedded server's local socket (psql and dbt on this machine). "
            f"BI tools connect over TCP: {tcp}; log in with a reader from "
            "`crm db create-reader` (docs/power-bi.md).",
            highlight=False,
            soft_wrap=True,
        )


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

    from consulting_crm.access import ReaderSettings, check_reader_name, create_reader

    check_reader_name(name)  # before anyone types a password for a name that cannot be used
    password = os.environ.get("CRM_READER_PASSWORD") or _ask_password(name)
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


def _ask_password(name: str) -> str:
    """Ask for a reader's password twice, with the rule stated up front and checked at once."""
    from consulting_crm.access import MIN_PASSWORD_LENGTH, password_problem

    try:
        while True:
            password: str = typer.prompt(
                f"Password for {name} (at least {MIN_PASSWORD_LENGTH} characters)",
                hide_input=True,
            )
            problem = password_problem(password)
            if problem:
                console.print(f"The password {problem}; try again.")
                continue
            if typer.prompt("Repeat it", hide_input=True) == password:
                return password
            console.print("The two passwords differ; try again.")
    except typer.Abort as exc:  # end of input or Ctrl-C at the prompt
        raise CrmError(
            f"no password was given for {name}, so nothing was changed. Type it at the prompt "
            "(twice), or set CRM_READER_PASSWORD."
        ) from exc


members_app = typer.Typer(
    help="Who may read and write the CRM through Supabase's REST API (everyone else who signs "
    "up sees nothing); see docs/supabase.md.",
    no_args_is_help=True,
)
db_app.add_typer(members_app, name="members")


@members_app.command("add")
def members_add(
    who: Annotated[
        str,
        typer.Argument(
            metavar="EMAIL_OR_ID",
            help="On Supabase the user's email (or id); elsewhere the user id (uuid).",
        ),
    ],
    email: Annotated[
        str | None,
        typer.Option(metavar="EMAIL", help="A label for a user id, where there is no Supabase."),
    ] = None,
) -> None:
    """Let a signed-up user read and write the CRM through the API; see docs/supabase.md."""
    from consulting_crm.members import add_member

    target = db.resolve_target()
    with db.connect(target) as conn:
        member, created = add_member(conn, who, email=email)
    label = f"{member.email} ({member.user_id})" if member.email else str(member.user_id)
    if created:
        console.print(f"[green]Added member[/] {label} at {target.where}.")
    else:
        console.print(f"{label} was already a member at {target.where}.")


@members_app.command("remove")
def members_remove(
    who: Annotated[
        str, typer.Argument(metavar="EMAIL_OR_ID", help="The member's email or user id.")
    ],
) -> None:
    """Take a user off the member list; their next request sees nothing."""
    from consulting_crm.members import remove_member

    target = db.resolve_target()
    with db.connect(target) as conn:
        member = remove_member(conn, who)
    label = f"{member.email} ({member.user_id})" if member.email else str(member.user_id)
    console.print(f"Removed member {label} at {target.where}.")


@members_app.command("list")
def members_list() -> None:
    """List the members: who may read and write the CRM through the API."""
    from consulting_crm.members import list_members

    target = db.resolve_target()
    with db.connect(target) as conn:
        members = list_members(conn)
    if not members:
        console.print(
            f"No members at {target.where}: signed-in users see nothing. "
            "Add one with `crm db members add EMAIL_OR_ID`."
        )
        return
    table = Table(title=f"Members ({len(members)})")
    table.add_column("email")
    table.add_column("user id")
    table.add_column("added")
    table.add_column("by")
    for member in members:
        table.add_row(
            member.email or "",
            str(member.user_id),
            f"{member.added_at:%Y-%m-%d %H:%M}",
            member.added_by,
        )
    console.print(table)


@db_app.command("serve")
def db_serve(
    listen: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Address to listen on: 127.0.0.1 (this machine, the default; or serve.listen), "
            "0.0.0.0 for every interface.",
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="TCP port (default 5433, or serve.port).")
    ] = None,
) -> None:
    """Let BI tools reach the embedded server over TCP, with TLS; every TCP login needs a
    password.

    It listens until `crm db stop` or a reboot, unless `crm config set serve.persist true`
    (then every start of the server listens on serve.listen and serve.port again).
    """
    from consulting_crm.access import serve_embedded
    from consulting_crm.settings import config_path, load_settings, read_values, write_values

    target = db.resolve_target(start=False)
    if target.kind != "embedded" or target.data_dir is None:
        raise CrmError(
            f"crm db serve is for the embedded server; {target.where} already accepts "
            "connections the way its administrator set it up."
        )
    settings = load_settings()
    listen = listen or settings.serve_listen
    port = port or settings.serve_port
    where = serve_embedded(target.data_dir, listen=listen, port=port)
    if settings.serve_persist and (listen, port) != (settings.serve_listen, settings.serve_port):
        path = config_path()
        values = read_values(path)
        values.update({"serve.listen": listen, "serve.port": port})
        write_values(path, values)
    until = (
        "It listens again whenever the server starts (serve.persist); "
        "`crm config set serve.persist false` and `crm db stop` end that."
        if settings.serve_persist
        else "It keeps listening until `crm db stop` or a reboot "
        "(`crm config set serve.persist true` keeps it listening)."
    )
    certificate = target.data_dir / "pgdata" / db.CERTIFICATE_FILE
    by = "PostgreSQL" if db.tls_supported() else "crm's TLS front, as this build has none"
    console.print(
        f"The embedded PostgreSQL now listens on {where} (database {db.EMBEDDED_DATABASE}) "
        f"with TLS ({by}; the certificate for Power BI to trust: {certificate}; "
        "docs/power-bi.md); TCP logins need a password (create one with "
        f"`crm db create-reader`). {until}",
        soft_wrap=True,
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
    demo = target.data_dir / db.DEMO_HOME
    if (demo / "pgdata").is_dir() and db.stop_embedded_server(demo):
        console.print(f"Stopped the demo's embedded PostgreSQL in {demo / 'pgdata'}.")
