"""The one error type for problems the user can fix, and the exit codes of the crm command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every crm command (`crm --help` and the README list them from here)."""

    OK = 0
    BUG = 1  # an unexpected error: a bug, reported with its traceback
    USAGE = 2  # the command line itself was wrong (unknown option, missing argument)
    USER_ERROR = 3  # the user can fix it: configuration, connection (also one lost mid-run)
    ROWS_REJECTED = 4  # the import loaded, but some rows were rejected (see the reject report)
    FILE_FAILED = 5  # at least one file failed as a whole and loaded nothing
    BUILD_FAILED = 6  # dbt build (or a step after it) failed
    LOCKED = 7  # another run holds the lock

    @property
    def meaning(self) -> str:
        """What the code tells the user, in the words `crm --help` and the README use."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "ok",
    ExitCode.BUG: "unexpected error (a bug: the traceback is printed, please report it)",
    ExitCode.USAGE: "bad command line",
    ExitCode.USER_ERROR: "a problem you can fix (the one-line message says what and how)",
    ExitCode.ROWS_REJECTED: "an import loaded but rows were rejected",
    ExitCode.FILE_FAILED: "a file failed and loaded nothing",
    ExitCode.BUILD_FAILED: "dbt build failed",
    ExitCode.LOCKED: "another run holds the lock",
}


class CrmError(Exception):
    """A problem the user can fix. The message says what went wrong, where, and what to do."""

    exit_code: ExitCode = ExitCode.USER_ERROR

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConnectionLost(CrmError):
    """The database connection broke during an import (the server stopped or restarted, the
    network dropped it): the file being imported rolled back, and the run stops, because no
    later file can be imported either. Exit code 3, like any connection problem."""
