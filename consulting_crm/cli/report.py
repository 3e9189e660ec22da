"""`crm report`: the self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consulting_crm import database as db
from consulting_crm.cli.output import console


def report_command(
    out: Annotated[Path, typer.Option(metavar="FILE", help="Where to write the HTML file.")] = Path(
        "crm-report.html"
    ),
) -> None:
    """Write a self-contained HTML report (opens offline) from the analytics models."""
    from consulting_crm.report import write_report

    target = db.resolve_target()
    with db.connect(target) as conn:
        written = write_report(conn, out)
    console.print(f"Report written to {written.resolve()}")
