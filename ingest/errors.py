"""The one error type for problems the user can fix, and the exit codes of the crm command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every crm command (also listed in the README and in `crm --help`)."""

    OK = 0
    BUG = 1  # an unexpected error: a bug, reported with its traceback
    USAGE = 2  # the command line itself was wrong (unknown option, missing argument)
    USER_ERROR = 3  # the user can fix it: configuration, connection, an unreadable file
    ROWS_REJECTED = 4  # the import loaded, but some rows were rejected (see the reject report)
    FILE_FAILED = 5  # at least one file failed as a whole and loaded nothing
    BUILD_FAILED = 6  # dbt build (or a step after it) failed
    LOCKED = 7  # another run holds the lock


class CrmError(Exception):
    """A problem the user can fix. The message says what went wrong, where, and what to do."""

    exit_code: ExitCode = ExitCode.USER_ERROR

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
