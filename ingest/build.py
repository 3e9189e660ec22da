"""`crm build`: run the dbt project (snapshots, seeds, models, tests) on the configured database.

dbt runs in a subprocess of the venv's own ``dbt``: its connection comes from the PG* variables that
``profiles.yml`` reads, which we derive from the resolved target (``DATABASE_URL``, the PG*
variables, or the embedded server), so ``crm build`` and a plain ``dbt build`` use the same profile.
A subprocess also keeps dbt's global state (logging, flags, adapters) out of our process, so several
builds can run one after another, or at the same time from different processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest import db
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


@dataclass(frozen=True)
class BuildResult:
    """How a build ended: dbt's own exit code, the crm exit code, and how long it took."""

    dbt_exit_code: int
    exit_code: ExitCode
    seconds: float


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
    return env


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
) -> BuildResult:
    """Run ``dbt build`` with extra ``dbt_args`` against the configured database.

    dbt's output goes straight to this process's stdout and stderr. The result maps dbt's exit
    code to ours: 0 stays 0; anything else (a failed model or test, a compile error) is
    ``ExitCode.BUILD_FAILED``.
    """
    target = db.resolve_target(environ)
    check_schema_applied(target)
    command = [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT_DIR), *dbt_args]
    echo(f"Building the analytics models at {target.where}: dbt build {' '.join(dbt_args)}".strip())
    started = time.perf_counter()
    completed = subprocess.run(command, env=dbt_environment(target, environ), check=False)
    seconds = time.perf_counter() - started
    if completed.returncode == 0:
        echo(f"Build passed in {seconds:.1f} s: schema analytics is up to date.")
        return BuildResult(0, ExitCode.OK, seconds)
    echo(
        f"Build failed after {seconds:.1f} s (dbt exit code {completed.returncode}); the failing "
        "models or tests are listed above. Power BI keeps reading the tables of the last "
        "successful build for every model that was not rebuilt."
    )
    return BuildResult(completed.returncode, ExitCode.BUILD_FAILED, seconds)
