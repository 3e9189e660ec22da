"""Benchmark `crm build` and Power BI reads on a decade of CRM data (prints figures; not a test).

    .venv/bin/python bench/bench_dbt.py            # embedded PostgreSQL (or DATABASE_URL's server)
    .venv/bin/python bench/bench_dbt.py --keep     # keep the benchmark database afterwards
    .venv/bin/python bench/bench_dbt.py --dataset demo   # the demo's data instead (see below)

In one run, in a fresh database of its own on the configured server:
1. `crm build` on the empty database (dbt's fixed cost),
2. a decade of data generated in SQL (10k accounts, 20k contacts, 50k projects, 100k leads,
   1M activities, a further participant on every tenth email with a contact), then the full
   build,
3. one more day of data (and a few stage changes), then the next build,
(after the decade is written and after the full build, the database is vacuumed and autovacuum
left to finish, as it would be during the day before the night's changes arrive; that time is
printed apart and is no build's),
4. for every Power BI model, the median time of `select *` (all rows fetched) next to the same for
   a plain-table copy of its rows.
Targets (ratios within one run): full <= 3x empty; next day <= 0.6x full; each model <= 1.5x its
copy.

With ``--dataset demo``: the demo's export files (`crm demo`'s seed) imported through the importers
into a fresh database, then `crm build` twice with the demo's as_of_date (the first build parses
the project into a new target directory, the second finds nothing changed and reuses that parse,
as a consultant's next `crm build` does), then the SQL the second build ran (target/run) replayed
through one psycopg session in one transaction that is rolled back: what the build would cost
without dbt's start-up, parsing and per-node round trips. Target: `crm build` on the demo data
<= 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import sql
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consulting_crm import database as db
from consulting_crm.dbt_runner import BuildResult, run_build, tally_run_results
from consulting_crm.demo.files import write_demo_files
from consulting_crm.demo.practice import DEMO_AS_OF, OWNER_EMAILS, generate_practice
from consulting_crm.importing import import_with_progress
from ingest.options import ImportOptions, MailOptions

# A decade ending today. Everything is random but seeded, so two runs generate the same data.
# updated_at is when a record last changed in that decade (its creation; a closed deal's close),
# as in a CRM used for years, not the moment this script ran.
DECADE = """
select setseed(0.42);

insert into public.accounts (name, domain, industry, country, created_at, updated_at)
select
    'Account ' || s.n,
    'account-' || s.n || '.example',
    (array['Software', 'Retail', 'Health', 'Finance', 'Energy', 'Logistics'])[1 + s.n % 6],
    (array['NL', 'DE', 'GB', 'FR', 'US'])[1 + s.n % 5],
    s.at,
    s.at
from (
    select n, now() - random() * interval '3650 days' as at from generate_series(1, 10000) as n
) as s;

create temporary table numbered_accounts as
select row_number() over (order by account_id) as n, account_id from public.accounts;
create index on numbered_accounts (n);

insert into public.contacts (account_id, first_name, last_name, email, created_at, updated_at)
select
    numbered_accounts.account_id,
    'First' || s.n,
    'Last' || s.n,
    'contact' || s.n || '@example.com',
    s.at,
    s.at
from (
    select n, now() - random() * interval '3650 days' as at from generate_series(1, 20000) as n
) as s
inner join numbered_accounts on numbered_accounts.n = 1 + s.n % 10000;

create temporary table numbered_contacts as
select row_number() over (order by contact_id) as n, contact_id, account_id from public.contacts;
create index on numbered_contacts (n);

