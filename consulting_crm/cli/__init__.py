"""The crm command: the one place where its commands are registered, in the order a newcomer
meets them (``crm --help`` lists them so). Each command lives in a module of this package, as a
thin layer over the application that prints tables and turns errors into one line and an exit
code."""

from __future__ import annotations

import typer

from consulting_crm.cli.build import CONTEXT_SETTINGS as BUILD_CONTEXT
from consulting_crm.cli.build import build_command
from consulting_crm.cli.database import db_app
from consulting_crm.cli.demo import demo_command
from consulting_crm.cli.exports import export_app
from consulting_crm.cli.imports import import_command
from consulting_crm.cli.nightly import CONTEXT_SETTINGS as NIGHTLY_CONTEXT
from consulting_crm.cli.nightly import nightly_command
from consulting_crm.cli.output import EXIT_CODES_HELP, err_console
from consulting_crm.cli.powerbi import powerbi_command
from consulting_crm.cli.profiles import profile_app
from consulting_crm.cli.relink import relink_command
from consulting_crm.cli.report import report_command
from consulting_crm.cli.settings import config_app
from ingest.errors import CrmError, ExitCode
from ingest.results import readable


def _readable_help() -> None:
    """Help that reads like a manual page: `--entity ENTITY`, not `--entity <str>`.

    typer prints every parameter's Python type (`<bool>` beside each flag and `--help`,
    `<list[Path]>`); a user needs the value's name, and nothing for a flag. Its help renderer asks
    each parameter for that text (`display_type_rich`), so this is where it is answered. Tested by
    tests/consulting_crm/test_cli.py on every command's help.
    """
    from typer.core import TyperArgument, TyperOption

    def option_text(self: TyperOption, ctx: object) -> str | None:
        if self.metavar is not None:
            return self.metavar
        if self.is_flag or self.count:
            return None
        return (self.name or "value").upper()

    def argument_text(self: TyperArgument, ctx: object) -> str | None:
        return None  # the argument's name (PATH, NAME …) already stands in the first column

    TyperOption.display_type_rich = option_text  # type: ignore[method-assign,assignment]
    TyperArgument.display_type_rich = argument_text  # type: ignore[method-assign,assignment]


_readable_help()

app = typer.Typer(
    name="crm",
    help="Consulting CRM: a PostgreSQL system of record, importers and dbt analytics.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Docstrings are written in paragraphs; markdown mode flows each one to the terminal's width
    # instead of breaking lines where the source does.
    rich_markup_mode="markdown",
)

# The first day: the demo, bringing files in, building and looking at the figures; then the
# nightly run; then the groups (the database, settings, exports).
app.command("demo")(demo_command)
app.command("import", no_args_is_help=True)(import_command)
app.command("relink")(relink_command)
app.command("build", context_settings=BUILD_CONTEXT)(build_command)
app.command("report")(report_command)
app.command("powerbi")(powerbi_command)
app.command("nightly", context_settings=NIGHTLY_CONTEXT)(nightly_command)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(export_app, name="export")
app.add_typer(profile_app, name="profile")

COMMAND_ORDER = tuple(command.name for command in app.registered_commands)
GROUP_ORDER = tuple(group.name for group in app.registered_groups)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the crm command: run the app and map user errors to one line and a code."""
    try:
        app(args=argv, prog_name="crm")
    except CrmError as exc:
        # readable(): a message may name a file whose name is not UTF-8 (surrogate escapes),
        # which the terminal would refuse with a traceback instead of the one line.
        err_console.print("[bold red]error:[/] ", end="", highlight=False)
        err_console.print(readable(str(exc)), highlight=False, soft_wrap=True, markup=False)
        return int(exc.exit_code)
    except SystemExit as exc:  # click ends every run this way, with the command's exit code
        if exc.code is None:
            return int(ExitCode.OK)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.BUG)
    return int(ExitCode.OK)
