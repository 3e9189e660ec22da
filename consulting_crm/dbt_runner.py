"""`crm build`: run the dbt project (snapshots, seeds, models, tests) on the configured database.

dbt runs in a subprocess of the venv's own ``dbt``: its connection comes from the PG* variables that
``profiles.yml`` reads, which we derive from the resolved target (``DATABASE_URL``, the PG*
variables, or the embedded server), so ``crm build`` and a plain ``dbt build`` use the same profile.
A subprocess also keeps dbt's global state (logging, flags, adapters) out of our process, so several
builds can run one after another, or at the same time from different processes.

Library API (what ``crm build``, ``crm nightly`` and ``crm demo`` share):

- ``run_build(dbt_args, *, environ, echo, target_path, quiet)`` runs ``dbt build``;
- ``run_source_freshness(*, environ, echo, target_path, quiet)`` runs ``dbt source freshness``;
- ``tally_run_results(path)`` counts the result statuses of either run's results artifact.

Both runs return a ``BuildResult``. dbt colours its output only when it writes to a terminal: in a
pipe, a log file or a captured ``quiet`` run the escape codes would show up as ``[0m``-style
fragments, so they are switched off there (and stripped from captured text, whatever dbt did).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from consulting_crm import database as db
from consulting_crm.settings import load_settings
from ingest.errors import CrmError, ExitCode

DBT_PROJECT_DIR = db.PROJECT_ROOT

# Variables that would point libpq (and so dbt) at another server than the resolved target.
_LIBPQ_VARIABLES = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGSERVICE",
)

# ANSI escape sequences: CSI (colours, cursor moves: ESC [ ... final byte) and the two-byte forms.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")

# The statuses dbt writes into run_results.json (build, run, test …) and sources.json (source
# freshness), folded into the counts a summary needs (dbt's own summary line has the same ones:
# PASS, WARN, ERROR, SKIP, NO-OP). Anything else dbt may add later ("partial success") is counted
# under its own name rather than dropped.
_STATUS_TALLY = {
    "success": "success",
    "pass": "success",
    "warn": "warn",
    "error": "error",
    "runtime error": "error",
    "fail": "fail",
    "skipped": "skipped",
    "no-op": "no_op",
}
TALLY_KEYS = ("success", "warn", "error", "fail", "skipped", "no_op")


@dataclass(frozen=True)
class BuildResult:
    """How a dbt run ended.

    ``dbt_exit_code`` is dbt's own, ``exit_code`` the crm one, ``seconds`` the wall time.
    ``run_results`` is the results artifact this run wrote (``run_results.json`` for a build,
    ``sources.json`` for source freshness), or None when dbt stopped before writing one (a
    compile error, a bad command line). ``output`` is dbt's stdout and stderr, without escape
    codes, when the run was ``quiet``; '' when it was streamed to the terminal.
    """

    dbt_exit_code: int
    exit_code: ExitCode
    seconds: float
    run_results: Path | None = None
    output: str = ""
    progress: BuildProgress | None = None


# dbt's resource types, as the phases a person recognises, in the order a build meets them.
_PHASES = {
    "seed": "seeds",
    "snapshot": "snapshots",
    "model": "models",
    "test": "tests",
    "unit_test": "tests",
}
_PHASE_ORDER = ("seeds", "snapshots", "models", "tests")
# dbt events that are not the user's to act on. SnapshotTimestampWarning: from the second build
# on, dbt 1.11 compares the check-strategy snapshots' validity columns (its own snapshot clock,
# timestamp without time zone) with their `updated_at` (timestamptz) and asks to "update snapshot
# config"; casting `updated_at` to timestamp silences it but breaks fct_stage_history's enforced
# timestamptz contract on a new database, and the history it builds is right either way. The
# message stays in dbt's log file.
_NOT_ACTIONABLE = frozenset({"SnapshotTimestampWarning"})
# Results (node_status) that mean a node needs the user's attention.
_PROBLEMS = {"warn": "warn", "error": "error", "fail": "fail", "runtime error": "error"}


@dataclass
class BuildProgress:
    """What a running build has done, from dbt's structured log events (``--log-format json``).

    dbt builds seeds, snapshots, models and tests interleaved in dependency order, so every phase
    advances at once; ``line()`` is the one line a terminal shows while it runs, ``summary()``
    the line per phase printed at the end. ``problems`` keeps each warning and error dbt logged,
    as it worded them, so nothing the user must act on is lost with the rest of the output.
    """

    started: float = field(default_factory=time.perf_counter)
    done: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    finished: int = 0
    total: int = 0
    problems: list[str] = field(default_factory=list)

    def feed(self, event: Mapping[str, object]) -> None:
        info = event.get("info")
        data = event.get("data")
        if not isinstance(info, dict) or not isinstance(data, dict):
            return
        name = str(info.get("name", ""))
        total = data.get("total")
        if name == "LogStartLine" and isinstance(total, int):
            self.total = total
        node = data.get("node_info")
        if name.endswith("Result") and isinstance(node, dict):
            phase = _PHASES.get(str(node.get("resource_type")))
            if phase is not None:
                self.finished += 1
                self.done[phase] += 1
                status = _PROBLEMS.get(str(node.get("node_status")), "ok")
                self.outcomes.setdefault(phase, Counter())[status] += 1
        if name in _NOT_ACTIONABLE:
            return
        if info.get("level") in ("warn", "error") and info.get("msg"):
            self.problems.append(str(info["msg"]).strip())

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def line(self) -> str:
        phases = " · ".join(f"{phase} {self.done[phase]}" for phase in _PHASE_ORDER)
        of = f"{self.finished} of {self.total}" if self.total else f"{self.finished}"
        return f"dbt build: {phases} ({of} done, {self.seconds():.0f} s)"

    def summary(self) -> list[str]:
        lines = []
        for phase in _PHASE_ORDER:
            outcome = self.outcomes.get(phase, Counter())
            if not outcome:
                continue
            count = sum(outcome.values())
            bad = ", ".join(
                f"{outcome[status]} {status}"
                for status in ("warn", "fail", "error")
                if outcome[status]
            )
            lines.append(f"  {phase:<10} {count:>4}  " + (bad or "all ok"))
        return lines


def dbt_executable() -> str:
    """The dbt installed next to this Python (the venv's), else the first on PATH."""
    beside_python = Path(sys.executable).with_name("dbt")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        raise CrmError(
            "dbt is not installed in this environment. Run scripts/bootstrap (or `./crm`) to "
            "install the locked dependencies, which include dbt-core and dbt-postgres."
        )
    return found


def dbt_environment(target: db.Target, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment for dbt: PG* variables describing ``target`` and the profile's location."""
    env = dict(environ)
    if target.kind != "env":
        # DATABASE_URL or the embedded server: replace any PG* settings so dbt reaches the same
        # server as every other crm command.
        for variable in _LIBPQ_VARIABLES:
            env.pop(variable, None)
        env.update(db.libpq_environment(target))
    env["DBT_PROFILES_DIR"] = str(DBT_PROJECT_DIR)
    env["DBT_PROJECT_DIR"] = str(DBT_PROJECT_DIR)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # dbt.log is read with less and grep, never rendered by a terminal: no escape codes in it.
    env.setdefault("DBT_USE_COLORS_FILE", "false")
    return env


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences (colours, cursor moves)."""
    return _ANSI_ESCAPE.sub("", text)


def stdout_wants_colours(environ: Mapping[str, str]) -> bool:
    """Whether dbt, writing to our stdout, should colour its output.

    Only a real terminal renders the codes; a pipe, a file or a CI log shows them as fragments.
    ``NO_COLOR`` (https://no-color.org) and ``TERM=dumb`` switch colours off on a terminal too.
    """
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    # dbt inherits file descriptor 1 itself, whatever sys.stdout has been replaced with.
    try:
        return os.isatty(1)
    except OSError:
        return False


def check_schema_applied(target: db.Target) -> None:
    """Refuse to build on a database without schema.sql: dbt's own error would be obscure."""
    with db.connect(target) as conn:
        version = db.schema_version(conn)
    if version is None:
        raise CrmError(
            f"the database at {target.where} has no CRM schema yet, so there is nothing to build "
            "from. Run `crm db init` first (it creates the tables; an empty database builds fine)."
        )


def run_build(
    dbt_args: Sequence[str] = (),
    *,
    environ: Mapping[str, str] = os.environ,
    echo: Callable[[str], None] = print,
    target_path: Path | None = None,
    quiet: bool = False,
    retry_pause: float = 30.0,
    progress: Callable[[BuildProgress], None] | None = None,
) -> BuildResult:
    """Run ``dbt build`` with extra ``dbt_args`` against the configured database.

    dbt's output goes straight to this process's stdout and stderr, or, with ``quiet``, into
    ``BuildResult.output``. With ``target_path`` dbt's artifacts (manifest, run_results.json,
    compiled SQL) go to that directory and its log to ``target_path / 'logs'``. The result maps
    dbt's exit code to ours: 0 stays 0; anything else (a failed model or test, a compile error) is
    ``ExitCode.BUILD_FAILED``.

    Every node waits at most ``build.lock_timeout`` for a lock (a Power BI refresh reading a table
    the build swaps). A build that fails on a lock timeout runs again after ``retry_pause``
    seconds, up to ``build.lock_retries`` times; when it still fails, the message names the
    sessions holding locks on the tables it could not swap (user, application, client address,
    since when, what they run).

    With ``progress``, dbt's output is captured (as with ``quiet``) and read as structured events:
    ``progress`` is called with the build's :class:`BuildProgress` after each one, and the
    result's ``progress`` holds the final counts and every warning and error dbt logged. dbt's
    log file keeps the full text either way.
    """
    target = db.resolve_target(environ)
    check_schema_applied(target)
    settings = load_settings(environ)
    shown = " ".join(dbt_args)
    echo(f"Building the analytics models at {target.where}: dbt build {shown}".strip())
    # The base currency reaches dbt as the default of its var base_currency (dbt_project.yml), so
    # `--vars '{base_currency: GBP}'` on the command line still overrides it.
    lock_env = {
        "CRM_LOCK_TIMEOUT": settings.lock_timeout,
        "CRM_BASE_CURRENCY": settings.base_currency,
    }
    attempt = 0
    while True:
        tracker = BuildProgress() if progress is not None else None
        result = _run_dbt(
            ["build"],
            dbt_args,
            target,
            environ=environ,
            target_path=target_path,
            quiet=quiet,
            extra_env=lock_env,
            events=_following(tracker, progress) if tracker and progress else None,
        )
        if tracker is not None:
            result = dataclasses.replace(result, progress=tracker)
        if result.exit_code == ExitCode.OK or not _timed_out_on_a_lock(result):
            break
        blockers = describe_lock_holders(target, _relations_that_timed_out(result))
        if attempt >= settings.lock_retries:
            echo(
                f"Build failed after {attempt + 1} attempt(s): it waited {settings.lock_timeout} "
                f"(build.lock_timeout) for a table lock each time. Blocked by {blockers}. Let that "
                "session finish or end it (select pg_terminate_backend(pid)), then run the build "
                "again; Power BI keeps reading the tables of the last successful build."
            )
            return result
        attempt += 1
        echo(
            f"The build waited {settings.lock_timeout} for a table lock, blocked by {blockers}; "
            f"running it again in {retry_pause:g} s (attempt {attempt + 1} of "
            f"{settings.lock_retries + 1})."
        )
        time.sleep(retry_pause)
    if result.exit_code == ExitCode.OK:
        warnings = warned_tests(result.run_results) if result.run_results else []
        if warnings:
            echo(
                f"Build passed with {_count(len(warnings), 'warning')} in {result.seconds:.1f} s: "
                "schema analytics is up to date; "
                + "; ".join(warning.line() for warning in warnings)
            )
        else:
            echo(f"Build passed in {result.seconds:.1f} s: schema analytics is up to date.")
    else:
        echo(
            f"Build failed after {result.seconds:.1f} s (dbt exit code {result.dbt_exit_code}); "
            f"{_where_the_failures_are(result)} Power BI keeps reading the tables of the last "
            "successful build for every model that was not rebuilt."
        )
    return result


def parse_manifest(target_path: Path, *, environ: Mapping[str, str] = os.environ) -> Path:
    """Run ``dbt parse`` (no database needed) and return the manifest.json it wrote.

    ``crm powerbi`` reads the models and their contracts from it.
    """
    target = db.resolve_target(environ, start=False)
    result = _run_dbt(["parse"], [], target, environ=environ, target_path=target_path, quiet=True)
    manifest = target_path / "manifest.json"
    if result.exit_code != ExitCode.OK or not manifest.is_file():
        raise CrmError(
            f"dbt parse failed (exit code {result.dbt_exit_code}), so the models could not be "
            f"read:\n{result.output.strip()}\nCorrect the dbt project and run the command again."
        )
    return manifest


def _following(
    tracker: BuildProgress, progress: Callable[[BuildProgress], None]
) -> Callable[[Mapping[str, object]], None]:
    def feed(event: Mapping[str, object]) -> None:
        tracker.feed(event)
        progress(tracker)

    return feed


def run_source_freshness(
    *,
    environ: Mapping[str, str] = os.environ,
    echo: Callable[[str], None] = print,
    target_path: Path | None = None,
    quiet: bool = False,
) -> BuildResult:
    """Run ``dbt source freshness``: how long ago the operational tables last changed.

    The thresholds are in models/staging/crm/_crm__sources.yml. dbt exits 0 when every source is
    within its ``error_after`` (a ``warn_after`` breach is reported but is still 0, so a quiet
    week does not fail a nightly run); a source past ``error_after`` (or one that cannot be
    queried) gives ``ExitCode.BUILD_FAILED``. The results artifact is ``sources.json``.
    """
    target = db.resolve_target(environ)
    check_schema_applied(target)
    echo(f"Checking source freshness at {target.where}: dbt source freshness")
    result = _run_dbt(
        # Every source: the project's default selector (selectors.yml) is about models.
        ["source", "freshness"],
        ("--select", "source:*"),
        target,
        environ=environ,
        target_path=target_path,
        quiet=quiet,
    )
    if result.exit_code == ExitCode.OK:
        echo(f"Sources are fresh enough ({result.seconds:.1f} s).")
    else:
        echo(
            f"Source freshness failed after {result.seconds:.1f} s (dbt exit code "
            f"{result.dbt_exit_code}); {_where_the_failures_are(result)}"
        )
    return result


def tally_run_results(path: Path) -> dict[str, int]:
    """Count the result statuses in a dbt results artifact.

    Works on ``run_results.json`` (build, run, test, seed, snapshot) and on ``sources.json``
    (source freshness): both list ``results`` with a ``status``. The keys are always ``success``
    (dbt's "success" for models, seeds and snapshots and "pass" for tests and fresh sources),
    ``warn``, ``error`` (including a freshness "runtime error"), ``fail`` (a test that found
    rows), ``skipped`` (downstream of a failure) and ``no_op`` (nodes a build visits without
    running anything: the exposures); any other status is counted under its own name.
    """
    artifact = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(artifact, dict) or not isinstance(artifact.get("results"), list):
        raise ValueError(f"{path} is not a dbt results artifact (it has no 'results' list)")
    counts = Counter(
        _STATUS_TALLY.get(str(result.get("status")), str(result.get("status")))
        for result in artifact["results"]
    )
    tally = dict.fromkeys(TALLY_KEYS, 0)
    tally.update(counts)
    return tally


def _run_dbt(
    subcommand: Sequence[str],
    dbt_args: Sequence[str],
    target: db.Target,
    *,
    environ: Mapping[str, str],
    target_path: Path | None,
    quiet: bool,
    extra_env: Mapping[str, str] | None = None,
    events: Callable[[Mapping[str, object]], None] | None = None,
) -> BuildResult:
    """Run one dbt command and map its exit code (0 stays OK, anything else BUILD_FAILED).

    With ``events``, dbt writes its console log as JSON lines (its log file stays text): each
    event goes to ``events`` as it arrives, and the captured output is its messages as text.
    """
    if target_path is not None and _option_value(dbt_args, "--target-path") is not None:
        raise ValueError("give the target path either as target_path or in dbt_args, not both")
    command = [dbt_executable(), *subcommand, "--project-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        command += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    env = dbt_environment(target, environ)
    env.update(extra_env or {})
    if quiet:
        # Captured text is for reading back (a summary, a mail, a test): never coloured.
        env["DBT_USE_COLORS"] = "false"
    elif "DBT_USE_COLORS" not in environ and not stdout_wants_colours(environ):
        # A --use-colors in dbt_args still wins over this, as dbt reads its command line first.
        env["DBT_USE_COLORS"] = "false"
    if events is not None:
        command += ["--log-format", "json", "--log-format-file", "text"]
    command += dbt_args
    artifact = _results_artifact(subcommand, dbt_args, env, target_path)
    started_at = time.time()
    started = time.perf_counter()
    if events is not None:
        env["DBT_USE_COLORS"] = "false"
        returncode, output = _run_with_events(command, env, events)
    elif quiet:
        completed = subprocess.run(
            command,
            env=env,
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        returncode, output = completed.returncode, strip_ansi(completed.stdout)
    else:
        returncode, output = subprocess.run(command, env=env, check=False).returncode, ""
    seconds = time.perf_counter() - started
    written = _written_since(artifact, started_at)
    code = ExitCode.OK if returncode == 0 else ExitCode.BUILD_FAILED
    return BuildResult(returncode, code, seconds, written, output)


def _run_with_events(
    command: Sequence[str], env: Mapping[str, str], events: Callable[[Mapping[str, object]], None]
) -> tuple[int, str]:
    """Run dbt with JSON console logs; hand each event on; return its exit code and its text."""
    lines: list[str] = []
    with subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
            if not isinstance(event, dict) or not isinstance(event.get("info"), dict):
                lines.append(strip_ansi(raw.rstrip("\n")))  # not an event: a Python warning …
                continue
            info = event["info"]
            stamp = str(info.get("ts", ""))[11:19]
            lines.append(f"{stamp}  {strip_ansi(str(info.get('msg', '')))}".rstrip())
            events(event)
    return process.returncode, "\n".join(lines) + "\n"


def _results_artifact(
    subcommand: Sequence[str],
    dbt_args: Sequence[str],
    env: Mapping[str, str],
    target_path: Path | None,
) -> Path:
    """Where dbt will write this command's results: the same rules dbt itself follows."""
    directory: Path | None = target_path
    if directory is None:
        flagged = _option_value(dbt_args, "--target-path") or env.get("DBT_TARGET_PATH")
        directory = Path(flagged) if flagged else Path("target")
    # dbt resolves a relative target path against the project directory, not the cwd.
    directory = DBT_PROJECT_DIR / directory
    name = "sources.json" if list(subcommand) == ["source", "freshness"] else "run_results.json"
    return directory / name


def _option_value(args: Sequence[str], option: str) -> str | None:
    """The last value given to ``option`` in ``args`` (``--opt value`` or ``--opt=value``)."""
    value: str | None = None
    for index, arg in enumerate(args):
        if arg == option and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith(option + "="):
            value = arg.split("=", 1)[1]
    return value


def _written_since(artifact: Path, started_at: float) -> Path | None:
    """``artifact`` if this run wrote it; a stale one from an earlier run does not count."""
    try:
        modified = artifact.stat().st_mtime
    except FileNotFoundError:
        return None
    # One second of slack for file systems with coarse timestamps.
    return artifact if modified >= started_at - 1 else None


def _where_the_failures_are(result: BuildResult) -> str:
    """A pointer to what failed: dbt's own listing above, or, when captured, the failing nodes."""
    if not result.output:
        return "the failing models or tests are listed above."
    failing = _failing_nodes(result.run_results) if result.run_results else []
    if failing:
        shown = ", ".join(failing[:10]) + (" …" if len(failing) > 10 else "")
        return f"failing: {shown}."
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    return "dbt's last words: " + " / ".join(lines[-3:]) if lines else "dbt printed nothing."


@dataclass(frozen=True)
class WarnedTest:
    """A data test that found rows but only warns: its name, how many rows, and what it means."""

    test: str
    failing_rows: int
    meaning: str

    def line(self) -> str:
        if self.test.startswith("freshness of "):
            return f"{self.test}: {self.meaning}"
        return f"{self.test} ({_count(self.failing_rows, 'row')}): {self.meaning}"

    def as_dict(self) -> dict[str, object]:
        return {"test": self.test, "failing_rows": self.failing_rows, "meaning": self.meaning}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def warned_tests(path: Path) -> list[WarnedTest]:
    """Every test that ended in ``warn`` in a results artifact, with its one line of meaning.

    The meaning is the test's description (data-tests/_data_tests.yml for our singular tests),
    else what a generic test checks on which model and column, read from the manifest dbt wrote
    next to the results.
    """
    try:
        artifact = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    results = artifact.get("results", [])
    # A source freshness run (sources.json): a table quiet past its warn_after warns too.
    stale = [
        WarnedTest(
            test="freshness of " + ".".join(str(result["unique_id"]).split(".")[2:]),
            failing_rows=0,
            meaning=_quiet_for(result.get("max_loaded_at_time_ago_in_s")),
        )
        for result in results
        if str(result.get("status")) == "warn"
        and str(result.get("unique_id", "")).startswith("source.")
    ]
    warned = [
        result
        for result in results
        if str(result.get("status")) == "warn"
        and str(result.get("unique_id", "")).startswith("test.")
    ]
    if not warned:
        return stale
    try:
        nodes = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        nodes = {}
    warnings = []
    for result in warned:
        unique_id = str(result["unique_id"])
        node = nodes.get(unique_id, {})
        name = str(node.get("name") or unique_id.split(".")[2])
        failures = result.get("failures")
        warnings.append(
            WarnedTest(
                test=name,
                failing_rows=int(failures) if isinstance(failures, int) else 0,
                meaning=_meaning(node),
            )
        )
    return [*stale, *warnings]


def _quiet_for(seconds: object) -> str:
    if isinstance(seconds, int | float) and seconds < 10**9:
        return (
            f"no row added or changed for {float(seconds) / 86400:.0f} days; a quiet table is "
            "worth a look (has its import stopped?)."
        )
    return "the table has no rows to date it by."


def _meaning(node: Mapping[str, object]) -> str:
    description = " ".join(str(node.get("description") or "").split())
    if description:
        return description
    metadata = node.get("test_metadata")
    if isinstance(metadata, dict):
        model = str(node.get("attached_node") or "").split(".")[-1]
        column = str(node.get("column_name") or "")
        where = ".".join(part for part in (model, column) if part) or "the model"
        return f"the {metadata.get('name')} check on {where} found rows."
    return "the test found rows; see dbt's log for them."


def _failing_nodes(path: Path) -> list[str]:
    """The unique ids of the nodes that errored or failed in a results artifact."""
    artifact = json.loads(path.read_text(encoding="utf-8"))
    return [
        str(result.get("unique_id"))
        for result in artifact.get("results", [])
        if _STATUS_TALLY.get(str(result.get("status"))) in ("error", "fail")
    ]


# ---------------------------------------------------------------------------------------------
# Lock timeouts: which sessions held the tables the build could not swap
# ---------------------------------------------------------------------------------------------

_LOCK_TIMEOUT_MESSAGE = "canceling statement due to lock timeout"


def _timed_out_on_a_lock(result: BuildResult) -> bool:
    """Whether the run failed because a node waited longer than its lock_timeout."""
    if result.run_results is not None:
        artifact = json.loads(result.run_results.read_text(encoding="utf-8"))
        for node in artifact.get("results", []):
            if _LOCK_TIMEOUT_MESSAGE in str(node.get("message") or ""):
                return True
    return _LOCK_TIMEOUT_MESSAGE in result.output


def _relations_that_timed_out(result: BuildResult) -> list[str]:
    """The relations (as dbt quotes them) of the nodes that failed on a lock timeout."""
    if result.run_results is None:
        return []
    artifact = json.loads(result.run_results.read_text(encoding="utf-8"))
    return [
        str(node["relation_name"])
        for node in artifact.get("results", [])
        if _LOCK_TIMEOUT_MESSAGE in str(node.get("message") or "") and node.get("relation_name")
    ]


def describe_lock_holders(target: db.Target, relations: Sequence[str]) -> str:
    """The sessions holding locks on ``relations`` (else on any table of schema analytics).

    One phrase per session: pid, user, application_name, client address, when its transaction
    and query started, and the start of its query, so the owner of a Power BI refresh (or a psql
    left open) can be found and asked, or ended with pg_terminate_backend.
    """
    query = """
        select a.pid, a.usename, a.application_name, a.client_addr::text,
               a.xact_start, a.query_start, a.state,
               left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80),
               string_agg(distinct n.nspname || '.' || c.relname, ', ')
        from pg_locks l
        join pg_class c on c.oid = l.relation
        join pg_namespace n on n.oid = c.relnamespace
        join pg_stat_activity a on a.pid = l.pid
        where l.granted
          and l.database = (select oid from pg_database where datname = current_database())
          and a.pid <> pg_backend_pid()
          and c.relkind in ('r', 'v', 'm', 'p')
          and (c.oid = any(%(relations)s::regclass[])
               or (cardinality(%(relations)s::regclass[]) = 0 and n.nspname = 'analytics'))
        group by 1, 2, 3, 4, 5, 6, 7, 8
        order by a.xact_start nulls last
    """
    try:
        with db.connect(target, autocommit=True) as conn:
            known = [
                name
                for name in relations
                if (row := conn.execute("select to_regclass(%s)::text", (name,)).fetchone())
                and row[0]
            ]
            rows = conn.execute(query, {"relations": known}).fetchall()  # type: ignore[arg-type]
    except Exception as exc:  # the failure message matters more than this detail
        return f"a session that could not be identified ({exc})"
    if not rows:
        return "a session that has ended since (run the build again)"
    phrases = []
    for pid, user, application, client, xact_start, query_start, state, text, tables in rows[:5]:
        since = (
            (xact_start or query_start).strftime("%Y-%m-%d %H:%M:%S")
            if (xact_start or query_start)
            else "?"
        )
        phrases.append(
            f"pid {pid} (user {user}, application {application or '-'}, client "
            f"{client or 'local socket'}, transaction open since {since}, {state}: {text!r}) "
            f"on {tables}"
        )
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return "; ".join(phrases) + more
