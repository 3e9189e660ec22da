"""The crm command line: help, exit codes and one-line errors."""

from __future__ import annotations

import re

import pytest

from consulting_crm.cli import COMMAND_ORDER, GROUP_ORDER, main


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["db", "--help"], ["db", "status", "--help"], ["demo", "--help"]):
        assert main(argv) == 0
    assert "Exit codes" in capsys.readouterr().out


def test_help_lists_commands_in_the_order_a_newcomer_meets_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["--help"]) == 0
    listed = re.findall(r"^│ (\w+) ", capsys.readouterr().out, flags=re.MULTILINE)
    assert listed == [
        "demo",
        "import",
        "relink",
        "build",
        "report",
        "powerbi",
        "nightly",
        "db",
        "config",
        "export",
        "profile",
    ]
    assert listed == [*COMMAND_ORDER, *GROUP_ORDER]


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["db", "no-such-command"]) == 2


def test_unreachable_database_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert main(["db", "status"]) == 3
    err = capsys.readouterr().err
    assert "cannot connect to PostgreSQL at postgres@127.0.0.1:1/nowhere" in err
    assert "Traceback" not in err


def test_invalid_database_url_says_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a uri at all")
    assert main(["db", "status"]) == 3
    assert "DATABASE_URL is not a valid PostgreSQL URI" in capsys.readouterr().err


def _every_command(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The argv of every command and group of the app, from the click tree typer builds."""
    found = [prefix]
    commands = getattr(group, "commands", None)  # a group (typer's own click)
    if commands:
        for name, command in commands.items():
            found.extend(_every_command(command, (*prefix, name)))
    return found


def test_help_names_values_not_python_types_and_flows_paragraphs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from consulting_crm.cli import app

    monkeypatch.setenv("COLUMNS", "250")
    commands = _every_command(typer.main.get_command(app))
    assert ("import",) in commands and ("db", "members", "add") in commands
    for argv in commands:
        assert main([*argv, "--help"]) == 0
        out = capsys.readouterr().out
        assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", out), (argv, out)
        assert "--help  " in out.replace("│", " ")
    assert main(["import", "--help"]) == 0
    out = capsys.readouterr().out
    # One paragraph, one line on a wide terminal: no break where the source's line ended.
    assert "4 files loaded but some rows were rejected (see the reject report)" in out
    assert re.search(r"--entity\s+ENTITY\s", out)
    assert re.search(r"--dry-run\s+Validate and report", out)