insert into public.projects (
    account_id, primary_contact_id, name, stage, amount, close_date, start_date, end_date,
    delivery_status, lead_source, created_at, updated_at
)
select
    numbered_contacts.account_id,
    numbered_contacts.contact_id,
    'Project ' || s.n,
    s.stage::public.project_stage,
    round((1000 + random() * 99000)::numeric, -2),
    case when s.stage in ('won', 'lost') then (s.created + s.cycle)::date
         else (now() + interval '60 days')::date end,
    case when s.stage = 'won' and s.n % 10 < 7
         then (s.created + s.cycle + interval '14 days')::date end,
    case when s.stage = 'won' and s.n % 10 < 7
         then (s.created + s.cycle + interval '14 days' + (1 + s.n % 12) * interval '1 month')::date
    end,
    case when s.stage = 'won' then (array['not_started', 'active', 'completed', 'completed',
         'completed', 'on_hold'])[1 + s.n % 6]::public.delivery_status end,
    (array['Referral', 'LinkedIn', 'Website', 'Event', 'cold email', null])[1 + s.n % 6],
    s.created,
    case when s.stage in ('won', 'lost') then s.created + s.cycle else s.created end
from (
    select
        n,
        now() - interval '100 days' - random() * interval '3550 days' as created,
        (10 + random() * 80) * interval '1 day' as cycle,
        case
            when n % 20 = 0 then 'qualification'
            when n % 20 = 1 then 'proposal'
            when n % 20 = 2 then 'negotiation'
            when n % 20 < 12 then 'won'
            else 'lost'
        end as stage
    from generate_series(1, 50000) as n
) as s
inner join numbered_contacts on numbered_contacts.n = 1 + s.n % 20000;

insert into public.leads (
    first_name, last_name, email, company, lead_source, status, converted_account_id,
    converted_date, created_at, updated_at
)
select
    'Lead',
    'Number ' || s.n,
    'lead' || s.n || '@example.org',
    'Company ' || s.n,
    (array['Referral', 'LinkedIn', 'Website', 'Event', 'cold email', 'Google Ads', null])
        [1 + s.n % 7],
    s.status::public.lead_status,
    case when s.status = 'converted' then numbered_accounts.account_id end,
    case when s.status = 'converted' then (s.created + interval '30 days')::date end,
    s.created,
    case when s.status = 'converted' then s.created + interval '30 days' else s.created end
from (
    select
        n,
        now() - interval '31 days' - random() * interval '3600 days' as created,
        (array['new', 'contacted', 'contacted', 'qualified', 'unqualified', 'unqualified',
               'converted'])[1 + n % 7] as status
    from generate_series(1, 100000) as n
) as s
inner join numbered_accounts on numbered_accounts.n = 1 + s.n % 10000;

create temporary table numbered_projects as
select row_number() over (order by project_id) as n, project_id from public.projects;
create index on numbered_projects (n);
create temporary table numbered_leads as
select row_number() over (order by lead_id) as n, lead_id from public.leads;
create index on numbered_leads (n);

-- A new activity's updated_at is stamped by the database; history keeps its own dates.
alter table public.activities disable trigger activities_stamp_updated_at;
insert into public.activities (
    activity_type, direction, occurred_at, account_id, project_id, lead_id, contact_id, subject,
    created_at, updated_at
)
select
    (array['email', 'email', 'email', 'call', 'meeting', 'note', 'task'])[1 + s.n % 7]
        ::public.activity_type,
    case when s.n % 7 < 4 then (array['inbound', 'outbound'])[1 + s.n % 2] end
        ::public.activity_direction,
    s.at,
    case when s.n % 10 < 5 then numbered_accounts.account_id end,
    case when s.n % 10 between 5 and 7 then numbered_projects.project_id end,
    case when s.n % 10 >= 8 then numbered_leads.lead_id end,
    case when s.n % 3 = 0 then numbered_contacts.contact_id end,
    'Subject of message ' || s.n,
    s.at,
    s.at
from (
    select n, now() - random() * interval '3650 days' as at from generate_series(1, 1000000) as n
) as s
inner join numbered_accounts on numbered_accounts.n = 1 + s.n % 10000
inner join numbered_projects on numbered_projects.n = 1 + s.n % 50000
inner join numbered_leads on numbered_leads.n = 1 + s.n % 100000
inner join numbered_contacts on numbered_contacts.n = 1 + s.n % 20000;
alter table public.activities enable trigger activities_stamp_updated_at;

