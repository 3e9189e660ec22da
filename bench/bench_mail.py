"""Benchmark the mail importer: messages/s and peak memory, against two bare parsing baselines.

    .venv/bin/python bench/bench_mail.py                  # 10k and 100k messages
    .venv/bin/python bench/bench_mail.py --sizes 2000     # a quick run

For each size it writes a seeded synthetic Gmail Takeout mbox (mixed plain/HTML, some
attachments, encoded headers), then measures, each in a fresh child process (so peak memory is
that phase's own):

- split only: ``mailbox.mbox`` handing out each message's bytes (no parsing);
- compat32: ``mailbox`` + ``email`` parsing every message under ``policy.compat32``;
- default: the same under ``policy.default``;
- crm import: :func:`ingest.mail.import_mail_file` end to end (parse, link, load) into a scratch
  database on the configured server (DATABASE_URL, or the embedded one), dropped afterwards.

It prints figures; it asserts nothing (the targets are in issue 4 and docs/importing.md).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OWNER = "maria@kessler-consulting.de"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _split_only(path: str) -> tuple[int, float, float]:
    import mailbox

    started = time.perf_counter()
    box = mailbox.mbox(path, create=False)
    count = sum(1 for key in box.iterkeys() if box.get_bytes(key))
    return count, time.perf_counter() - started, _peak_mb()


def _parse(path: str, policy_name: str) -> tuple[int, float, float]:
    import email
    import mailbox
    from email import policy

    chosen = policy.compat32 if policy_name == "compat32" else policy.default
    started = time.perf_counter()
    count = 0

    def read(handle: BinaryIO) -> email.message.Message:
        return email.message_from_binary_file(handle, policy=chosen)

    box = mailbox.mbox(path, factory=read)  # type: ignore[arg-type]  # any Message will do here
    for message in box:
        count += 1
        message.get("subject")
    return count, time.perf_counter() - started, _peak_mb()


def _crm_import(path: str, conninfo: str) -> tuple[int, float, float]:
    import psycopg

    from ingest.mail import import_mail_file

    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        result = import_mail_file(conn, Path(path), owner_emails=[OWNER])
        seconds = time.perf_counter() - started
    if result.status != "loaded":
        raise SystemExit(f"import failed: {result.message}")
    print(f"    {result.message}", flush=True)
    return result.counts.read, seconds, _peak_mb()


def _in_child(function, *args):  # type: ignore[no-untyped-def]
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def _scratch_database() -> tuple[str, str, str]:
    import psycopg
    from psycopg import conninfo as pg_conninfo

    from consulting_crm import database as db

    target = db.resolve_target()
    name = f"crm_bench_{uuid.uuid4().hex[:10]}"
    with db.connect(target, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    conninfo = pg_conninfo.make_conninfo(target.conninfo, dbname=name)
    with psycopg.connect(conninfo) as conn:
        db.apply_schema(conn)
        # A client base the mailbox partly matches: 100 accounts by domain, 2,000 contacts.
        conn.execute(
            "insert into accounts (name, domain) select 'Client ' || n, "
            "format('client%s.example', lpad(n::text, 3, '0')) from generate_series(0, 99) n"
        )
        conn.execute(
            "insert into contacts (account_id, last_name, email) "
            "select a.account_id, 'P' || n, format('p%s@%s', n, a.domain) "
            "from generate_series(0, 1999) n "
            "join accounts a "
            "on a.domain = format('client%s.example', lpad((n % 100)::text, 3, '0'))"
        )
    return target.conninfo, name, conninfo


def _drop(admin_conninfo: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--skip-default", action="store_true", help="skip policy.default")
    args = parser.parse_args()

    from tests.factories.mailbox import write_mailbox

    print(f"{'phase':<28}{'messages':>10}{'seconds':>10}{'msg/s':>10}{'peak MB':>10}")
    with tempfile.TemporaryDirectory(prefix="crm-bench-mail-") as folder:
        for size in args.sizes:
            path = Path(folder) / f"synthetic-{size}.mbox"
            file_bytes = write_mailbox(path, size, seed=args.seed)
            print(f"-- {size:,} messages, {file_bytes / 1e6:,.0f} MB", flush=True)
            phases: list[tuple[str, Callable[..., tuple[int, float, float]], tuple[str, ...]]]
            phases = [("split only (mailbox)", _split_only, (str(path),))]
            phases.append(("full parse, compat32", _parse, (str(path), "compat32")))
            if not args.skip_default:
                phases.append(("full parse, policy.default", _parse, (str(path), "default")))
            rates: dict[str, float] = {}
            for label, function, call_args in phases:
                count, seconds, peak = _in_child(function, *call_args)
                rates[label] = count / seconds
                print(
                    f"{label:<28}{count:>10,}{seconds:>10.1f}{count / seconds:>10,.0f}"
                    f"{peak:>10,.0f}",
                    flush=True,
                )
            admin, name, conninfo = _scratch_database()
            try:
                count, seconds, peak = _in_child(_crm_import, str(path), conninfo)
            finally:
                _drop(admin, name)
            rate = count / seconds
            label = "crm import (end to end)"
            print(f"{label:<28}{count:>10,}{seconds:>10.1f}{rate:>10,.0f}{peak:>10,.0f}")
            ratio = rate / rates["full parse, compat32"]
            print(f"    ratio to the compat32 full parse: {ratio:.2f}x", flush=True)


if __name__ == "__main__":
    main()
