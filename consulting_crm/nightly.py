"""`crm nightly`: the unattended run for cron or a systemd timer.

One run: take the lock, import every new file in the inbox (each in its own transaction, exactly as
`crm import` would), move each file to ``archive/`` or ``failed/``, build the dbt project and check
source freshness, then write what happened as JSON (for machines) and one screen of text (for the
person reading the mail cron sends). The exit code is 0 only when every step passed.

The inbox, which may be a sync folder and so holds nothing but the exports and what became of
them::

    inbox/
        hubspot-2026-11-25.csv          <- drop exports here (or a Takeout folder, an .mbox, .eml)
        archive/<run>/...               <- imported (or imported before), with reject reports
        failed/<run>/NAME, NAME.reason.txt

and the runs folder (``nightly.runs_dir``, default ``$CRM_HOME/runs``)::

    runs/
        <run>.json, <run>.txt           <- one summary per run; latest.json/.txt is the last one
        <run>.build.log, <run>.freshness.log   <- dbt's output of that run
        dbt/                            <- dbt's artifacts of the last run; dbt's own log in logs/

``<run>`` is the run's UTC start time (``20261126T020000Z``), so nothing is ever overwritten. Only
the newest ``nightly.keep_runs`` runs (default 60) keep their files there.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

from consulting_crm import database as db
from consulting_crm.dbt_runner import (
    BuildResult,
    run_build,
    run_source_freshness,
    tally_run_results,
    warned_tests,
)
from consulting_crm.settings import Settings, crm_home, load_settings, profiles_dir
from ingest.dispatch import import_file, is_importable, is_mail, passed_over
from ingest.errors import ConnectionLost, CrmError, ExitCode
from ingest.options import ImportOptions, MailOptions
from ingest.readers import REPORT_SUFFIX
from ingest.results import FileResult, display_name, readable

# The nightly lock is a lease: a row of ingest.run_locks (schema.sql, "pooler-safe locks") that a
# run claims with one UPDATE, renews from a heartbeat thread while it runs and clears at the end.
# A session-level advisory lock would not hold through a transaction-mode pooler (each statement
# may run on another server connection), and any role, a Power BI reader included, could take it.
NIGHTLY_LOCK = "nightly"
# How long a lease lasts without renewal: a run killed with kill -9 (or a machine that lost power)
# blocks the next run for at most this long after its last renewal. Ten minutes rides out nine
# missed heartbeats in a row (a database failover, a network outage, a laptop's short sleep)
# without a second run starting beside a live one, and is nothing against a nightly schedule.
LEASE = dt.timedelta(minutes=10)
# How often a running run renews its lease (a thread with a connection of its own).
HEARTBEAT = dt.timedelta(minutes=1)
# "runs" was the summaries' folder inside the inbox before they moved to nightly.runs_dir; an old
# inbox's runs/ (or a runs_dir set to INBOX/runs) is still not an export to import.
MANAGED_FOLDERS = ("archive", "failed", "runs")
REASON_SUFFIX = ".reason.txt"
# The files one run leaves in the runs folder all start with its id (see prune_runs).
_RUN_FILE = re.compile(r"^(\d{8}T\d{6}Z)\.(json|txt|build\.log|freshness\.log)$")


@dataclass
class InboxFile:
    """One entry of the inbox and what became of it."""

    name: str
    status: str  # loaded | skipped (already imported) | failed | waiting (still being written)
    kind: str = ""
    profile: str | None = None
    entity: str | None = None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    seconds: float = 0.0
    moved_to: str | None = None
    message: str | None = None
    reject_report: str | None = None


@dataclass
class StepOutcome:
    """A dbt step (build or source freshness): passed or not, its counts and failing nodes."""

    passed: bool
    exit_code: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # Each test that warned: {"test", "failing_rows", "meaning"}; the step still passed.
    warnings: list[dict[str, object]] = field(default_factory=list)


@dataclass
class NightlyRun:
    run_id: str
    started_at: str
    database: str
    inbox: str
    files: list[InboxFile] = field(default_factory=list)
    build: StepOutcome | None = None
    freshness: StepOutcome | None = None
    finished_at: str = ""
    seconds: float = 0.0
    exit_code: int = 0
    summary_json: str = ""
    summary_text: str = ""

    def decide_exit_code(self) -> ExitCode:
        """The most serious problem wins: build > failed file > rejected rows."""
        if self.build is None or not self.build.passed:
            return ExitCode.BUILD_FAILED
        if self.freshness is not None and not self.freshness.passed:
            return ExitCode.BUILD_FAILED
        if any(item.status == "failed" for item in self.files):
            return ExitCode.FILE_FAILED
        if any(item.rejected for item in self.files):
            return ExitCode.ROWS_REJECTED
        return ExitCode.OK


NIGHTLY_BUILD_ARGS = ("--exclude-resource-type", "unit_test")


def inbox_entries(inbox: Path) -> list[Path]:
    """The inbox's new entries, oldest name first; managed folders, hidden files and our own
    reject reports are not entries. A folder counts as one entry (a Takeout export, a folder of
    .eml); a plain folder's files are entries of their own."""
    entries: list[Path] = []
    for entry in sorted(inbox.iterdir(), key=lambda item: item.name):
        if entry.name.startswith(".") or entry.name.endswith(REPORT_SUFFIX):
            continue
        if entry.is_dir() and entry.name in MANAGED_FOLDERS:
            continue
        entries.append(entry)
    return entries


