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
        "nightly",
        "db",
        "config",
        "export",
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