-- Shared activities: every tenth email with a contact copies in one more contact (about 14,000
-- further participants, as the mail import relates Cc'd people), stamped when the email was.
insert into public.activity_relations (activity_id, contact_id, source, created_at, updated_at)
select activities.activity_id, numbered_contacts.contact_id, 'mail', activities.updated_at,
    activities.updated_at
from (
    select activity_id, updated_at, row_number() over (order by activity_id) as n
    from public.activities
    where activity_type = 'email' and contact_id is not null
) as activities
inner join numbered_contacts on numbered_contacts.n = 1 + (activities.n * 7) % 20000
where activities.n % 10 = 0;

analyze;
"""

# One more day: a tenth of a percent more rows, a few deals moving on.
NEXT_DAY = """
insert into public.leads (first_name, last_name, email, lead_source, created_at)
select 'New', 'Lead ' || n, 'newlead' || n || '@example.org', 'Website', now()
from generate_series(1, 30) as n;

insert into public.activities (activity_type, direction, occurred_at, account_id, subject)
select 'email', 'inbound', now(), account_id, 'Today ' || row_number() over ()
from (select account_id from public.accounts order by account_id limit 280) as accounts;

insert into public.activity_relations (activity_id, contact_id, source)
select activity_id, (select contact_id from public.contacts order by contact_id limit 1), 'mail'
from public.activities where subject like 'Today %' order by activity_id limit 30;

update public.projects set stage = 'proposal'
where project_id in (
    select project_id from public.projects where stage = 'qualification'
    order by project_id limit 10
);
"""


def settle(conninfo: str, limit: float = 300.0) -> float:
    """Vacuum and analyze the benchmark database, then wait until no autovacuum worker is busy in
    it; return the seconds this took (not part of any build's time).

    A million rows just written (the decade, a full build's new tables) wake autovacuum, which then
    competes with the next build for the two cores, or not, depending on when its next round
    starts. A nightly build runs a day after the last one, long after autovacuum has done this, so
    each timed build starts on a database autovacuum has nothing left to do in.
    """
    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("vacuum (analyze)")
        while time.perf_counter() - started < limit:
            busy = conn.execute(
                "select count(*) from pg_stat_activity "
                "where backend_type = 'autovacuum worker' and datname = current_database()"
            ).fetchone()
            if not busy or busy[0] == 0:
                break
            time.sleep(0.5)
    return time.perf_counter() - started


def timed_build(
    conninfo: str,
    work: Path,
    label: str,
    *,
    profile: bool = False,
    dbt_args: Sequence[str] = (),
) -> BuildResult:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    environ["DATABASE_URL"] = conninfo
    # One target directory for every build, as for `crm build` in a checkout: dbt re-parses only
    # what changed (partial parsing), so the later builds pay for parsing once.
    result = run_build(
        dbt_args, environ=environ, echo=lambda line: None, target_path=work, quiet=True
    )
    if result.dbt_exit_code != 0:
        print(result.output[-3000:])
        raise SystemExit(f"{label}: dbt build failed (exit code {result.dbt_exit_code})")
    counts = tally_run_results(result.run_results) if result.run_results else {}
    shown = " ".join(f"{key}={value}" for key, value in counts.items() if value)
    print(f"{label:<34} {result.seconds:8.1f} s   {shown}", flush=True)
    if profile and result.run_results:
        print_profile(result.run_results)
    return result


def print_profile(run_results: Path, top: int = 8) -> None:
    """Where a build's time went: node seconds per resource type, and the slowest nodes."""
    results = json.loads(run_results.read_text(encoding="utf-8"))
    by_type: dict[str, list[float]] = {}
    for entry in results["results"]:
        by_type.setdefault(entry["unique_id"].split(".")[0], []).append(entry["execution_time"])
    print(f"    dbt's elapsed_time {results['elapsed_time']:.1f} s; node seconds by type:")
    for kind, seconds in sorted(by_type.items(), key=lambda item: -sum(item[1])):
        print(f"      {kind:<10} {len(seconds):4} nodes {sum(seconds):7.1f} s")
    slowest = sorted(results["results"], key=lambda entry: -entry["execution_time"])[:top]
    for entry in slowest:
        print(f"      {entry['execution_time']:6.2f} s  {entry['unique_id']}")


def read_seconds(conn: psycopg.Connection, relation: sql.Composable) -> float:
    """Seconds to run `select *` on ``relation`` and fetch every row, as Power BI's import does."""
    started = time.perf_counter()
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("select * from {}").format(relation))
        cursor.fetchall()
    return time.perf_counter() - started


def median_reads(
    conn: psycopg.Connection, first: sql.Composable, second: sql.Composable, repeats: int
) -> tuple[float, float]:
    """Median read times of two relations, alternating reads so neither is favoured by the cache.

    Small tables read in well under a millisecond, where one slow read decides a median of five;
    they are read until each has had at least half a second (or ``repeats`` reads, if more).
    """
    read_seconds(conn, first)
    read_seconds(conn, second)
    first_timings: list[float] = []
    second_timings: list[float] = []
    while len(first_timings) < repeats or (sum(first_timings) < 0.5 and len(first_timings) < 2000):
        first_timings.append(read_seconds(conn, first))
        second_timings.append(read_seconds(conn, second))
    return statistics.median(first_timings), statistics.median(second_timings)


def replay_seconds(conninfo: str, work: Path) -> tuple[float, int, int]:
    """Replay the SQL a build ran (target/run, in run_results order) through one session.

    Everything runs in one transaction that is rolled back, so the build's tables stay as they
    were; each node's SQL runs under a savepoint, and a node whose SQL fails on replay (one that
    only makes sense once, as a build ran it) is counted, not fatal. Returns the seconds, the
    nodes replayed and the nodes that failed.
    """
    results = json.loads((work / "run_results.json").read_text(encoding="utf-8"))["results"]
    manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
    scripts: list[str] = []
    for entry in results:
        node = manifest["nodes"].get(entry["unique_id"])
        if node is None:
            continue
        path = work / "run" / node["package_name"] / node["original_file_path"]
        if node["resource_type"] == "test" and node.get("path"):
            path = work / "run" / node["package_name"] / node["original_file_path"] / node["path"]
        if path.is_file():
            scripts.append(path.read_text(encoding="utf-8"))
    failed = 0
    started = time.perf_counter()
    with psycopg.connect(conninfo) as conn:
        for script in scripts:
            try:
                with conn.transaction():
                    conn.execute(script)  # type: ignore[arg-type]  # dbt's own compiled SQL
            except psycopg.Error:
                failed += 1
        conn.rollback()
    return time.perf_counter() - started, len(scripts), failed


def demo_benchmark(conninfo: str, profile: bool) -> None:
    """Import the demo's files, build twice, replay the second build's SQL; print the figures."""
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as work_dir:
        work = Path(work_dir)
        started = time.perf_counter()
        files = write_demo_files(generate_practice(), work / "files")
        quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115  # closed with the process
        with psycopg.connect(conninfo) as conn:
            results = import_with_progress(
                conn,
                files.in_import_order(),
                ImportOptions(),
                MailOptions(owner_emails=OWNER_EMAILS),
                console=quiet,
            )
        if any(result.status == "failed" for result in results):
            raise SystemExit("importing the demo files failed")
        print(f"{'import demo files':<34} {time.perf_counter() - started:8.1f} s")
        print(f"{'vacuum, autovacuum idle':<34} {settle(conninfo):8.1f} s")
        args = ["--vars", f"{{as_of_date: '{DEMO_AS_OF.isoformat()}'}}"]
        target = work / "target"
        first = timed_build(
            conninfo, target, "build, demo (new target dir)", profile=profile, dbt_args=args
        )
        second = timed_build(
            conninfo, target, "build, demo (again)", profile=profile, dbt_args=args
        )
        seconds, nodes, failed = replay_seconds(conninfo, target)
        print(
            f"{'replay compiled SQL, one session':<34} {seconds:8.1f} s   "
            f"{nodes} nodes, {failed} failed on replay"
        )
        print()
        print(
            f"crm build on the demo data   {second.seconds:5.1f} s (target <= 10 s); "
            f"first build {first.seconds:.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--repeats", type=int, default=5, help="reads per model (median)")
    parser.add_argument(
        "--profile", action="store_true", help="show where each build's time went (per node)"
    )
    parser.add_argument(
        "--dataset",
        choices=("decade", "demo"),
        default="decade",
        help="decade: a generated decade, three builds and Power BI reads; demo: crm demo's data",
    )
    options = parser.parse_args()

    target = db.resolve_target()
    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(target.conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    conninfo = pg_conninfo.make_conninfo(target.conninfo, dbname=name)
    print(f"benchmark database {name} at {target.where}")
    try:
        with psycopg.connect(conninfo) as conn:
            db.apply_schema(conn)
        if options.dataset == "demo":
            demo_benchmark(conninfo, options.profile)
            return
        with tempfile.TemporaryDirectory(prefix="crm-bench-") as work_dir:
            work = Path(work_dir)
            empty = timed_build(conninfo, work, "build, empty database", profile=options.profile)

            started = time.perf_counter()
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(DECADE)  # type: ignore[arg-type]  # a trusted literal
            print(f"{'generate decade data (SQL)':<34} {time.perf_counter() - started:8.1f} s")
            print(f"{'vacuum, autovacuum idle':<34} {settle(conninfo):8.1f} s")

            full = timed_build(conninfo, work, "build, decade data (full)", profile=options.profile)
            print(f"{'vacuum, autovacuum idle':<34} {settle(conninfo):8.1f} s")
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(NEXT_DAY)  # type: ignore[arg-type]
            next_day = timed_build(
                conninfo, work, "build, after one more day", profile=options.profile
            )

        print()
        print(f"{'model':<24} {'rows':>9} {'model s':>9} {'copy s':>9} {'ratio':>7}")
        worst = 0.0
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("create schema bench_copy")
            # Every table of schema analytics: what Power BI reads (crm powerbi's model).
            models = [
                str(row[0])
                for row in conn.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'analytics' order by table_name"
                )
            ]
            for model in models:
                model_relation = sql.Identifier("analytics", model)
                copy_relation = sql.Identifier("bench_copy", model)
                conn.execute(
                    sql.SQL("create table {} as select * from {}").format(
                        copy_relation, model_relation
                    )
                )
                conn.execute(sql.SQL("analyze {}").format(copy_relation))
                count = conn.execute(
                    sql.SQL("select count(*) from {}").format(model_relation)
                ).fetchone()
                rows = int(count[0]) if count else 0
                model_seconds, copy_seconds = median_reads(
                    conn, model_relation, copy_relation, options.repeats
                )
                ratio = model_seconds / copy_seconds if copy_seconds else float("nan")
                worst = max(worst, ratio)
                print(
                    f"{model:<24} {rows:>9,} {model_seconds:>9.4f} {copy_seconds:>9.4f} "
                    f"{ratio:>6.2f}x"
                )

        print()
        print(
            f"full / empty build      {full.seconds / empty.seconds:5.2f}x (target <= 3.0x)\n"
            f"next day / full build   {next_day.seconds / full.seconds:5.2f}x (target <= 0.6x)\n"
            f"worst model / copy read {worst:5.2f}x (target <= 1.5x)"
        )
    finally:
        if not options.keep:
            with psycopg.connect(target.conninfo, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
                )


if __name__ == "__main__":
    main()
