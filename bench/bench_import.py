"""Benchmark of `crm import` on a 1M-row leads file against plain COPY and pandas `to_sql`.

Prints figures; it is not a test. Run it against the server the project is configured for (the
embedded one by default, or DATABASE_URL); it works in a database of its own, dropped at the end:

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--to-sql-rows 100000]

Measured, each on an empty `leads` table where it matters:
- `crm import` (a subprocess, so its peak memory is its own) and the re-import of the same file;
- COPY of the same CSV straight into an unlogged table with text columns and no constraints;
- COPY of the same CSV straight into the constrained `leads` table;
- pandas `read_csv` + `to_sql` into `leads` (needs SQLAlchemy, which the project does not depend
  on: `pip install --target /tmp/bench-deps sqlalchemy` and run with PYTHONPATH=/tmp/bench-deps).
  It is run on the first `--to-sql-rows` rows and reported as a rate, because it is slow.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import conninfo as pg_conninfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consulting_crm import database as db  # noqa: E402

COLUMNS = [
    "first_name",
    "last_name",
    "company",
    "title",
    "email",
    "phone",
    "city",
    "country",
    "lead_source",
    "status",
    "estimated_amount",
    "description",
    "created_at",
]
FIRST = [
    "Ada",
    "Zoë",
    "José",
    "Łukasz",
    "Søren",
    "Amélie",
    "Chloé",
    "Jürgen",
    "Ngozi",
    "Ravi",
    "Mei",
    "Omar",
    "Inês",
    "François",
    "Priya",
    "Björn",
    "Aiko",
    "Mateo",
    "Elif",
    "Noah",
]
LAST = [
    "Lovelace",
    "Müller",
    "García",
    "Wiśniewski",
    "Ødegård",
    "O'Brien",
    "Nguyễn",
    "Dubois",
    "Okafor",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Smith",
    "Pereira",
    "Öztürk",
    "NA",
]
COMPANY = [
    "Acme, Inc.",
    'The "Best" Bakery',
    "Kessler Bau GmbH",
    "Northwind Traders",
    "Brightwater Analytics",
    "Café Lumière SARL",
    "Sakura Foods",
    "Müller & Söhne",
]
TITLE = ["CEO", "CFO", "Head of Data", "Owner", "Procurement Lead", "Gérante", ""]
CITY = ["Hamburg", "Lisboa", "Kraków", "Tromsø", "São Paulo", "Zürich", "Osaka", "Leeds"]
COUNTRY = ["Germany", "Portugal", "Poland", "Norway", "Brazil", "Switzerland", "Japan", "NA"]
SOURCE = ["Web", "Referral", "Event", "LinkedIn", "Partner"]
STATUS = ["new", "contacted", "qualified", "unqualified"]
NOTES = [
    "",
    "",
    "Met at the fair, wants a call back.",
    'Said "not before Q3", budget unclear.',
    "First line\nsecond line, with a comma",
    "Prefers e-mail; timezone CET.",
]


def generate(path: Path, rows: int, seed: int = 42) -> None:
    """A seeded, realistic leads file: quotes, commas, line breaks in notes, accents."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            amount = rng.random() < 0.6
            writer.writerow(
                [
                    first,
                    last,
                    rng.choice(COMPANY),
                    rng.choice(TITLE),
                    f"{first.lower()}.{i}@example{i % 97}.com",
                    f"+49 {rng.randint(100, 999)} {rng.randint(100000, 9999999)}",
                    rng.choice(CITY),
                    rng.choice(COUNTRY),
                    rng.choice(SOURCE),
                    rng.choice(STATUS),
                    f"{rng.randint(0, 200000)}.{rng.randint(0, 99):02d}" if amount else "",
                    rng.choice(NOTES),
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                ]
            )


def copy_file(conn: psycopg.Connection, path: Path, table: str) -> float:
    started = time.perf_counter()
    with (
        conn.transaction(),
        conn.cursor().copy(
            f"copy {table} ({', '.join(COLUMNS)}) from stdin (format csv, header true)"
        ) as copy,
        path.open("rb") as handle,
    ):
        for block in iter(lambda: handle.read(1 << 20), b""):
            copy.write(block)
    return time.perf_counter() - started


