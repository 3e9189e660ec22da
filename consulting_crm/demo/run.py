"""`crm demo`: from an empty database to figures on screen and a report on disk.

Every step is the real thing a user does, in the order they would do it: apply the schema, take the
exports a consultant has (generated, seeded), import them through the importers, build the dbt
project, read the marts, write the report. Nothing writes tables directly, so the demo exercises the
whole product and its figures can be checked against the generator's own arithmetic
(:mod:`tests.factories.demo_figures`).

Running it again is safe: the same seed writes the same bytes, the importers skip files whose
SHA-256 they have loaded before, and the build recomputes the same tables.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

from consulting_crm import database as db
from consulting_crm.dbt_runner import BuildResult, run_build, tally_run_results
from consulting_crm.demo.files import DemoFiles, write_demo_files
from consulting_crm.demo.practice import DEMO_AS_OF, OWNER_EMAILS, generate_practice
from consulting_crm.importing import import_with_progress, print_summary
from consulting_crm.powerbi import project_from_manifest
from consulting_crm.report import ReportData, load_report_data, render_html
from ingest.errors import CrmError, ExitCode
from ingest.options import ImportOptions, MailOptions
from ingest.results import FileResult

REPORT_NAME = "crm-report.html"
POWERBI_DIR = "powerbi"


@dataclass
class DemoRun:
    """What a demo run did: its files, import results, build, report and the time of each step."""

    out: Path
    files: DemoFiles | None = None
    imports: list[FileResult] = field(default_factory=list)
    build: BuildResult | None = None
    report: Path | None = None
    powerbi: Path | None = None
    data: ReportData | None = None
    steps: list[tuple[str, float, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if self.build is None or self.build.exit_code != ExitCode.OK:
            return ExitCode.BUILD_FAILED
        if any(result.status == "failed" for result in self.imports):
            return ExitCode.FILE_FAILED
        return ExitCode.OK


def run_demo(
    out: Path,
    *,
    seed: int = 7,
    scale: int = 1,
    allow_existing: bool = False,
    console: Console | None = None,
    environ: Mapping[str, str] = os.environ,
) -> DemoRun:
    """Run the whole demo into ``out`` on the configured database and print what it does."""
    console = console or Console()
    run = DemoRun(out=out.resolve())

    @contextmanager
    def step(name: str) -> Iterator[Callable[[str], None]]:
        started = time.perf_counter()
        notes: list[str] = []
        console.rule(f"[bold]{name}")
        yield notes.append
        run.steps.append((name, time.perf_counter() - started, "; ".join(notes)))

    own_data = db.resolve_target(environ, start=False)
    environ = db.demo_environ(environ)
    target = db.resolve_target(environ)
    with db.connect(target, autocommit=True) as conn:
        with step("Database") as note:
            console.print(f"{_server_version(conn)} at {target.where}.")
            if target.kind == "embedded":
                console.print(
                    "The demo has a database of its own; your own CRM (crm import, crm build, "
                    f"crm report) stays in {own_data.where}. To open the demo's: "
                    f"CRM_HOME={target.data_dir} crm db status",
                    highlight=False,
                )
            # The exports are written to a scratch folder first: nothing reaches --out, and no
            # schema is applied, before the database has been found fit for the demo.
            practice = generate_practice(seed=seed, scale=scale)
            with tempfile.TemporaryDirectory(prefix="crm-demo-") as scratch:
                drafts = write_demo_files(practice, Path(scratch))
                _refuse_foreign_data(conn, drafts, target.where, allow_existing)
                before = db.schema_version(conn)
                version = db.apply_schema(conn)
                note(
                    f"schema version {version} "
                    + ("already applied" if before == version else "applied")
                    + f" at {target.where}"
                )
                console.print(f"Schema version {version}.")
                run.files = _place(drafts, Path(scratch), run.out)

        with step("Export files") as note:
            note(f"{len(run.files.in_import_order())} files in {run.out}")
            _print_files(console, run.files, run.out)

        with step("Import") as note:
            run.imports = import_with_progress(
                conn,
                run.files.in_import_order(),
                ImportOptions(),
                MailOptions(owner_emails=OWNER_EMAILS),
                console=console,
            )
            print_summary(run.imports, console=console)
            console.print(_rows_per_table(conn))
            loaded = sum(1 for result in run.imports if result.status == "loaded")
            rejected = sum(result.counts.rejected for result in run.imports)
            note(f"{loaded} loaded, {len(run.imports) - loaded} already imported")
            if rejected:
                console.print(
                    f"{rejected} rows were rejected on purpose (real exports have bad rows too): "
                    "the reject reports above name the row, the column and the fix; the other rows "
                    "were loaded."
                )

    with step("Build") as note:
        with console.status("dbt build: starting …") as status:
            run.build = run_build(
                ["--vars", f"{{as_of_date: '{DEMO_AS_OF.isoformat()}'}}"],
                environ=environ,
                echo=lambda line: console.print(line, markup=False, highlight=False),
                target_path=run.out / ".dbt-target",
                quiet=True,
                progress=lambda progress: status.update(progress.line()),
            )
        tally = tally_run_results(run.build.run_results) if run.build.run_results else {}
        note(", ".join(f"{count} {status}" for status, count in sorted(tally.items()) if count))
        if run.build.exit_code != ExitCode.OK:
            console.print(run.build.output, markup=False, highlight=False)
            return run

    with db.connect(target) as conn:
        with step("Figures") as note:
            run.data = load_report_data(conn)
            print_headline(console, run.data)
            note(f"as of {run.data.as_of:%d %b %Y}")
        with step("Report") as note:
            run.report = run.out / REPORT_NAME
            run.report.write_text(render_html(run.data), encoding="utf-8")
            note(str(run.report))
    with step("Power BI project") as note:
        manifest = run.out / ".dbt-target" / "manifest.json"
        try:
            run.powerbi = project_from_manifest(run.out / POWERBI_DIR, manifest, environ=environ)
        except CrmError as exc:
            # Edits saved from Power BI Desktop are the user's: the demo says so and goes on.
            console.print(f"Power BI project not rewritten: {exc}", highlight=False, markup=False)
            note("kept as edited")
        else:
            note(str(run.powerbi / "ConsultingCRM.pbip"))

    _print_steps(console, run)
    return run


def _server_version(conn: psycopg.Connection) -> str:
    row = conn.execute("show server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def _print_files(console: Console, files: DemoFiles, out: Path) -> None:
    table = Table(title="The practice's exports", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("what it is", overflow="fold")
    table.add_column("size", justify="right", no_wrap=True)
    what = {
        files.accounts: "client list, Excel workbook",
        files.hubspot_contacts: "HubSpot contacts export (UTF-8 with BOM, 2 bad emails)",
        files.linkedin: "LinkedIn Connections.csv (notes preamble)",
        files.lead_conversions: "the leads that became clients, in our leads template",
        files.projects: "projects in our template (sep=;, decimal commas, 1 unknown client)",
        files.salesforce_tasks: "Salesforce task report (calls and emails)",
        files.mailbox: "Gmail Takeout mbox, three years of client mail",
    }
    for path in files.in_import_order():
        table.add_row(
            str(path.relative_to(out)), what[path], f"{path.stat().st_size / 1024:,.0f} KiB"
        )
    console.print(table)


def _rows_per_table(conn: psycopg.Connection) -> Table:
    table = Table(title="The CRM now holds", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in db.PUBLIC_TABLES:
        row = conn.execute(f"select count(*) from public.{name}").fetchone()
        table.add_row(name, f"{row[0] if row else 0:,}")
    return table


def _place(drafts: DemoFiles, scratch: Path, out: Path) -> DemoFiles:
    """Move the exports written to ``scratch`` into ``out``, keeping their relative paths."""
    placed: dict[str, Path] = {}
    for name, draft in vars(drafts).items():
        target = out / draft.relative_to(scratch)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(draft, target)
        placed[name] = target
    return DemoFiles(**placed)


def _refuse_foreign_data(
    conn: psycopg.Connection, files: DemoFiles, where: str, allow_existing: bool
) -> None:
    """Never mix demo data into a database that holds someone's real CRM (or anything else)."""
    if allow_existing:
        return
    if db.schema_version(conn) is None:
        row = conn.execute(
            "select count(*) from pg_tables where schemaname in ('public', 'ingest')"
        ).fetchone()
        if row and row[0]:
            raise CrmError(
                f"the database at {where} has {row[0]} tables of its own and no CRM schema; the "
                "demo writes only into an empty database or one it filled before. Point "
                "DATABASE_URL at an empty database, or pass --allow-existing if this one is a "
                "playground."
            )
        return
    demo_digests = [
        hashlib.sha256(path.read_bytes()).hexdigest()
        for path in files.in_import_order()
        if path.is_file()
    ]
    row = conn.execute(
        """
        select count(*) filter (where file_sha256 <> all(%(demo)s)),
               count(*) filter (where file_sha256 = any(%(demo)s)),
               (select count(*) from public.accounts) + (select count(*) from public.leads)
        from ingest.import_batches
        where status = 'loaded' and not is_dry_run
        """,
        {"demo": demo_digests},
    ).fetchone()
    foreign_files, demo_files, people_and_clients = row or (0, 0, 0)
    if foreign_files or (people_and_clients and not demo_files):
        raise CrmError(
            f"the database at {where} already holds other data "
            f"({foreign_files} imported files that are not this demo's), and the demo would mix "
            "its invented clients into it. Run the demo on a database of its own: without "
            "DATABASE_URL it uses an embedded server of its own, or point DATABASE_URL at an "
            "empty database; or pass --allow-existing if this database is a playground."
        )


