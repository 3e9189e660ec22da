"""Where the crm commands print: tables and progress to stdout, one-line errors to stderr."""

from __future__ import annotations

from rich.console import Console

from ingest.errors import ExitCode

console = Console()
err_console = Console(stderr=True)


def exit_codes_text() -> str:
    """One sentence listing every exit code, e.g. "Exit codes: 0 ok; 1 …; 7 another run …"."""
    return "Exit codes: " + "; ".join(f"{code.value} {code.meaning}" for code in ExitCode) + "."


EXIT_CODES_HELP = exit_codes_text()
