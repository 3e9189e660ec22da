"""Memory stays flat as the mailbox grows: ten times the messages, about the same peak."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import psycopg
import pytest

from ingest.mail import import_mail_file, load
from tests.factories.mail_files import OWNERS
from tests.factories.mailbox import write_mailbox


def _peak_bytes(conn: psycopg.Connection, path: Path) -> int:
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    result = import_mail_file(conn, path, owner_emails=OWNERS)
    _, peak = tracemalloc.get_traced_memory()
    assert result.status == "loaded", result.message
    return peak - before


def test_peak_memory_is_flat_as_the_mailbox_grows_tenfold(
    conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages are staged in chunks; smaller chunks let a small mailbox hold many of them, so
    # the test runs quickly under tracemalloc (bench/bench_mail.py measures 10k vs 100k).
    monkeypatch.setattr(load, "CHUNK_MESSAGES", 200)
    small, large = tmp_path / "small.mbox", tmp_path / "large.mbox"
    write_mailbox(small, 600, seed=1)
    write_mailbox(large, 6_000, seed=2)
    tracemalloc.start()
    try:
        small_peak = _peak_bytes(conn, small)
        large_peak = _peak_bytes(conn, large)
    finally:
        tracemalloc.stop()
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)
