"""The command table and exit codes the README embeds, generated from the crm app."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from consulting_crm.cli import app
from consulting_crm.cli.reference import (
    commands_table,
    exit_codes_table,
    exit_codes_text,
    walk_commands,
)
from ingest.errors import ExitCode
from tests import ROOT


def command_words(table: str) -> list[tuple[str, ...]]:
    """The command of each row, e.g. ("db", "init"), read from its usage cell."""
    words = []
    for row in table.splitlines()[2:]:
        usage = row.split("`")[1].split()
        assert usage[0] == "crm"
        name = []
        for word in usage[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            name.append(word)
        words.append(tuple(name))
    return words


def test_every_registered_command_has_a_row_in_registration_order() -> None:
    def registered_in(typer_app: typer.Typer, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [(*path, command.name or "") for command in typer_app.registered_commands]
        for group in typer_app.registered_groups:  # a group may hold groups (crm db members)
            assert group.typer_instance is not None
            found += registered_in(group.typer_instance, (*path, group.name or ""))
        return found

    registered = registered_in(app, ())
    assert command_words(commands_table()) == registered
    assert [path for path, _ in walk_commands()] == registered


def test_a_new_command_gets_a_row_with_its_usage_and_first_paragraph() -> None:
    demo = typer.Typer()

    @demo.command("greet", context_settings={"allow_extra_args": True})
    def greet(
        names: Annotated[list[str], typer.Argument(metavar="NAME")],
        loud: Annotated[bool, typer.Option("--loud")] = False,
        colour: Annotated[bool, typer.Option("--colour/--no-colour")] = True,
        times: Annotated[int, typer.Option(metavar="N")] = 1,
        cc: Annotated[list[str] | None, typer.Option()] = None,
    ) -> None:
        """Greet people | politely,
        see docs/metrics.md#recognised-revenue.

        Extra arguments go to dbt; this paragraph stays out of the table.
        """

    @demo.command("hidden", hidden=True)
    def hidden() -> None:
        """Never listed."""

    tools = typer.Typer()

    @tools.command("check")
    def check(
        target: Annotated[str | None, typer.Argument()] = None,
        one: Annotated[str, typer.Option()] = "",
        two: Annotated[str, typer.Option()] = "",
        three: Annotated[str, typer.Option()] = "",
        four: Annotated[str, typer.Option()] = "",
        five: Annotated[str, typer.Option(hidden=True)] = "",
    ) -> None:
        """Check a target."""

    @tools.command("sweep")
    def sweep(
        inbox: Annotated[str, typer.Option(metavar="DIR")],
        one: Annotated[str, typer.Option()] = "",
        two: Annotated[str, typer.Option()] = "",
        three: Annotated[str, typer.Option()] = "",
        four: Annotated[str, typer.Option()] = "",
    ) -> None:
        """Sweep the inbox."""

    demo.add_typer(tools, name="tools")

    assert commands_table(demo) == (
        "| command | what it does |\n"
        "|---|---|\n"
        "| `crm greet NAME… [--loud] [--no-colour] [--times N] [--cc CC…] [dbt args…]` "
        "| Greet people \\| politely, see "
        "[docs/metrics.md#recognised-revenue](docs/metrics.md#recognised-revenue). |\n"
        "| `crm tools check [TARGET] [--one ONE] [--two TWO] [--three THREE] [--four FOUR]` "
        "| Check a target. |\n"
        "| `crm tools sweep [OPTIONS]` | Sweep the inbox. Options: `--inbox`, `--one`, `--two`, "
        "`--three`, `--four`. |\n"
    )


def test_commands_that_take_extra_arguments_say_they_go_to_dbt() -> None:
    takes_extra = [
        (path, command)
        for path, command in walk_commands()
        if command.context_settings.get("allow_extra_args")
    ]
    assert [path for path, _ in takes_extra] == [("build",), ("nightly",)]
    for _, command in takes_extra:
        assert "Extra arguments go to dbt" in (command.help or "")


def test_every_linked_doc_exists() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", commands_table())
    assert links, "the table links the docs the commands mention"
    for link in links:
        assert (ROOT / link).is_file(), link


def test_exit_codes_name_every_code_with_its_meaning() -> None:
    text = exit_codes_text()
    for code in ExitCode:
        assert f"`{code.value}` {code.meaning}" in text
    assert exit_codes_table().splitlines()[2:] == [
        f"| {code.value} | {code.meaning} |" for code in ExitCode
    ]
    assert (
        exit_codes_table(ExitCode.LOCKED)
        == "| code | meaning |\n|---|---|\n| 7 | another run holds the lock |\n"
    )


def test_readme_shows_the_current_table_and_exit_codes() -> None:
    # ./lint checks every generated block exactly (cog --check); this says which command to run
    # when a test run is the first to notice.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fix = "the README is stale; regenerate it: .venv/bin/cog -r README.md docs/importing.md"
    assert commands_table() in readme, fix
    assert exit_codes_text() in readme, fix
