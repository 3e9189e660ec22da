"""`crm nightly`: the unattended run for cron or a systemd timer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consulting_crm.cli.output import console
from ingest.errors import ExitCode

# Extra arguments are passed on to dbt build.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def nightly_command(
    ctx: typer.Context,
    inbox: Annotated[
        Path,
        typer.Option(
            metavar="DIR", help="Folder new exports are dropped into.", show_default=False
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD", help="Compute the figures as of this date (default: today)."
        ),
    ] = None,
    settle_seconds: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Leave files changed more recently than this for the next run."
        ),
    ] = 60.0,
) -> None:
    """For cron: import the inbox's new files, build, check freshness, write a run summary.

    Imported files move to INBOX/archive/RUN/, failed ones to INBOX/failed/RUN/ with a
    NAME.reason.txt. Summaries and dbt logs go to the nightly.runs_dir setting's folder (default
    CRM_HOME/runs): RUN.json, RUN.txt, latest.txt; the newest nightly.keep_runs runs are kept.
    Extra arguments go to dbt build. Exit code 0 only when everything passed; otherwise 4 rows
    rejected, 5 a file failed, 6 the build or source freshness failed, 7 another run holds the
    lock.
    """
    import datetime as dt

    from consulting_crm.nightly import run_nightly

    if as_of is not None:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError as exc:
            raise typer.BadParameter("write it as YYYY-MM-DD", param_hint="--as-of") from exc
    run = run_nightly(
        inbox,
        dbt_args=ctx.args,
        as_of_date=as_of,
        settle_seconds=settle_seconds,
        console=console,
    )
    console.print(Path(run.summary_text).read_text(encoding="utf-8"), markup=False, highlight=False)
    if run.exit_code != ExitCode.OK:
        raise typer.Exit(run.exit_code)