def _newest_change(path: Path) -> float:
    if not path.is_dir():
        return path.lstat().st_mtime  # lstat: a broken link is an entry too (it then fails)
    times = [item.stat().st_mtime for item in path.rglob("*") if item.is_file()]
    return max(times, default=path.stat().st_mtime)


def _files_of(entry: Path) -> list[Path]:
    """What to import for one inbox entry: the entry itself, or a plain folder's files."""
    if not entry.is_dir() or is_mail(entry):
        return [entry]
    return sorted(
        (
            item
            for item in entry.rglob("*")
            if item.is_file()
            and not item.name.startswith(".")
            and not item.name.endswith(REPORT_SUFFIX)
        ),
        key=lambda item: str(item),
    )


def _move(entry: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / entry.name
    shutil.move(str(entry), destination)
    return destination


def run_nightly(
    inbox: Path,
    *,
    dbt_args: Sequence[str] = (),
    as_of_date: str | None = None,
    settle_seconds: float = 60.0,
    console: Console | None = None,
    environ: Mapping[str, str] = os.environ,
) -> NightlyRun:
    """Run the nightly job on ``inbox``.

    Raises CrmError with exit code 7 when another run holds the lock (and then touches nothing),
    or when this run lost its lease (see :class:`NightlyLease`).
    """
    console = console or Console()
    inbox = inbox.expanduser().resolve()
    if not inbox.is_dir():
        raise CrmError(f"{inbox}: the inbox folder does not exist; create it or fix --inbox.")
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    run_id = now.strftime("%Y%m%dT%H%M%SZ")
    target = db.resolve_target(environ)
    settings = load_settings(environ)
    runs = runs_folder(inbox, settings, environ)
    run = NightlyRun(
        run_id=run_id,
        started_at=now.isoformat(timespec="seconds"),
        database=target.where,
        inbox=str(inbox),
    )
    with db.connect(target, autocommit=True) as conn:
        if db.schema_version(conn) is None:
            raise CrmError(f"the database at {target.where} has no schema yet; run `crm db init`.")
        with acquire_nightly_lock(conn, target, holder=run_id) as lease:
            if lease.took_over is not None:
                console.print(
                    f"The previous run's lease ran out without it finishing ({lease.took_over}); "
                    "this run took the lock over.",
                    highlight=False,
                )
            runs.mkdir(parents=True, exist_ok=True)
            _import_inbox(conn, inbox, run, settings, settle_seconds, console, lease)
            lease.check()
            build_dir = runs / "dbt"
            # dbt's unit tests check the SQL against fixed inputs: they change with the code, not
            # with the night's data, so the nightly (production) build leaves them out, as dbt
            # recommends. `crm build` and the test suite run them.
            build_args = [*NIGHTLY_BUILD_ARGS, *dbt_args]
            if as_of_date:
                build_args += ["--vars", f"{{as_of_date: '{as_of_date}'}}"]
            console.print("Building the analytics models…")
            build = run_build(
                build_args, environ=environ, echo=lambda _: None, target_path=build_dir, quiet=True
            )
            run.build = _outcome(build)
            freshness = run_source_freshness(
                environ=environ,
                echo=lambda _: None,
                target_path=build_dir / "freshness",
                quiet=True,
            )
            run.freshness = _outcome(freshness)
            (runs / f"{run_id}.build.log").write_text(build.output, encoding="utf-8")
            (runs / f"{run_id}.freshness.log").write_text(freshness.output, encoding="utf-8")
            run.seconds = round(time.perf_counter() - started, 1)
            run.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            run.exit_code = int(run.decide_exit_code())
            _write_summaries(run, runs)
            prune_runs(runs, settings.keep_runs)
            # The lease is released when this block ends, after the summaries are written (and
            # also when anything above raised).
    return run


def runs_folder(inbox: Path, settings: Settings, environ: Mapping[str, str] = os.environ) -> Path:
    """Where the run summaries and dbt logs go: ``nightly.runs_dir``, a relative one taken from
    CRM_HOME (default ``$CRM_HOME/runs``). Inside the inbox only ``INBOX/runs`` is allowed: any
    other folder there would be taken for an export and imported."""
    configured = Path(settings.runs_dir).expanduser()
    runs = configured if configured.is_absolute() else crm_home(environ) / configured
    runs = runs.resolve()
    if runs.is_relative_to(inbox) and runs != inbox / "runs":
        raise CrmError(
            f"nightly.runs_dir is {runs}, inside the inbox {inbox}, where it would be imported as "
            f"an export; choose a folder outside the inbox (or {inbox / 'runs'}) with "
            "`crm config set nightly.runs_dir FOLDER`."
        )
    return runs


def prune_runs(runs: Path, keep: int) -> list[str]:
    """Delete the files of all but the newest ``keep`` runs (0 keeps all); the ids deleted.

    Only files named like a run's own (``<run>.json``, ``.txt``, ``.build.log``,
    ``.freshness.log``) are touched, so a runs folder shared with anything else loses nothing
    else; ``latest.*`` and ``dbt/`` are always the last run's.
    """
    if keep <= 0:
        return []
    by_run: dict[str, list[Path]] = {}
    for path in runs.iterdir():
        match = _RUN_FILE.match(path.name)
        if match and path.is_file():
            by_run.setdefault(match[1], []).append(path)
    old = sorted(by_run)[:-keep]
    for run_id in old:
        for path in by_run[run_id]:
            path.unlink(missing_ok=True)
    return old


def _import_inbox(
    conn: psycopg.Connection,
    inbox: Path,
    run: NightlyRun,
    settings: Settings,
    settle_seconds: float,
    console: Console,
    lease: NightlyLease,
) -> None:
    archive = inbox / "archive" / run.run_id
    failed = inbox / "failed" / run.run_id
    now = time.time()
    mail_options = MailOptions(
        owner_emails=settings.owner_emails,
        create_leads=settings.create_leads,
        store_bodies=settings.store_bodies,
    )
    for entry in inbox_entries(inbox):
        lease.check()  # a run that lost its lease stops before the next file
        if now - _newest_change(entry) < settle_seconds:
            run.files.append(
                InboxFile(
                    name=display_name(entry),
                    status="waiting",
                    message=f"changed less than {settle_seconds:.0f} s ago (still being "
                    "copied?); left for the next run.",
                )
            )
            continue
        results: list[FileResult] = []
        if not entry.exists():
            results.append(
                FileResult(
                    path=entry,
                    kind="unknown",
                    status="failed",
                    message=f"{display_name(entry)}: a link to a file that does not exist "
                    "(any more).",
                )
            )
        for path in _files_of(entry) if entry.exists() else []:
            if path != entry and not is_importable(path):  # a plain folder's .html, .png …
                results.append(passed_over(path, entry))
                continue
            console.print(
                f"Importing {readable(str(path.relative_to(inbox)))}…",
                highlight=False,
                markup=False,
            )
            # A file's reject report goes to the archive beside it; a plain folder's files keep
            # theirs beside themselves inside the folder, which moves as a whole (two files of the
            # same name in different subfolders must not share one report).
            spreadsheet = ImportOptions(
                default_date_format=settings.date_format,
                decimal_separator=settings.decimal_separator,
                years=settings.years,
                report_dir=archive if path == entry else None,
                profile_dir=profiles_dir(),  # the user's saved profiles are recognised too
            )
            # import_file turns anything unexpected into a failed result (with its traceback);
            # a lost connection stops the run, leaving this entry in the inbox for the next.
            try:
                results.append(import_file(conn, path, spreadsheet, mail_options))
            except ConnectionLost:
                raise
            except CrmError as exc:  # e.g. mail without owner addresses: this entry fails
                results.append(
                    FileResult(path=path, kind="unknown", status="failed", message=str(exc))
                )
        outcome = _combine(entry, inbox, results)
        if outcome.status == "failed":
            destination = _move(entry, failed)
            reason = failed / f"{entry.name}{REASON_SUFFIX}"  # beside it, in its own bytes
            reason.write_text(_reason_text(entry, results), encoding="utf-8")
            # Reject reports of a failed entry belong beside it, not in the archive.
            _move_reports(results, archive, failed)
        else:
            destination = _move(entry, archive)
        outcome.moved_to = readable(str(destination.relative_to(inbox)))
        outcome.reject_report = _reports_after_move(results, entry, destination, inbox)
        run.files.append(outcome)


def _combine(entry: Path, inbox: Path, results: list[FileResult]) -> InboxFile:
    """One line per inbox entry (a plain folder's files add up)."""
    item = InboxFile(name=display_name(entry), status="loaded")
    if not results:
        item.status = "failed"
        item.message = "an empty folder: nothing to import."
        return item
    statuses = {result.status for result in results}
    if "failed" in statuses:
        item.status = "failed"
    elif statuses == {"skipped"}:
        item.status = "skipped"
    item.kind = ", ".join(sorted({result.kind for result in results}))
    item.profile = ", ".join(sorted({result.profile for result in results if result.profile}))
    item.entity = ", ".join(sorted({result.entity for result in results if result.entity}))
    for result in results:
        item.inserted += result.counts.inserted
        item.updated += result.counts.updated
        item.unchanged += result.counts.unchanged
        item.rejected += result.counts.rejected
        item.seconds += result.seconds
    item.seconds = round(item.seconds, 2)
    messages = [readable(result.message) for result in results if result.message]
    item.message = " | ".join(messages) or None
    return item


def _move_reports(results: list[FileResult], archive: Path, failed: Path) -> None:
    """Move the reject reports a failed entry's files left in the archive to ``failed``."""
    for result in results:
        report = result.reject_report
        if report is not None and report.exists() and report.parent == archive:
            result.reject_report = _move(report, failed)


def _reports_after_move(
    results: list[FileResult], entry: Path, destination: Path, inbox: Path
) -> str | None:
    """Where the entry's reject reports are now, relative to the inbox, comma-separated."""
    found = []
    for result in results:
        report = result.reject_report
        if report is None:
            continue
        if report.is_relative_to(entry):  # written inside a plain folder; moved with it
            report = destination / report.relative_to(entry)
        found.append(
            readable(str(report.relative_to(inbox) if report.is_relative_to(inbox) else report))
        )
    return ", ".join(found) or None


def _reason_text(entry: Path, results: list[FileResult]) -> str:
    """Why an entry failed, in valid UTF-8 whatever the file's name (see ``readable``)."""
    lines = [f"{display_name(entry)} was not imported; nothing from it is in the database.", ""]
    if not results:
        lines.append("It is an empty folder.")
    for result in results:
        if result.status == "failed":
            lines.append(readable(result.message or f"{result.name}: failed."))
            if result.traceback:
                lines += ["", "Traceback, for whoever reports the bug:", result.traceback]
    lines += [
        "",
        "Fix the file and put it back into the inbox; the next run imports it. To import it by "
        "hand and see every detail: crm import PATH",
    ]
    return "\n".join(lines) + "\n"


def _outcome(result: BuildResult) -> StepOutcome:
    counts: dict[str, int] = {}
    failures: list[str] = []
    warnings: list[dict[str, object]] = []
    if result.run_results is not None:
        counts = tally_run_results(result.run_results)
        failures = _failures(result.run_results)
        warnings = [warning.as_dict() for warning in warned_tests(result.run_results)]
    elif result.exit_code != ExitCode.OK:
        tail = [line for line in result.output.splitlines() if line.strip()][-5:]
        failures = tail or ["dbt stopped before it wrote any results"]
    return StepOutcome(
        passed=result.exit_code == ExitCode.OK,
        exit_code=result.dbt_exit_code,
        seconds=round(result.seconds, 1),
        counts=counts,
        failures=failures,
        warnings=warnings,
    )


def _failures(path: Path) -> list[str]:
    """One line per failing node: a model's error, a test's failure count, a stale source's age."""
    artifact = json.loads(path.read_text(encoding="utf-8"))
    failures = []
    for result in artifact.get("results", []):
        if result.get("status") not in ("error", "fail", "runtime error"):
            continue
        node = str(result.get("unique_id", "?"))
        message = " ".join(str(result.get("message") or "").split())
        if not message and node.startswith("source."):
            age = result.get("max_loaded_at_time_ago_in_s")
            message = (
                f"stale: last change {float(age) / 86400:.0f} days ago"
                if isinstance(age, int | float) and age < 10**9
                else "stale: no rows to date it by"
            )
        failures.append(f"{node}: {message}"[:300])
    return failures


def _write_summaries(run: NightlyRun, runs: Path) -> None:
    json_path = runs / f"{run.run_id}.json"
    text_path = runs / f"{run.run_id}.txt"
    run.summary_json = str(json_path)
    run.summary_text = str(text_path)
    json_path.write_text(json.dumps(asdict(run), indent=2) + "\n", encoding="utf-8")
    text = render_text(run)
    text_path.write_text(text, encoding="utf-8")
    (runs / "latest.txt").write_text(text, encoding="utf-8")
    (runs / "latest.json").write_text(json_path.read_text(encoding="utf-8"), encoding="utf-8")


def render_text(run: NightlyRun, width: int = 100) -> str:
    """One screen: the verdict, a table of files, the build and freshness lines, what to do."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    verdict = {
        0: "PASSED",
        4: "PASSED WITH REJECTED ROWS",
        5: "A FILE FAILED",
        6: "BUILD OR FRESHNESS FAILED",
    }.get(run.exit_code, "FAILED")
    console.print(
        f"crm nightly {run.run_id}: {verdict} (exit code {run.exit_code}) in {run.seconds:.0f} s",
        highlight=False,
    )
    console.print(f"database {run.database}; inbox {run.inbox}", highlight=False)
    if run.files:
        table = Table(box=None, pad_edge=False)
        table.add_column("file", overflow="fold")
        table.add_column("status", no_wrap=True)
        for name in ("new", "updated", "same", "rejected"):
            table.add_column(name, justify="right", no_wrap=True)
        table.add_column("moved to", overflow="fold")
        for item in run.files:
            table.add_row(
                item.name,
                item.status,
                f"{item.inserted:,}",
                f"{item.updated:,}",
                f"{item.unchanged:,}",
                f"{item.rejected:,}",
                item.moved_to or "(left in the inbox)",
            )
        console.print(table)
    else:
        console.print("No new files in the inbox.")
    for label, step in (("build", run.build), ("source freshness", run.freshness)):
        if step is None:
            continue
        counts = ", ".join(f"{count} {name}" for name, count in step.counts.items() if count)
        state = "passed" if step.passed else f"FAILED (dbt exit code {step.exit_code})"
        if step.passed and step.warnings:
            many = len(step.warnings)
            state = f"passed with {many} warning{'' if many == 1 else 's'}"
        console.print(f"{label}: {state} in {step.seconds:.0f} s; {counts or 'no results'}")
        for failure in step.failures[:10]:
            console.print(f"  - {failure}", highlight=False)
        for warning in step.warnings:
            rows = int(warning["failing_rows"])  # type: ignore[call-overload]
            counted = "" if rows == 0 else f" ({rows} row{'' if rows == 1 else 's'})"
            console.print(
                f"  - warning {warning['test']}{counted}: {warning['meaning']}", highlight=False
            )
    for item in run.files:
        if item.status in ("failed", "waiting") or item.rejected:
            note = item.message or ""
            if item.status == "failed":
                note = f"see failed/{run.run_id}/{item.name}{REASON_SUFFIX}. {note}"
            elif item.rejected:
                note = f"{item.rejected} rows rejected, listed in {item.reject_report}."
            console.print(f"{item.name}: {note}", highlight=False)
    runs = Path(run.summary_json).parent if run.summary_json else Path("runs")
    console.print(
        f"details: {runs / (run.run_id + '.json')}, dbt log: {runs / (run.run_id + '.build.log')}",
        highlight=False,
        markup=False,
        soft_wrap=True,  # a path stays whole, for copying
    )
    return console.export_text()


# The nightly lock ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) the nightly lease, as the row says."""

    holder: str
    host: str | None
    pid: int | None
    acquired_at: dt.datetime | None
    expires_at: dt.datetime | None

    def describe(self) -> str:
        since = _utc(self.acquired_at)
        until = _utc(self.expires_at)
        return (
            f"run {self.holder} on host {self.host or '?'}, pid {self.pid or '?'}, "
            f"since {since}, lease until {until}"
        )


def _utc(moment: dt.datetime | None) -> str:
    if moment is None:
        return "?"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_HOLDER_COLUMNS = "holder, host, pid, acquired_at, expires_at"


def _holder(conn: psycopg.Connection) -> LockHolder | None:
    row = conn.execute(
        f"select {_HOLDER_COLUMNS} from ingest.run_locks where name = %s and holder is not null",
        (NIGHTLY_LOCK,),
    ).fetchone()
    return LockHolder(*row) if row else None


class NightlyLease:
    """The nightly lock while this run holds it.

    A thread renews the lease every ``heartbeat`` on a connection of its own (the run's connection
    is busy in import transactions and must not carry the renewals). :meth:`release` (or leaving
    the ``with`` block, also on an exception) clears the row. When a renewal finds the row no
    longer ours (the lease ran out unrenewed, e.g. the process was suspended, and another run took
    it), :meth:`check` raises, so the run stops before its next file or the build.
    """

    def __init__(
        self,
        target: db.Target,
        holder: str,
        expires_at: dt.datetime,
        *,
        lease: dt.timedelta,
        heartbeat: dt.timedelta,
        took_over: str | None = None,
    ) -> None:
        self.target = target
        self.holder = holder
        self.expires_at = expires_at
        self.lease = lease
        self.heartbeat = heartbeat
        self.took_over = took_over
        self.lost: str | None = None
        self.last_error: str | None = None
        self._conn: psycopg.Connection | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="nightly-lease", daemon=True)
        self._thread.start()

    def __enter__(self) -> NightlyLease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _execute(self, query: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        """Run one statement on the lease's own connection, opening it (again) when needed."""
        if self._conn is None or self._conn.closed:
            self._conn = db.connect(self.target, autocommit=True)
        try:
            return self._conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        except psycopg.OperationalError:
            self._conn.close()  # broken: the next call connects again
            raise

    def renew(self) -> bool:
        """Extend the lease from now; False (and :attr:`lost` set) when it is no longer ours."""
        row = self._execute(
            "update ingest.run_locks set renewed_at = now(), expires_at = now() + %s "
            "where name = %s and holder = %s returning expires_at",
            (self.lease, NIGHTLY_LOCK, self.holder),
        )
        if row is None:
            self.lost = (
                f"this crm nightly lost the nightly lock: its lease (until {_utc(self.expires_at)})"
                " ran out before it was renewed (was the process suspended, or the database "
                "unreachable?), so another run may hold it now; this run stopped. Run it again."
            )
            return False
        self.expires_at = row[0]  # type: ignore[assignment]
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat.total_seconds()):
            try:
                if not self.renew():
                    return
                self.last_error = None
            except Exception as exc:  # unreachable for now: try again at the next beat
                self.last_error = f"{type(exc).__name__}: {exc}"

    def check(self) -> None:
        """Raise (exit code 7) when this run no longer holds the lock."""
        if self.lost is not None:
            raise CrmError(self.lost, exit_code=ExitCode.LOCKED)

    def release(self) -> None:
        """Stop renewing and clear the row (when it is still ours)."""
        self._stop.set()
        self._thread.join()
        try:
            self._execute(
                "update ingest.run_locks set holder = null, host = null, pid = null, "
                "acquired_at = null, renewed_at = null, expires_at = null "
                "where name = %s and holder = %s returning name",
                (NIGHTLY_LOCK, self.holder),
            )
        except psycopg.Error:
            pass  # the database is unreachable: the lease runs out on its own
        finally:
            if self._conn is not None:
                self._conn.close()


