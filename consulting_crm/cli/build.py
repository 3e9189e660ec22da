"""`crm build`: dbt build against the configured database."""

from __future__ import annotations

import typer

from consulting_crm.cli.output import console
from ingest.errors import ExitCode

# Extra arguments are passed on to dbt build.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def build_command(ctx: typer.Context) -> None:
    """Run dbt build (snapshots, seeds, models, tests) into schema `analytics`, which Power BI
    reads; docs/metrics.md explains every figure.

    Extra arguments go to dbt, e.g. `crm build --select marts --vars '{as_of_date: 2025-06-30}'`.
    Exits with 6 when a model or test fails.
    """
    from consulting_crm.dbt_runner import run_build

    result = run_build(
        ctx.args, echo=lambda line: console.print(line, markup=False, soft_wrap=True)
    )
    if result.exit_code != ExitCode.OK:
        raise typer.Exit(int(result.exit_code))
