"""crm's TLS front (consulting_crm/tls_front.py): TLS for an embedded PostgreSQL built without
OpenSSL. Real processes, real sockets, a real server, real TLS; the certificate is the one
`crm db serve` creates."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from consulting_crm import database as db
from consulting_crm.access import create_reader
from consulting_crm.cli import main
from consulting_crm.tls_front import GSSENC_REQUEST, SSL_REQUEST

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        db.tls_supported(), reason="this PostgreSQL has TLS of its own: no front is started"
    ),
]

PASSWORD = "correct horse battery staple"
READER = "crm_test_front_reader"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int]]:
    """`crm db serve` on a free port of a CRM_HOME of its own, with a reader; stopped after."""
    home = tmp_path / "crm-home"
    monkeypatch.setenv("CRM_HOME", str(home))
    monkeypatch.delenv("CRM_CONFIG", raising=False)
    for name in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    port = _free_port()
    try:
        assert main(["db", "serve", "--port", str(port)]) == 0
        with psycopg.connect(db.start_embedded_server(home), autocommit=True) as conn:
            db.apply_schema(conn)
            create_reader(conn, READER, PASSWORD)
        yield home, port
    finally:
        db.stop_embedded_server(home)


def _connect(port: int, **options: object) -> psycopg.Connection:
    params: dict[str, object] = {
        "host": "127.0.0.1", "port": port, "dbname": "crm", "user": READER,
        "password": PASSWORD, "connect_timeout": 10, "gssencmode": "disable",
    }  # fmt: skip
    params.update(options)
    return psycopg.connect(**params)  # type: ignore[arg-type]


def test_tls_through_the_front_with_the_certificate_crm_made(served: tuple[Path, int]) -> None:
    home, port = served
    certificate = home / "pgdata" / db.CERTIFICATE_FILE
    san = subprocess.run(
        ["openssl", "x509", "-in", str(certificate), "-noout", "-ext", "subjectAltName"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "IP Address:127.0.0.1" in san
    for sslmode in ("require", "verify-ca", "verify-full"):
        with _connect(port, sslmode=sslmode, sslrootcert=str(certificate)) as conn:
            assert conn.pgconn.ssl_in_use, sslmode
            assert conn.execute("select current_user").fetchone() == (READER,)
            # A result far larger than one read: the front copies it in bounded chunks.
            row = conn.execute("select length(string_agg(md5(i::text), '')) "
                               "from generate_series(1, 100000) i").fetchone()  # fmt: skip
            assert row == (3_200_000,)
            rows = conn.execute("select repeat('x', 1000) from generate_series(1, 5000)")
            assert sum(len(r[0]) for r in rows) == 5_000_000
            # The server sees the front's local connection: it has no TLS of its own.
            assert conn.execute("show ssl").fetchone() == ("off",)
    # A certificate other than crm's is refused by verify-ca.
    other = home / "other.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(home / "other.key"), "-out", str(other), "-subj", "/CN=other"],
        check=True, capture_output=True,
    )  # fmt: skip
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        _connect(port, sslmode="verify-ca", sslrootcert=str(other))


def test_plain_connections_need_a_password(served: tuple[Path, int]) -> None:
    _, port = served
    with _connect(port, sslmode="disable") as conn:
        assert not conn.pgconn.ssl_in_use
        assert conn.execute("select current_user").fetchone() == (READER,)
    for sslmode in ("disable", "require"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            _connect(port, sslmode=sslmode, password="")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _connect(port, sslmode=sslmode, password="not the password")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _connect(port, sslmode=sslmode, user="postgres", password="x")


def test_concurrent_sessions_and_cancel(served: tuple[Path, int]) -> None:
    _, port = served

    def session(i: int) -> int:
        with _connect(port, sslmode="require" if i % 2 else "disable") as conn:
            row = conn.execute("select sum(g) from generate_series(1, %s) g", (i * 1000,))
            return int(row.fetchone()[0])  # type: ignore[index]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(session, range(1, 9))) == [
            n * 1000 * (n * 1000 + 1) // 2 for n in range(1, 9)
        ]
    # A cancel request is a first message of its own (16 bytes): it passes through the front.
    with _connect(port, sslmode="require") as conn:
        started = time.monotonic()
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(conn.execute, "select pg_sleep(30)")
            time.sleep(1)
            conn.cancel()
            with pytest.raises(psycopg.errors.QueryCanceled):
                future.result(timeout=20)
        assert time.monotonic() - started < 15


def _startup_message(user: str) -> bytes:
    body = struct.pack("!i", 196608) + f"user\0{user}\0database\0crm\0\0".encode()
    return struct.pack("!i", len(body) + 4) + body


def test_the_wire_protocol_start(served: tuple[Path, int]) -> None:
    """GSSENCRequest is answered N, then SSLRequest S; clear text sent after an SSLRequest never
    reaches the server; a client that stops half-way is closed."""
    home, port = served
    context = ssl.create_default_context(cafile=str(home / "pgdata" / db.CERTIFICATE_FILE))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, GSSENC_REQUEST))
        assert raw.recv(1) == b"N"
        raw.sendall(struct.pack("!ii", 8, SSL_REQUEST))
        assert raw.recv(1) == b"S"
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(_startup_message(READER))
            reply = tls.recv(1)
            assert reply == b"R"  # the server asks for the password (SASL)

    # Clear text right behind the SSLRequest (a man in the middle's injection) is not a TLS
    # handshake: the connection is closed and nothing reaches the server.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, SSL_REQUEST) + _startup_message(READER))
        assert raw.recv(1) == b"S"
        rest = b""
        while chunk := raw.recv(4096):
            rest += chunk
        assert rest == b"" or rest[0] == 0x15  # at most a TLS alert, never the server's reply

    # Half a first message, then the client goes: the front closes its side too.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"\0\0\0")
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(1) == b""
    with _connect(port, sslmode="require") as conn:  # and it still serves everybody else
        assert conn.execute("select 1").fetchone() == (1,)


def test_stop_and_persist_and_a_stale_pid_file(
    served: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    home, port = served
    pid_file = home / db.FRONT_PID_FILE
    pid = int(pid_file.read_text().split()[0])
    assert db.tls_front_pid(home) == pid
    if os.geteuid() == 0:  # nothing facing the network runs as root: it is the server's user
        assert Path(f"/proc/{pid}").stat().st_uid == pwd.getpwnam(db.SERVER_SYSTEM_USER).pw_uid
    assert main(["db", "status"]) == 0
    status = " ".join(capsys.readouterr().out.split())
    assert f"Serving BI tools 127.0.0.1:{port} with TLS (crm's TLS front" in status

    # A front that dies is started again by the next command that starts the server.
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _listening(port)
    db.start_embedded_server(home)
    assert _listening(port)
    assert db.tls_front_pid(home) not in (None, pid)

    # crm db stop stops the front: the port is closed, the pid file gone.
    assert main(["db", "stop"]) == 0
    assert not _listening(port)
    assert not pid_file.exists()
    db.start_embedded_server(home)
    assert not _listening(port)  # without serve.persist a start is socket-only

    # A stale pid file (a live process that is not a front: this one) is ignored and replaced.
    assert main(["db", "stop"]) == 0
    pid_file.write_text(f"{os.getpid()}\n")
    assert main(["config", "set", "serve.persist", "true"]) == 0
    assert main(["config", "set", "serve.port", str(port)]) == 0
    db.start_embedded_server(home)  # serve.persist: the front comes back with the server
    assert _listening(port)
    new_pid = db.tls_front_pid(home)
    assert new_pid is not None and new_pid != os.getpid()
    with _connect(port, sslmode="require") as conn:
        assert conn.pgconn.ssl_in_use
    assert main(["db", "stop"]) == 0
    assert not _listening(port)
    os.kill(os.getpid(), 0)  # the stale pid's owner was left alone


def test_a_taken_port_is_reported_and_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "crm-home"
    monkeypatch.setenv("CRM_HOME", str(home))
    for name in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = int(taken.getsockname()[1])
        try:
            from ingest.errors import CrmError

            with pytest.raises(CrmError, match=r"TLS front did not start.*port taken"):
                db.start_embedded_server(home, tcp=("127.0.0.1", port))
            assert db.tls_front_pid(home) is None
            assert not db.stop_embedded_server(home)  # the server was stopped again
        finally:
            db.stop_embedded_server(home)
