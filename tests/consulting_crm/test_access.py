"""Read-only BI logins and TCP access to the embedded server, on a real PostgreSQL."""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo as pg_conninfo
from psycopg import errors

from consulting_crm import database as db
from consulting_crm.access import (
    SERVE_MARKER,
    ReaderSettings,
    create_reader,
    require_passwords_over_tcp,
    scram_sha256_verifier,
    serve_embedded,
)
from ingest.errors import CrmError

PASSWORD = "correct horse battery staple"


@pytest.fixture
def reader(crm_database: str) -> Iterator[str]:
    """A fresh reader login; dropped afterwards (roles are shared by the whole server)."""
    name = f"crm_test_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(crm_database, autocommit=True) as conn:
        assert create_reader(conn, name, PASSWORD) is True
    yield name
    with psycopg.connect(crm_database, autocommit=True) as conn:
        conn.execute(f'drop role if exists "{name}"')


def test_verifier_has_postgres_scram_layout() -> None:
    verifier = scram_sha256_verifier("secret", salt=b"0123456789abcdef")
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key, server_key = keys.split(":")
    assert (method, iterations) == ("SCRAM-SHA-256", "4096")
    assert base64.b64decode(salt) == b"0123456789abcdef"
    assert len(base64.b64decode(stored_key)) == len(base64.b64decode(server_key)) == 32
    assert verifier == scram_sha256_verifier("secret", salt=b"0123456789abcdef")
    assert verifier != scram_sha256_verifier("Secret", salt=b"0123456789abcdef")


def test_reader_is_read_only_and_locked_out_of_operational_data(
    crm_database: str, reader: str
) -> None:
    reader_dsn = pg_conninfo.make_conninfo(crm_database, user=reader)
    with psycopg.connect(reader_dsn, autocommit=True) as conn:
        settings = conn.execute(
            "select current_setting('default_transaction_read_only'), "
            "current_setting('transaction_read_only'), "
            "pg_has_role(current_user, 'powerbi_reader', 'member')"
        ).fetchone()
        assert settings == ("on", "on", True)
        for statement in [
            *[f"select * from public.{table}" for table in db.PUBLIC_TABLES],
            "select * from ingest.import_batches",
        ]:
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)  # type: ignore[arg-type]
        with pytest.raises(errors.ReadOnlySqlTransaction), conn.transaction():
            conn.execute("create table public.sneaky (id int)")
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute("set transaction read write")
            conn.execute("insert into public.accounts (name) values ('Sneaky')")


def test_reader_role_settings(crm_database: str, reader: str) -> None:
    with psycopg.connect(crm_database) as conn:
        row = conn.execute(
            "select rolcanlogin, rolsuper, rolconnlimit, "
            "(select array_agg(c order by c) from unnest(rolconfig) as c) "
            "from pg_roles where rolname = %s",
            (reader,),
        ).fetchone()
    assert row == (
        True,
        False,
        10,
        [
            "default_transaction_read_only=on",
            "idle_in_transaction_session_timeout=10min",
            "statement_timeout=5min",
        ],
    )


def test_creating_a_reader_again_updates_it(crm_database: str, reader: str) -> None:
    with psycopg.connect(crm_database, autocommit=True) as conn:
        assert create_reader(conn, reader, "another long password") is False


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("Power BI", PASSWORD, "'Power BI' is not a usable role name"),
        ("powerbi_desktop", "short", "the reader's password is too short"),
        ("postgres", PASSWORD, "postgres is a reserved role (the administrator)"),
    ],
)
def test_bad_reader_requests_are_refused(
    crm_database: str, name: str, password: str, message: str
) -> None:
    with (
        psycopg.connect(crm_database, autocommit=True) as conn,
        pytest.raises(CrmError) as raised,
    ):
        create_reader(conn, name, password)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    "name",
    [
        "anon",
        "authenticated",
        "service_role",
        "powerbi_reader",
        "postgres",
        "pg_read_all_data",
        "pg_monitor",
        "authenticator",
        "dashboard_user",
        "supabase_admin",
    ],
)
def test_roles_with_a_meaning_never_become_bi_logins(crm_database: str, name: str) -> None:
    with psycopg.connect(crm_database, autocommit=True) as conn:
        before = conn.execute(
            "select rolcanlogin, rolpassword from pg_authid where rolname = %s", (name,)
        ).fetchone()
        with pytest.raises(CrmError) as raised:
            create_reader(conn, name, PASSWORD)
        after = conn.execute(
            "select rolcanlogin, rolpassword from pg_authid where rolname = %s", (name,)
        ).fetchone()
    message = str(raised.value)
    assert message.startswith(f"{name} is a reserved role")
    assert "refusing to turn it into a BI login. Choose another name" in message
    assert "\n" not in message
    assert after == before  # untouched (and not created when it did not exist)


