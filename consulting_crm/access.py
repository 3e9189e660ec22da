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
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from consulting_crm.database import SERVE_MARKER, require_passwords_over_tcp
from ingest.errors import CrmError

__all__ = [
    "READER_GROUP",
    "SERVE_MARKER",
    "ReaderSettings",
    "create_reader",
    "require_passwords_over_tcp",
    "scram_sha256_verifier",
    "serve_embedded",
]

READER_GROUP = "powerbi_reader"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SCRAM_ITERATIONS = 4096


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


MIN_PASSWORD_LENGTH = 12


def check_reader_name(name: str) -> None:
    """Refuse a login name PostgreSQL would need quoting for (before anyone types a password)."""
    if not _ROLE_NAME.match(name):
        raise CrmError(
            f"'{name}' is not a usable role name: use lower-case letters, digits and underscores, "
            "starting with a letter (e.g. powerbi_desktop)."
        )


def password_problem(password: str) -> str | None:
    """What is wrong with a reader's password, as the end of a sentence; None when it will do."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"is too short: use at least {MIN_PASSWORD_LENGTH} characters"
    return None


def create_reader(
    conn: psycopg.Connection, name: str, password: str, settings: ReaderSettings | None = None
) -> bool:
    """Create (or update) a read-only login in ``powerbi_reader``; return True when it is new."""
    settings = settings or ReaderSettings()
    check_reader_name(name)
    problem = password_problem(password)
    if problem:
        raise CrmError(f"the reader's password {problem}.")
    if settings.connection_limit < 1:
        raise CrmError("--connection-limit must be at least 1.")
    reserved = _reserved_role(name)
    if reserved:
        raise CrmError(
            f"{name} is {reserved}; refusing to turn it into a BI login. Choose another name, "
            "e.g. powerbi_desktop."
        )
    role = sql.Identifier(name)
    verifier = sql.Literal(scram_sha256_verifier(password))
    with conn.transaction():
        existing = conn.execute("select oid from pg_roles where rolname = %s", (name,)).fetchone()
        if existing:
            reason = _not_a_reader(conn, int(existing[0]))
            if reason:
                raise CrmError(
                    f"role {name} already exists and is not a reader made by "
                    f"`crm db create-reader` ({reason}); refusing to turn it into a BI login. "
                    "Choose another name, e.g. powerbi_desktop."
                )
            conn.execute(
                sql.SQL(
                    "alter role {} with login nosuperuser nocreatedb nocreaterole noreplication "
                    "nobypassrls inherit password {} connection limit {}"
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


# Roles that mean something to PostgreSQL, Supabase or this schema: never a BI login, existing or
# not (a Supabase project has them all; a plain server may gain them when schema.sql is applied).
_RESERVED_ROLES = {
    "anon": "Supabase's role for requests with the public API key",
    "authenticated": "Supabase's role for signed-in API users",
    "service_role": "Supabase's role that bypasses row level security",
    "authenticator": "the role Supabase's REST API logs in as",
    "dashboard_user": "Supabase's dashboard role",
    "postgres": "the administrator",
    READER_GROUP: "the group every BI reader belongs to",
}
_RESERVED_PREFIXES = {
    "pg_": "PostgreSQL's own",
    "supabase_": "Supabase's own",
}


def _reserved_role(name: str) -> str:
    """Why ``name`` can never be a BI login, or '' when it may be one."""
    if name in _RESERVED_ROLES:
        return f"a reserved role ({_RESERVED_ROLES[name]})"
    for prefix, whose in _RESERVED_PREFIXES.items():
        if name.startswith(prefix):
            return f"a reserved role name ({prefix}* roles are {whose})"
    return ""


def _not_a_reader(conn: psycopg.Connection, oid: int) -> str:
    """Why the existing role ``oid`` is not a reader this module made, or '' when it is one.

    A reader is a member of ``powerbi_reader`` and of nothing else, has no administrative
    attribute, no members of its own, owns nothing and holds no privileges granted to it
    directly: updating such a role (its password, its limits) cannot widen anybody's access.
    """
    row = conn.execute(
        """
        select r.rolsuper or r.rolcreaterole or r.rolcreatedb or r.rolbypassrls
                   or r.rolreplication,
               coalesce((select array_agg(g.rolname::text order by g.rolname)
                         from pg_auth_members m join pg_roles g on g.oid = m.roleid
                         where m.member = r.oid), '{}'),
               exists (select from pg_auth_members m where m.roleid = r.oid),
               exists (select from pg_class where relowner = r.oid)
                   or exists (select from pg_namespace where nspowner = r.oid)
                   or exists (select from pg_proc where proowner = r.oid)
                   or exists (select from pg_database where datdba = r.oid)
                   or exists (select from pg_type where typowner = r.oid),
               exists (select from pg_class c, aclexplode(c.relacl) a where a.grantee = r.oid)
                   or exists (select from pg_namespace n, aclexplode(n.nspacl) a
                              where a.grantee = r.oid)
                   or exists (select from pg_database d, aclexplode(d.datacl) a
                              where a.grantee = r.oid)
                   or exists (select from pg_proc p, aclexplode(p.proacl) a
                              where a.grantee = r.oid)
        from pg_roles r where r.oid = %s
        """,
        (oid,),
    ).fetchone()
    if row is None:
        return ""
    administrative, memberships, has_members, owns, granted = row
    if administrative:
        return "it has administrative rights"
    others = [group for group in memberships if group != READER_GROUP]
    if others:
        return f"it is a member of {', '.join(others)}"
    if READER_GROUP not in memberships:
        return f"it is not a member of {READER_GROUP}"
    if has_members:
        return "other roles are members of it"
    if owns:
        return "it owns database objects"
    if granted:
        return "privileges are granted to it directly"
    return ""


# ---------------------------------------------------------------------------------------------
# TCP access to the embedded server
# ---------------------------------------------------------------------------------------------


def serve_embedded(home: Path, *, listen: str, port: int) -> str:
    """Restart the embedded server listening on ``listen:port`` with TLS (passwords required).

    The certificate is created on first use (``pgdata/server.crt``); docs/power-bi.md says how a
    BI tool comes to trust it.
    """
    from consulting_crm import database as db

    db.start_embedded_server(home)  # make sure it is initialised and the crm database exists
    db.stop_embedded_server(home)
    db.start_embedded_server(home, tcp=(listen, port))
    return f"{listen}:{port}"
