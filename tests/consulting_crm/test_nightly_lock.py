"""The nightly lock: a lease row in ingest.run_locks, taken with one UPDATE, renewed, released.

Two real `crm nightly` processes overlap (the second exits 7 naming the first), a run killed with
kill -9 blocks the next one only until its lease runs out, and a lease nobody renews expires on
its own. Through a transaction-mode pooler (`bash .ci/run pooler`) the same tests prove that the
lock holds there too.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm import database as db
from consulting_crm.nightly import (
    HEARTBEAT,
    LEASE,
    NIGHTLY_LOCK,
    acquire_nightly_lock,
)
from ingest.errors import CrmError, ExitCode
from tests.factories.builds import AS_OF_DATE, database_environment

ROOT = Path(__file__).resolve().parents[2]
GOOD = "external_id,name,domain\nACC-1,Alder Foods,alder.example\n"


@pytest.fixture
def database(make_database: Callable[..., str]) -> str:
    return make_database()


def _target(conninfo: str) -> db.Target:
    return db.Target(conninfo=conninfo, kind="url", where="the test database")


def _row(conninfo: str) -> tuple[str | None, str | None, int | None, dt.datetime | None]:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "select holder, host, pid, expires_at from ingest.run_locks where name = %s",
            (NIGHTLY_LOCK,),
        ).fetchone()
    assert row is not None
    return row


def _db_now(conninfo: str) -> dt.datetime:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("select now()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def _wait_for_holder(conninfo: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _row(conninfo)[2] == process.pid:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the first run never took the lock")


def test_the_lease_numbers_hold_together() -> None:
    # Nine missed heartbeats in a row before a live run's lease could run out.
    assert LEASE.total_seconds() == 600 and HEARTBEAT.total_seconds() == 60
    assert LEASE // HEARTBEAT - 1 == 9


def test_take_refuse_and_release(database: str) -> None:
    target = _target(database)
    with psycopg.connect(database, autocommit=True) as conn:
        lease = acquire_nightly_lock(conn, target, holder="20261126T020000Z")
        try:
            holder, host, pid, expires_at = _row(database)
            assert holder == lease.holder and holder.startswith("20261126T020000Z-")
            assert (host, pid) == (os.uname().nodename, os.getpid())
            assert expires_at is not None
            remaining = expires_at - _db_now(database)
            assert dt.timedelta(minutes=9) < remaining <= LEASE
            with pytest.raises(CrmError) as refused:
                acquire_nightly_lock(conn, target, holder="second")
            assert refused.value.exit_code == ExitCode.LOCKED
            message = str(refused.value)
            assert f"host {host}, pid {pid}, since " in message
            assert "lease until " in message and "frees itself at" in message
            assert "\n" not in message
        finally:
            lease.release()
        assert _row(database) == (None, None, None, None)
        acquire_nightly_lock(conn, target, holder="third").release()  # free again


def test_an_expired_lease_is_taken_over(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "update ingest.run_locks set holder = 'crashed', host = 'old-box', pid = 99, "
            "acquired_at = now() - interval '1 hour', renewed_at = now() - interval '20 minutes',"
            " expires_at = now() - interval '10 minutes' where name = %s",
            (NIGHTLY_LOCK,),
        )
        with acquire_nightly_lock(conn, _target(database), holder="next") as lease:
            assert lease.took_over is not None
            assert "run crashed on host old-box, pid 99" in lease.took_over
            assert _row(database)[0] == lease.holder


def test_the_heartbeat_keeps_a_lease_alive_and_losing_it_stops_the_run(database: str) -> None:
    short = dt.timedelta(seconds=2)
    with psycopg.connect(database, autocommit=True) as conn:
        lease = acquire_nightly_lock(
            conn, _target(database), holder="busy", lease=short, heartbeat=dt.timedelta(seconds=0.3)
        )
        try:
            time.sleep(3)  # longer than the lease: only the heartbeat keeps it
            with pytest.raises(CrmError):
                acquire_nightly_lock(conn, _target(database), holder="other", lease=short)
            lease.check()
            assert lease.last_error is None
            # Someone takes the row away (as a run would after the lease ran out unrenewed).
            conn.execute(
                "update ingest.run_locks set holder = 'usurper' where name = %s", (NIGHTLY_LOCK,)
            )
            time.sleep(1)
            assert lease.lost is not None
            with pytest.raises(CrmError, match="lost the nightly lock") as stopped:
                lease.check()
            assert stopped.value.exit_code == ExitCode.LOCKED
        finally:
            lease.release()
        assert _row(database)[0] == "usurper"  # not ours: release leaves it alone


def test_a_lease_left_behind_by_kill_9_expires_on_its_own(database: str) -> None:
    # A process takes a 3-second lease renewed every second, then is killed with SIGKILL: nothing
    # releases the row, nothing renews it, and it runs out 3 s after the last renewal.
    script = textwrap.dedent(
        """
        import datetime as dt, sys, time
        from consulting_crm import database as db
        from consulting_crm.nightly import acquire_nightly_lock
        target = db.resolve_target()
        conn = db.connect(target, autocommit=True)
        acquire_nightly_lock(conn, target, holder="doomed", lease=dt.timedelta(seconds=3),
                             heartbeat=dt.timedelta(seconds=1))
        print("held", flush=True)
        time.sleep(120)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=database_environment(database),
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == b"held\n"
        time.sleep(1.5)  # at least one renewal happened
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        process.kill()
    holder, _, pid, expires_at = _row(database)
    assert holder is not None and holder.startswith("doomed-") and pid == process.pid
    assert expires_at is not None
    with psycopg.connect(database, autocommit=True) as conn:
        with pytest.raises(CrmError, match=f"pid {process.pid}"):
            acquire_nightly_lock(conn, _target(database), holder="too-early")
        wait = (expires_at - _db_now(database)).total_seconds()
        assert 0 < wait <= 3
        time.sleep(wait + 0.2)
        with acquire_nightly_lock(conn, _target(database), holder="after") as lease:
            assert lease.took_over is not None and f"pid {process.pid}" in lease.took_over


