"""The README's command table and exit codes, generated from the command line itself.

README.md and docs/importing.md embed the output of these functions between cog markers, so the
docs cannot drift from the code: ``./lint`` fails when they are stale, and
``.venv/bin/cog -r README.md docs/importing.md`` rewrites them. Everything shown comes from the
registered commands (names, arguments, options, the first paragraph of each docstring) and from
:class:`ingest.errors.ExitCode`; a ``docs/NAME.md`` a docstring mentions becomes a link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import typer
import typer.core
import typer.main

from ingest.errors import ExitCode

# A command's usage shows every option when it has at most this many; past that it shows
# [OPTIONS] and names them in the description, so one row stays readable.
MOST_OPTIONS_IN_USAGE = 4

# The commands that take extra arguments (crm build, crm nightly) hand them to dbt; a test checks
# that each such command says so in its help.
EXTRA_ARGS = "[dbt args…]"

_DOC_LINK = re.compile(r"\bdocs/[\w.-]+\.md(?:#[\w-]+)?")


def commands_table(app: typer.Typer | None = None) -> str:
    """A Markdown table with one row per command, in the order ``crm --help`` lists them.

    A group (``crm db``, ``crm config``, ``crm export``) gets one row per subcommand. Each row is
    the command's usage and the first paragraph of its help.
    """
    rows = ["| command | what it does |", "|---|---|"]
    for path, command in walk_commands(app):
        usage = " ".join(["crm", *path, *usage_pieces(command)])
        rows.append(f"| `{_cell(usage)}` | {_cell(summary(command))} |")
    return "\n".join(rows) + "\n"


def exit_codes_text() -> str:
    """Every exit code in one Markdown sentence, e.g. "Exit codes: `0` ok; … `7` …"."""
    return "Exit codes: " + "; ".join(f"`{code.value}` {code.meaning}" for code in ExitCode) + "."


def exit_codes_table(*codes: ExitCode) -> str:
    """A Markdown table of the given exit codes (all of them when none are given)."""
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| {code.value} | {_cell(code.meaning)} |" for code in codes or tuple(ExitCode)]
    return "\n".join(rows) + "\n"


def walk_commands(
    app: typer.Typer | None = None,
) -> Iterator[tuple[tuple[str, ...], typer.core.TyperCommand]]:
    """Every runnable command as (its words after ``crm``, the command), in registration order."""
    if app is None:
        from consulting_crm.cli import app as crm_app

        app = crm_app
    root = typer.main.get_command(app)
    if not isinstance(root, typer.core.TyperGroup):  # an app of one command has no subcommands
        raise TypeError("the crm app is a group of commands")
    yield from _walk(root, ())


def usage_pieces(command: typer.core.TyperCommand) -> list[str]:
    """The words after the command's name: arguments, then options, then extra arguments."""
    options = _options(command)
    arguments = [param for param in command.params if isinstance(param, typer.core.TyperArgument)]
    pieces = [_argument_usage(argument) for argument in arguments if not argument.hidden]
    if len(options) > MOST_OPTIONS_IN_USAGE:
        pieces.append("[OPTIONS]")
    else:
        pieces += [_option_usage(option) for option in options]
    if command.context_settings.get("allow_extra_args"):
        pieces.append(EXTRA_ARGS)
    return pieces


def summary(command: typer.core.TyperCommand) -> str:
    """The first paragraph of the command's help on one line, with its options named when the
    usage leaves them out and each docs/NAME.md it mentions as a link."""
    first_paragraph = (command.help or "").strip().split("\n\n", 1)[0]
    text = " ".join(first_paragraph.split())
    text = _DOC_LINK.sub(lambda match: f"[{match[0]}]({match[0]})", text)
    options = _options(command)
    if len(options) > MOST_OPTIONS_IN_USAGE:
        text += " Options: " + ", ".join(f"`{_flag(option)}`" for option in options) + "."
    return text


def _walk(
    group: typer.core.TyperGroup, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], typer.core.TyperCommand]]:
    context = typer.Context(group, info_name=path[-1] if path else "crm")
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        if isinstance(command, typer.core.TyperGroup):
            yield from _walk(command, (*path, name))
        elif isinstance(command, typer.core.TyperCommand):
            yield (*path, name), command


def _options(command: typer.core.TyperCommand) -> list[typer.core.TyperOption]:
    return [
        param
        for param in command.params
        if isinstance(param, typer.core.TyperOption) and not param.hidden
    ]


def _option_usage(option: typer.core.TyperOption) -> str:
    if option.is_flag:
        usage = _flag(option)
    else:
        usage = f"{_flag(option)} {option.metavar or option.name.upper()}"
    if option.multiple:
        usage += "…"
    return usage if option.required else f"[{usage}]"


def _flag(option: typer.core.TyperOption) -> str:
    """The switch a user types: for an on/off pair, the one that changes the default."""
    if option.is_flag and option.secondary_opts and option.default is True:
        return option.secondary_opts[0]
    return option.opts[0]


def _argument_usage(argument: typer.core.TyperArgument) -> str:
    usage = argument.metavar or argument.name.upper()
    if argument.nargs == -1:
        usage += "…"
    return usage if argument.required else f"[{usage}]"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")
