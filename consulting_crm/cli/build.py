"""`crm build`: dbt build against the configured database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from consulting_crm.cli.output import console
from ingest.errors import ExitCode

if TYPE_CHECKING:
    from consulting_crm.dbt_runner import BuildResult

# Extra arguments are passed on to dbt build.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def build_command(
    ctx: typer.Context,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="Show dbt's own output, a line per model and test."),
    ] = False,
) -> None:
    """Run dbt build (snapshots, seeds, models, tests) into schema `analytics`, which Power BI
    reads; docs/metrics.md explains every figure.

    Shows one line of progress and, at the end, a line per phase with every warning and error
    dbt reported; dbt's full output is in its log file (and on screen with --verbose).
    Extra arguments go to dbt, e.g. `crm build --select marts --vars '{as_of_date: 2025-06-30}'`.
    Exits with 6 when a model or test fails.
    """
    from consulting_crm.dbt_runner import run_build

    def echo(line: str) -> None:
        console.print(line, markup=False, soft_wrap=True, highlight=False)

    if verbose:
        result = run_build(ctx.args, echo=echo)
    else:
        with console.status("dbt build: starting …") as status:
            result = run_build(ctx.args, echo=echo, progress=lambda p: status.update(p.line()))
        show_build_outcome(result)
    if result.exit_code != ExitCode.OK:
        raise typer.Exit(int(result.exit_code))


def show_build_outcome(result: BuildResult) -> None:
    """The line per phase and dbt's warnings and errors, after a build run with progress."""
    if result.progress is None:
        return
    for line in result.progress.summary():
        console.print(line, markup=False, highlight=False)
    if result.progress.problems:
        console.print("dbt reported:", style="bold")
        for problem in dict.fromkeys(result.progress.problems):
            console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
