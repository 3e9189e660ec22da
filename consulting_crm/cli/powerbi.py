"""`crm powerbi`: a Power BI project (PBIP) with the model, the measures and the report pages."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from consulting_crm.cli.output import console


def powerbi_command(
    outdir: Annotated[
        Path, typer.Argument(metavar="OUTDIR", help="Folder for the project (default: powerbi).")
    ] = Path("powerbi"),
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite files changed since crm powerbi wrote them."),
    ] = False,
) -> None:
    """Write a Power BI project (ConsultingCRM.pbip): model, measures and report pages for the
    analytics models; see docs/power-bi.md.

    The semantic model comes from the dbt project (every model in schema analytics, its
    contract's column types and its docs), with the relationships and DAX measures of
    docs/power-bi.md; the report has the pages of the HTML report. Two parameters, Server and
    Database, are set to this CRM's connection (`crm db serve`'s address for the embedded
    server). Open the .pbip in Power BI Desktop, sign in with a reader login (`crm db
    create-reader`) and Refresh. Refuses to overwrite files edited since it wrote them unless
    --force.
    """
    from consulting_crm.dbt_runner import parse_manifest
    from consulting_crm.powerbi import project_from_manifest
    from consulting_crm.powerbi.project import current_connection, refuse_hand_edits

    if not force:
        refuse_hand_edits(outdir)  # before dbt parse: a refusal should not take seconds
    with tempfile.TemporaryDirectory(prefix="crm-powerbi-") as scratch:
        manifest = parse_manifest(Path(scratch) / "target")
        written = project_from_manifest(outdir, manifest, force=force)
    console.print(
        f"Power BI project written to {written.resolve()}: open "
        f"{(written / 'ConsultingCRM.pbip').resolve()} in Power BI Desktop, sign in with a reader "
        "login (crm db create-reader) and Refresh.",
        highlight=False,
    )
    connection = current_connection()
    console.print(
        f"Its parameters: Server {connection.server}, Database {connection.database} (to change "
        "them in Power BI Desktop: Transform data → Edit parameters).",
        highlight=False,
    )