def run_cli(path: Path, url: str, *extra: str) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of a `crm import` subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["DATABASE_URL"] = url
    script = (
        "import resource, sys, time\n"
        "from consulting_crm.cli import main\n"
        "started = time.perf_counter()\n"
        "code = main(sys.argv[1:])\n"
        "seconds = time.perf_counter() - started\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(f'BENCH {seconds:.3f} {peak:.1f} {code}', file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "import", str(path), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next(line for line in done.stderr.splitlines() if line.startswith("BENCH"))
    _, seconds, peak, code = line.split()
    return float(seconds), float(peak), f"exit {code}"


def to_sql_rate(conn_url: str, path: Path, rows: int) -> tuple[float, float] | None:
    try:
        import sqlalchemy
    except ImportError:
        return None
    import pandas as pd

    engine = sqlalchemy.create_engine(conn_url.replace("postgresql://", "postgresql+psycopg://"))
    frame = pd.read_csv(path, nrows=rows, dtype=str, keep_default_na=False)
    frame = frame.replace("", None)
    # What a pandas user writes: numbers and dates typed, the enum named so it is cast.
    frame["estimated_amount"] = pd.to_numeric(frame["estimated_amount"])
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    from sqlalchemy.dialects.postgresql import ENUM

    status = ENUM(name="lead_status", create_type=False)
    started = time.perf_counter()
    frame.to_sql(
        "leads",
        engine,
        if_exists="append",
        index=False,
        chunksize=10_000,
        dtype={"status": status},  # type: ignore[dict-item]
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, rows / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--to-sql-rows", type=int, default=100_000)
    args = parser.parse_args()

    target = db.resolve_target()
    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    with db.connect(target, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    url = pg_conninfo.make_conninfo(target.conninfo, dbname=name)
    if "://" not in url:
        url = "postgresql://?" + "&".join(
            f"{key}={value}" for key, value in pg_conninfo.conninfo_to_dict(url).items()
        )
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            db.apply_schema(conn)
            server = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "leads.csv"
            started = time.perf_counter()
            generate(path, args.rows)
            size = path.stat().st_size / 1e6
            print(f"server: PostgreSQL {server} ({target.where}); {os.cpu_count()} CPUs")
            print(
                f"file: {args.rows:,} rows, {size:.0f} MB (generated in "
                f"{time.perf_counter() - started:.1f} s)"
            )
            print()
            results: dict[str, float] = {}
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "create unlogged table bench_plain ("
                    + ", ".join(f"{column} text" for column in COLUMNS)
                    + ")"
                )
                seconds = copy_file(conn, path, "bench_plain")
                results["copy_plain"] = args.rows / seconds
                print(
                    f"COPY into unlogged text table    {seconds:7.2f} s  "
                    f"{results['copy_plain']:>10,.0f} rows/s"
                )
                seconds = copy_file(conn, path, "public.leads")
                results["copy_leads"] = args.rows / seconds
                print(
                    f"COPY into public.leads           {seconds:7.2f} s  "
                    f"{results['copy_leads']:>10,.0f} rows/s"
                )
                conn.execute("truncate public.leads cascade")
                conn.execute("vacuum analyze public.leads")
            seconds, peak, code = run_cli(path, url, "--report-dir", folder)
            results["crm"] = args.rows / seconds
            print(
                f"crm import                       {seconds:7.2f} s  "
                f"{results['crm']:>10,.0f} rows/s  peak {peak:,.0f} MB  ({code})"
            )
            again, peak_again, code = run_cli(path, url, "--report-dir", folder)
            print(
                f"crm import, same file again      {again:7.2f} s  (skipped by SHA-256; "
                f"peak {peak_again:,.0f} MB, {code})"
            )
            forced, peak_forced, code = run_cli(path, url, "--force", "--report-dir", folder)
            print(
                f"crm import --force (all unchanged) {forced:5.2f} s  "
                f"{args.rows / forced:>10,.0f} rows/s  peak {peak_forced:,.0f} MB  ({code})"
            )
            with psycopg.connect(url, autocommit=True) as conn:
                loaded = conn.execute("select count(*) from leads").fetchone()[0]  # type: ignore[index]
                conn.execute("truncate public.leads cascade")
            print(f"  (leads after import: {loaded:,})")
            sql_rate = to_sql_rate(url, path, args.to_sql_rows)
            if sql_rate is None:
                print("pandas to_sql                    skipped: SQLAlchemy is not installed")
            else:
                results["to_sql"] = sql_rate[1]
                print(
                    f"pandas to_sql ({args.to_sql_rows:,} rows)      {sql_rate[0]:7.2f} s  "
                    f"{sql_rate[1]:>10,.0f} rows/s"
                )
            print()
            print(
                f"crm import / COPY into leads      {results['crm'] / results['copy_leads']:.2f}x"
                "   (target >= 0.6x)"
            )
            if "to_sql" in results:
                print(
                    f"crm import / pandas to_sql        {results['crm'] / results['to_sql']:.2f}x"
                    "   (target >= 1.5x)"
                )
            print(
                f"COPY plain / COPY into leads      "
                f"{results['copy_plain'] / results['copy_leads']:.2f}x   (the cost of the "
                "table's own design: key type, indexes, constraints, triggers)"
            )
            print(
                f"bench process peak RSS            "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
            )
    finally:
        with db.connect(target, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    main()
