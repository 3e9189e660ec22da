"""`crm profile`: the mapping profiles, built-in and your own (in $CRM_HOME/profiles).

A thin layer over :mod:`ingest.profiles` (reading and checking them) and :mod:`ingest.mapping`
(making one from a file); `crm import --save-profile` saves through the same function.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from consulting_crm.cli.output import console
from consulting_crm.settings import profiles_dir
from ingest.entities import DATE_ORDERS, ENTITIES
from ingest.errors import CrmError
from ingest.options import ImportOptions
from ingest.readers import SPREADSHEET_SUFFIXES

profile_app = typer.Typer(
    help="Mapping profiles: list, show, make one from a file, edit yours. Yours live in "
    "$CRM_HOME/profiles/NAME.toml and `crm import` finds them by the file's headers.",
    no_args_is_help=True,
)


def save_profile_before_import(
    files: list[Path], options: ImportOptions, name: str
) -> ImportOptions:
    """Save the mapping of the one spreadsheet in ``files`` as profile ``name``; the import then
    runs with that profile, so its records are marked as coming from it, as later imports are."""
    from ingest.mapping import save_profile_for_file

    sheets = [path for path in files if path.suffix.lower() in SPREADSHEET_SUFFIXES]
    if len(sheets) != 1:
        raise CrmError(
            f"--save-profile needs exactly one spreadsheet (found {len(sheets)}); import the "
            "others with the saved profile afterwards."
        )
    saved, mapping = save_profile_for_file(sheets[0], options, name)
    console.print(
        f"saved profile {name} ({mapping.entity}, {len(mapping.targets)} columns) to {saved}",
        highlight=False,
        markup=False,
    )
    return dataclasses.replace(options, profile=name, overrides=None)


@profile_app.command("list")
def list_command() -> None:
    """List every profile: yours first (they are tried first), then the built-in ones."""
    from ingest.profiles import load_profiles

    table = Table(title="Mapping profiles")
    table.add_column("name", no_wrap=True)
    table.add_column("loads")
    table.add_column("where", overflow="fold")
    table.add_column("description", overflow="fold")
    for profile in load_profiles(profiles_dir()):
        kinds = ", ".join(dict.fromkeys(variant.entity for variant in profile.variants))
        table.add_row(profile.name, kinds, profile.origin, profile.description)
    console.print(table)


@profile_app.command("show")
def show_command(name: Annotated[str, typer.Argument(help="A profile's name.")]) -> None:
    """Print a profile's file (a built-in one is a good start for your own)."""
    from ingest.profiles import PROFILE_NAMES, get_profile

    profile = get_profile(name, profiles_dir())
    if profile.path is not None:
        text = profile.path.read_text(encoding="utf-8")
    else:
        assert name in PROFILE_NAMES
        text = resources.files("ingest.profiles").joinpath(f"{name}.toml").read_text("utf-8")
    console.print(f"# {profile.origin}", highlight=False, markup=False)
    console.print(text, highlight=False, markup=False, end="")


@profile_app.command("new")
def new_command(
    name: Annotated[str, typer.Argument(help="The new profile's name, e.g. my_pipeline.")],
    source: Annotated[
        Path,
        typer.Option("--from", metavar="FILE", help="A spreadsheet of the kind it is for."),
    ],
    entity: Annotated[
        str | None, typer.Option(help=f"Load as this entity: {', '.join(ENTITIES)}.")
    ] = None,
    profile: Annotated[
        str, typer.Option(help="Start from this profile (default: the one that fits).")
    ] = "auto",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="HEADER=FIELD", help="As in `crm import`."),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option("--value", metavar="FIELD:THEIRS=OURS", help="As in `crm import`."),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option("--date-format", help=f"Order in dates: {', '.join(DATE_ORDERS)}."),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet to read.")] = None,
    create_accounts: Annotated[
        bool,
        typer.Option(
            "--create-accounts",
            help="As in `crm import`: clients that are no account yet become accounts "
            "(projects and contacts).",
        ),
    ] = False,
) -> None:
    """Make your profile NAME from a spreadsheet and the mapping options; nothing is imported."""
    from ingest.mapping import parse_overrides, save_profile_for_file

    if not source.is_file():
        raise CrmError(f"{source}: no such file. Check the path and try again.")
    if date_format is not None and date_format.upper() not in DATE_ORDERS:
        raise typer.BadParameter(
            f"{date_format!r} is not one of {', '.join(DATE_ORDERS)}", param_hint="--date-format"
        )
    overrides = parse_overrides(map_ or [], value or [])
    options = ImportOptions(
        entity=entity,
        profile=profile,
        date_format=date_format.upper() if date_format else None,
        sheet=sheet,
        profile_dir=profiles_dir(),
        overrides=overrides or None,
        create_accounts=create_accounts,
    )
    saved, mapping = save_profile_for_file(source, options, name)
    console.print(
        f"saved profile {name} ({mapping.entity}, {len(mapping.targets)} columns) to {saved}",
        highlight=False,
        markup=False,
    )


@profile_app.command("edit")
def edit_command(name: Annotated[str, typer.Argument(help="One of your profiles.")]) -> None:
    """Open your profile NAME in $VISUAL or $EDITOR (else vi), then check it."""
    from ingest.profiles import PROFILE_SUFFIX, check_profile_name, read_profile_file

    check_profile_name(name)
    path = profiles_dir() / f"{name}{PROFILE_SUFFIX}"
    if not path.is_file():
        raise CrmError(
            f"{path}: you have no profile {name}; make one with `crm profile new {name} "
            "--from FILE` or `crm import FILE --save-profile NAME`."
        )
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    finished = subprocess.run([*shlex.split(editor), str(path)], check=False)
    if finished.returncode != 0:
        raise CrmError(f"the editor ({editor}) ended with exit code {finished.returncode}.")
    try:
        read_profile_file(path)
    except CrmError as exc:
        raise CrmError(
            f"{exc} The file is kept as you left it; run `crm profile edit {name}` again."
        ) from exc
    console.print(f"profile {name} is valid ({path})", highlight=False, markup=False)
