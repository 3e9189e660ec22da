"""Through a transaction-mode pooler: what `crm db status` says, and no server-side prepares.

The tests marked ``pooled`` need DATABASE_URL to point at a transaction-mode pooler (``bash .ci/run
pooler`` runs PgBouncer for them); on a server they are skipped. The others run everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm import database as db
from consulting_crm.cli import main
from ingest.dispatch import import_file
from ingest.load import staging
from ingest.options import ImportOptions, MailOptions


def _target(conninfo: str) -> db.Target:
    return db.Target(conninfo=conninfo, kind="url", where="the test database")


@pytest.fixture(scope="session")
def route(crm_database: str) -> db.Route:
    return db.connection_route(_target(crm_database))


@pytest.fixture
def pooled(crm_database: str, route: db.Route) -> str:
    if route.mode != "transaction":
        pytest.skip("needs DATABASE_URL at a transaction-mode pooler (bash .ci/run pooler)")
    return crm_database


def test_status_says_how_it_reaches_the_server(
    crm_database: str,
    route: db.Route,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", crm_database)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["db", "status"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    if route.pooler:
        assert "Connection through a transaction-mode pooler" in out
        assert "two connections to port" in out and "were served by one server session" in out
        assert "every crm command works through it" in out
        assert "the server's own port 5432" in out
    else:
        assert "Connection direct to PostgreSQL" in out
        assert "Sessions" not in out


def test_a_pooler_is_recognised_by_its_address() -> None:
    transaction = db.Route(True, "transaction", "port 6543", "db.abc.supabase.co:5432")
    assert transaction.describe() == "through a transaction-mode pooler: port 6543"
    note = transaction.session_note()
    assert note is not None and "db.abc.supabase.co:5432" in note
    assert db.Route(True, "session", "x").session_note() is None
    assert db.Route(False).describe() == "direct to PostgreSQL"
    supabase = db._direct_address("aws-0-eu-central-1.pooler.supabase.com", "postgres.abcd", 5432)
    assert supabase.startswith("db.abcd.supabase.co:5432 (direct)")


def test_crm_connections_never_prepare_on_the_server(crm_database: str) -> None:
    with db.connect(_target(crm_database), autocommit=True) as conn:
        assert conn.prepare_threshold is None
        for number in range(10):
            conn.execute("select %s::int", (number,))
        row = conn.execute("select count(*) from pg_prepared_statements").fetchone()
        assert row == (0,)


def test_the_importers_lookup_connection_copies_the_setting(
    make_database: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The leads importer opens a second connection from conn.info.dsn; it must not prepare
    # either. Watch it as it closes (the import itself runs for real).
    seen: list[int | None] = []
    close = staging.Stager.close

    def watching_close(self: staging.Stager) -> None:
        if self.lookup is not None:
            seen.append(self.lookup.prepare_threshold)
        close(self)

    monkeypatch.setattr(staging.Stager, "close", watching_close)
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "first_name,last_name,email\n"
        + "".join(f"Ada{n},Lovelace,ada{n}@example.com\n" for n in range(50))
    )
    database = make_database()
    with db.connect(_target(database)) as conn:
        result = import_file(conn, leads, ImportOptions(), MailOptions())
        inserted = conn.execute("select count(*) from leads").fetchone()
    assert result.status == "loaded", result.message
    assert inserted == (50,)
    assert seen == [None]


def test_psycopgs_own_prepares_break_through_the_pooler_and_crms_do_not(pooled: str) -> None:
    # What PgBouncer (before 1.21) and Supabase's transaction pooler do to psycopg's default: the
    # sixth execution runs a statement prepared on a server connection another client now has.
    def sixth_execution(conn: psycopg.Connection) -> None:
        with psycopg.connect(pooled) as blocker:
            for number in range(6):
                conn.execute("select %s::int", (number,))
            blocker.execute("select 1")  # takes the idle server connection, in a transaction
            conn.execute("select %s::int", (6,))  # another server connection
            conn.execute("select %s::int", (7,))

    with (
        psycopg.connect(pooled, autocommit=True) as default,
        pytest.raises(psycopg.errors.InvalidSqlStatementName),
    ):
        sixth_execution(default)
    with db.connect(_target(pooled), autocommit=True) as crm:
        sixth_execution(crm)
