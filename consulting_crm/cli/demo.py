"""`crm demo`: the whole product on an invented consultancy's exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consulting_crm.cli.output import console
from ingest.errors import ExitCode


def demo_command(
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Folder for the generated exports and the report.")
    ] = Path("demo"),
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the invented practice.")] = 7,
    scale: Annotated[
        int,
        typer.Option(
            min=1, metavar="N", help="Multiply every volume (clients, people, mail) by N."
        ),
    ] = 1,
    allow_existing: Annotated[
        bool,
        typer.Option(
            "--allow-existing", help="Import into a database that already holds other data."
        ),
    ] = False,
) -> None:
    """From nothing to dashboards: schema, a consultancy's exports, import, build, figures, report.

    Uses an embedded PostgreSQL of its own (in $CRM_HOME/demo, apart from your own CRM) unless
    DATABASE_URL (or PG*) names a server. Safe to run again: the same files are recognised and
    nothing changes.
    """
    from consulting_crm.demo.run import run_demo

    run = run_demo(out, seed=seed, scale=scale, allow_existing=allow_existing, console=console)
    if run.exit_code != ExitCode.OK:
        raise typer.Exit(int(run.exit_code))