def _money(value: object, symbol: str) -> str:
    if value is None:
        return "–"
    return f"{symbol}{Decimal(str(value)):,.0f}"


def _share(value: object) -> str:
    return "–" if value is None else f"{Decimal(str(value)) * 100:.1f} %"


def print_headline(console: Console, data: ReportData) -> None:
    """The three tables a consultant looks at first: pipeline, concentration, client health."""
    symbol, head, ttm = data.symbol, data.headline, data.ttm
    pipeline = Table(
        title=f"Pipeline as of {data.as_of:%d %b %Y}", title_justify="left", show_header=False
    )
    pipeline.add_column("figure")
    pipeline.add_column("value", justify="right")
    pipeline.add_row("Open opportunities", f"{head.get('open_opportunity_count', 0):,}")
    pipeline.add_row("Open pipeline", _money(head.get("open_pipeline_amount"), symbol))
    pipeline.add_row("Weighted pipeline", _money(head.get("weighted_pipeline_amount"), symbol))
    pipeline.add_row(
        "Won / lost, last 12 months",
        f"{head.get('won_count_ttm', 0)} / {head.get('lost_count_ttm', 0)}",
    )
    pipeline.add_row("Win rate (count)", _share(head.get("win_rate_count_ttm")))
    pipeline.add_row("Average won deal", _money(head.get("avg_won_deal_amount_ttm"), symbol))
    cycle = head.get("avg_sales_cycle_days_ttm")
    pipeline.add_row("Average sales cycle", "–" if cycle is None else f"{cycle:.0f} days")
    pipeline.add_row("Velocity per day", _money(head.get("pipeline_velocity_per_day"), symbol))
    console.print(pipeline)

    concentration = Table(
        title=f"Revenue concentration, {ttm.get('period_start_month'):%b %Y} – "
        f"{ttm.get('period_end_month'):%b %Y}"
        if ttm
        else "Revenue concentration",
        title_justify="left",
        show_header=False,
    )
    concentration.add_column("figure")
    concentration.add_column("value", justify="right")
    concentration.add_row("Recognised revenue", _money(ttm.get("total_revenue"), symbol))
    concentration.add_row("Paying clients", f"{ttm.get('client_count', 0):,}")
    concentration.add_row("Top client's share", _share(ttm.get("top1_share")))
    concentration.add_row("Top 3 clients' share", _share(ttm.get("top3_share")))
    hhi = ttm.get("hhi")
    concentration.add_row("HHI (0–10,000)", "–" if hhi is None else f"{hhi:,.0f}")
    for_80 = ttm.get("clients_for_80pct")
    concentration.add_row(
        "Clients making 80 % of revenue", "– (no revenue)" if for_80 is None else f"{for_80:,}"
    )
    console.print(concentration)

    health = Table(title="Client health, worst first", title_justify="left")
    health.add_column("client", overflow="fold")
    health.add_column("band", no_wrap=True)
    # The reasons say how long the client has been quiet; no separate column for it.
    health.add_column("revenue TTM", justify="right", no_wrap=True)
    health.add_column("why", ratio=1)
    styles = {"dormant": "red", "at_risk": "yellow", "healthy": "green"}
    shown = data.client_health[:10]
    for row in shown:
        band = str(row.get("health_band"))
        health.add_row(
            str(row.get("account_name")),
            f"[{styles.get(band, 'white')}]{band.replace('_', ' ')}[/]",
            _money(row.get("revenue_ttm"), symbol),
            str(row.get("health_reasons") or ""),
        )
    console.print(health)
    bands: dict[str, int] = {}
    for row in data.client_health:
        bands[str(row.get("health_band"))] = bands.get(str(row.get("health_band")), 0) + 1
    rest = len(data.client_health) - len(shown)
    console.print(
        f"{bands.get('healthy', 0)} healthy, {bands.get('at_risk', 0)} at risk, "
        f"{bands.get('dormant', 0)} dormant"
        + (f" ({rest} more in the report)" if rest > 0 else ""),
        highlight=False,
    )


def _print_steps(console: Console, run: DemoRun) -> None:
    table = Table(title="Demo finished", title_justify="left")
    table.add_column("step")
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("what happened", overflow="fold")
    for name, seconds, what in run.steps:
        table.add_row(name, f"{seconds:.1f}", what)
    console.print(table)
    console.print(
        f"Open the report: {run.report}\n"
        + (
            f"Open {run.powerbi / 'ConsultingCRM.pbip'} in Power BI Desktop; for this demo run "
            "`crm db serve` and `crm db create-reader` with the demo's CRM_HOME first, then "
            "sign in with that login and Refresh (docs/power-bi.md).\n"
            if run.powerbi
            else ""
        )
        + "Next: `crm import YOUR-EXPORT.csv` for your own data (on a database of its own: set "
        "CRM_HOME or DATABASE_URL), `crm build`, `crm report`, `crm powerbi`.",
        highlight=False,
    )