# Real crm nightly processes -----------------------------------------------------------------


def _inbox(tmp_path: Path, name: str) -> Path:
    inbox = tmp_path / name
    inbox.mkdir()
    export = inbox / "accounts.csv"
    export.write_text(GOOD)
    past = time.time() - 3600
    os.utime(export, (past, past))
    return inbox


def _start_nightly(database: str, inbox: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = database_environment(database)
    env["CRM_CONFIG"] = str(tmp_path / "config.toml")
    env["CRM_HOME"] = str(tmp_path / "home")  # the runs folder, not the user's own
    env["COLUMNS"] = "200"
    command = ["nightly", "--inbox", str(inbox), "--as-of", AS_OF_DATE]
    return subprocess.Popen(
        [sys.executable, "-m", "consulting_crm.cli", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: dbt goes with it on kill -9
    )


@pytest.mark.slow
def test_two_overlapping_nightly_processes_the_second_exits_7(
    database: str, tmp_path: Path
) -> None:
    first = _start_nightly(database, _inbox(tmp_path, "first"), tmp_path)
    try:
        _wait_for_holder(database, first)
        second_inbox = _inbox(tmp_path, "second")
        second = _start_nightly(database, second_inbox, tmp_path)
        out, err = second.communicate(timeout=120)
        assert first.poll() is None, "the first run ended before the second started"
        assert second.returncode == ExitCode.LOCKED, (out, err)
        error = " ".join(err.decode().split())
        assert "another crm nightly holds the nightly lock" in error
        assert f"host {os.uname().nodename}, pid {first.pid}" in error
        assert sorted(path.name for path in second_inbox.iterdir()) == ["accounts.csv"]
        out, err = first.communicate(timeout=600)
        assert first.returncode == ExitCode.OK, (out.decode()[-2000:], err.decode()[-2000:])
    finally:
        first.kill()
    assert _row(database) == (None, None, None, None)  # released at the end


@pytest.mark.slow
def test_a_nightly_killed_with_kill_9_blocks_the_next_only_until_its_lease_ends(
    database: str, tmp_path: Path
) -> None:
    first = _start_nightly(database, _inbox(tmp_path, "first"), tmp_path)
    try:
        _wait_for_holder(database, first)
        os.killpg(first.pid, signal.SIGKILL)  # the run and its dbt, as a power cut would
        first.wait()
    finally:
        first.kill()
    _, _, pid, expires_at = _row(database)
    assert pid == first.pid and expires_at is not None
    # Within a lease of the kill the lock frees itself (here: at most 10 minutes after it).
    assert dt.timedelta(0) < expires_at - _db_now(database) <= LEASE
    second = _start_nightly(database, _inbox(tmp_path, "second"), tmp_path)
    _, err = second.communicate(timeout=120)
    assert second.returncode == ExitCode.LOCKED
    assert "If that run was killed, the lock frees itself at" in " ".join(err.decode().split())
    # Ten minutes later (moved forward here), the next run takes the lock over.
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "update ingest.run_locks set acquired_at = now() - interval '11 minutes', "
            "renewed_at = now() - interval '11 minutes', expires_at = now() - interval '1 second' "
            "where name = %s",
            (NIGHTLY_LOCK,),
        )
        with acquire_nightly_lock(conn, _target(database), holder="morning") as lease:
            assert lease.took_over is not None and f"pid {first.pid}" in lease.took_over