def acquire_nightly_lock(
    conn: psycopg.Connection,
    target: db.Target,
    *,
    holder: str,
    lease: dt.timedelta = LEASE,
    heartbeat: dt.timedelta = HEARTBEAT,
) -> NightlyLease:
    """Take the nightly lease (one autocommit UPDATE, pooler-safe) or raise CrmError, exit code 7.

    The UPDATE succeeds only when the row has no lease or an expired one; every time is the
    database's clock, so the machines that run crm need not agree on the time.
    """
    token = f"{holder}-{secrets.token_hex(3)}"
    for _ in range(2):  # the holder may finish between the refused UPDATE and the look at it
        try:
            previous = _holder(conn)
            row = conn.execute(
                "update ingest.run_locks set holder = %s, host = %s, pid = %s, "
                "acquired_at = now(), renewed_at = now(), expires_at = now() + %s "
                "where name = %s and (expires_at is null or expires_at <= now()) "
                "returning expires_at",
                (token, socket.gethostname(), os.getpid(), lease, NIGHTLY_LOCK),
            ).fetchone()
        except psycopg.errors.UndefinedTable as exc:
            raise CrmError(
                f"the database at {target.where} has no ingest.run_locks table (schema older "
                "than version 3); run `crm db init` to upgrade it, then run again."
            ) from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise CrmError(
                f"the role {conn.info.user} may not take the nightly lock at {target.where} (no "
                "UPDATE on ingest.run_locks); run crm nightly as the role that applied schema.sql."
            ) from exc
        if row is not None:
            return NightlyLease(
                target,
                token,
                row[0],
                lease=lease,
                heartbeat=heartbeat,
                took_over=previous.describe() if previous is not None else None,
            )
        current = _holder(conn)
        if current is not None:
            raise CrmError(
                f"another crm nightly holds the nightly lock on {target.where}: "
                f"{current.describe()} (renewed every {_minutes(heartbeat)} while it runs); this "
                f"run did nothing. If that run was killed, the lock frees itself at "
                f"{_utc(current.expires_at)}.",
                exit_code=ExitCode.LOCKED,
            )
    raise CrmError(
        f"the nightly lock on {target.where} was taken and released while this run looked; "
        "this run did nothing. Run it again.",
        exit_code=ExitCode.LOCKED,
    )


def _minutes(span: dt.timedelta) -> str:
    seconds = span.total_seconds()
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds:g} s"