@pytest.fixture
def other_role(crm_database: str) -> Iterator[str]:
    """An existing role that create-reader did not make; dropped afterwards."""
    name = f"crm_test_other_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(crm_database, autocommit=True) as conn:
        conn.execute(f'create role "{name}" nologin')
    yield name
    with psycopg.connect(crm_database, autocommit=True) as conn:
        conn.execute(f'drop owned by "{name}"')
        conn.execute(f'drop role if exists "{name}"')


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("", "it is not a member of powerbi_reader"),
        ("alter role {role} createdb", "it has administrative rights"),
        ("grant powerbi_reader, authenticated to {role}", "it is a member of authenticated"),
        ("grant powerbi_reader to {role}; grant {role} to anon", "other roles are members of it"),
        (
            "grant powerbi_reader to {role}; grant select on public.accounts to {role}",
            "privileges are granted to it directly",
        ),
        (
            "grant powerbi_reader to {role}; create schema crm_test_{role} authorization {role}",
            "it owns database objects",
        ),
    ],
)
def test_existing_roles_that_are_not_readers_are_refused(
    crm_database: str, other_role: str, setup: str, reason: str
) -> None:
    with psycopg.connect(crm_database, autocommit=True) as conn:
        if setup:
            for statement in setup.format(role=f'"{other_role}"').split(";"):
                conn.execute(statement.replace(f'crm_test_"{other_role}"', other_role))
        with pytest.raises(CrmError) as raised:
            create_reader(conn, other_role, PASSWORD)
        can_login = conn.execute(
            "select rolcanlogin from pg_roles where rolname = %s", (other_role,)
        ).fetchone()
    assert str(raised.value) == (
        f"role {other_role} already exists and is not a reader made by `crm db create-reader` "
        f"({reason}); refusing to turn it into a BI login. Choose another name, "
        "e.g. powerbi_desktop."
    )
    assert can_login == (False,)


def test_a_reader_made_by_create_reader_can_be_updated(crm_database: str, reader: str) -> None:
    with psycopg.connect(crm_database, autocommit=True) as conn:
        assert create_reader(conn, reader, "a new long password", ReaderSettings(3)) is False
        row = conn.execute(
            "select rolcanlogin, rolconnlimit from pg_roles where rolname = %s", (reader,)
        ).fetchone()
    assert row == (True, 3)
    with psycopg.connect(pg_conninfo.make_conninfo(crm_database, user=reader)) as conn:
        assert conn.execute("select current_user").fetchone() == (reader,)


def test_pg_hba_rewrite_requires_passwords_over_tcp(tmp_path: Path) -> None:
    pg_hba = tmp_path / "pg_hba.conf"
    pg_hba.write_text(
        "local   all   all                 trust\n"
        "host    all   all   127.0.0.1/32  trust\n"
        "host    all   all   ::1/128       trust\n"
    )
    require_passwords_over_tcp(pg_hba)
    once = pg_hba.read_text()
    require_passwords_over_tcp(pg_hba)
    assert pg_hba.read_text() == once
    assert once.splitlines() == [
        "local   all   all                 trust",
        "host    all   all   127.0.0.1/32  scram-sha-256",
        "host    all   all   ::1/128       scram-sha-256",
        SERVE_MARKER,
        "hostssl    all    all    0.0.0.0/0    scram-sha-256    # crm-serve",
        "hostssl    all    all    ::/0         scram-sha-256    # crm-serve",
        "host       all    all    0.0.0.0/0    scram-sha-256    # crm-serve (TLS off)",
        "host       all    all    ::/0         scram-sha-256    # crm-serve (TLS off)",
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_served_embedded_server_takes_password_logins_over_tcp(tmp_path: Path) -> None:
    home = tmp_path / "crm-home"
    port = _free_port()
    try:
        serve_embedded(home, listen="127.0.0.1", port=port)
        local = db.start_embedded_server(home)  # the socket still works for our own commands
        with psycopg.connect(local, autocommit=True) as conn:
            db.apply_schema(conn)
            create_reader(conn, "crm_test_tcp_reader", PASSWORD)
        tcp = f"host=127.0.0.1 port={port} dbname=crm user=crm_test_tcp_reader"
        with psycopg.connect(f"{tcp} password='{PASSWORD}'") as conn:
            assert conn.execute("select current_user").fetchone() == ("crm_test_tcp_reader",)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"{tcp} password='wrong password'")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"host=127.0.0.1 port={port} dbname=crm user=postgres password=x")
    finally:
        db.stop_embedded_server(home)


def test_create_reader_states_the_password_rule_before_the_password_is_typed(
    crm_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from consulting_crm.cli import app

    monkeypatch.setenv("DATABASE_URL", crm_database)
    monkeypatch.delenv("CRM_READER_PASSWORD", raising=False)
    name = f"crm_test_reader_{uuid.uuid4().hex[:8]}"
    try:
        result = CliRunner().invoke(
            app, ["db", "create-reader", name], input=f"short\n{PASSWORD}\n{PASSWORD}\n"
        )
        assert result.exit_code == 0, result.output
        prompt = f"Password for {name} (at least 12 characters): "
        assert result.output.startswith(prompt)
        assert "The password is too short: use at least 12 characters; try again." in result.output
        assert f"Created read-only login {name}" in result.output
        with psycopg.connect(crm_database) as conn:
            assert conn.execute(
                "select pg_has_role(%s, 'powerbi_reader', 'member')", (name,)
            ).fetchone() == (True,)
    finally:
        with psycopg.connect(crm_database, autocommit=True) as conn:
            conn.execute(f'drop role if exists "{name}"')


def test_create_reader_at_end_of_input_says_nothing_changed(
    crm_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from consulting_crm.cli import main

    monkeypatch.setenv("DATABASE_URL", crm_database)
    monkeypatch.delenv("CRM_READER_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": (_ for _ in ()).throw(EOFError()))
    name = f"crm_test_reader_{uuid.uuid4().hex[:8]}"
    assert main(["db", "create-reader", name]) == 3
    assert capsys.readouterr().err.endswith(
        f"no password was given for {name}, so nothing was changed. Type it at the prompt "
        "(twice), or set CRM_READER_PASSWORD.\n"
    )
    with psycopg.connect(crm_database) as conn:
        assert conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone() is None


def test_create_reader_refuses_a_bad_name_before_asking_for_a_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from consulting_crm.cli import main

    monkeypatch.delenv("CRM_READER_PASSWORD", raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("asked for a password"))
    assert main(["db", "create-reader", "Power BI"]) == 3
    assert "'Power BI' is not a usable role name" in capsys.readouterr().err
