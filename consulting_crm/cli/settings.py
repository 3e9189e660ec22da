"""`crm config show|set|unset`: settings stated once, in config.toml."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from consulting_crm.cli.output import console
from ingest.errors import CrmError

config_app = typer.Typer(
    help="Settings you state once (config.toml), such as your own mail addresses.",
    no_args_is_help=True,
)


@config_app.command("show")
def config_show() -> None:
    """Show where the settings file is and every setting with its value."""
    from consulting_crm.settings import KEYS, config_path, read_values

    path = config_path()
    values = read_values(path)
    console.print(f"Settings file: {path}" + ("" if path.exists() else " (not created yet)"))
    table = Table()
    table.add_column("setting")
    table.add_column("value")
    table.add_column("what it does", overflow="fold")
    for name, (_, meaning) in KEYS.items():
        value = values.get(name)
        if value is None:
            shown = "(not set)"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, list):
            shown = ", ".join(value)
        else:
            shown = str(value)
        table.add_row(name, shown, meaning)
    console.print(table)


@config_app.command("set")
def config_set(
    name: Annotated[str, typer.Argument(help="Setting, e.g. mail.owner_emails.")],
    values: Annotated[
        list[str], typer.Argument(metavar="VALUE", help="Value(s); lists take several.")
    ],
) -> None:
    """Set a setting, e.g. `crm config set mail.owner_emails me@firm.com me@gmail.com`."""
    from consulting_crm.settings import config_path, parse_value, read_values, write_values

    path = config_path()
    current = read_values(path)
    current[name] = parse_value(name, values)
    write_values(path, current)
    console.print(f"{name} set in {path}.")


@config_app.command("unset")
def config_unset(
    name: Annotated[str, typer.Argument(help="Setting to remove (back to its default).")],
) -> None:
    """Remove a setting, so its default applies again."""
    from consulting_crm.settings import KEYS, config_path, read_values, write_values

    if name not in KEYS:
        raise CrmError(f"unknown setting {name!r}; known settings: {', '.join(KEYS)}.")
    path = config_path()
    current = read_values(path)
    current.pop(name, None)
    write_values(path, current)
    console.print(f"{name} removed from {path}.")
