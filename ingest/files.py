"""The files an import reads: only regular files, and only while they stay as they were.

Two checks keep an import honest about its input:

- :func:`special_file_problem` before anything is read: a FIFO, a device or a socket (or a link to
  one, like a ``leads.csv`` pointing at ``/dev/zero``) would block or never end, so it is refused
  with a message instead of being read.
- :class:`Snapshot` around the read: taken before the file is hashed, compared again after the
  last row was read and before the transaction commits. A file rewritten while it was imported
  (a sync client still downloading it, an export still being written) fails and rolls back, so
  its hash in the audit trail always belongs to exactly the bytes that were loaded.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import CrmError, ExitCode

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_file_kind(path: Path) -> str | None:
    """What ``path`` is when it is neither a regular file nor a folder (links followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing or unreadable: the reader says so in its own words
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return None


def special_file_problem(path: Path) -> str | None:
    """The message for a FIFO, device or socket (or a link to one), None for anything else."""
    kind = special_file_kind(path)
    if kind is None:
        return None
    link = f" (a link to {os.path.realpath(path)})" if path.is_symlink() else ""
    return (
        f"{path.name}: is {kind}{link}, not a file; nothing was read. Save the export as a "
        "regular file and import that."
    )


@dataclass(frozen=True)
class Snapshot:
    """Size, modification time and identity of the files of one import, at one moment."""

    files: tuple[tuple[str, int, int, int, int], ...]  # (path, device, inode, size, mtime ns)

    @classmethod
    def of(cls, paths: Iterable[Path]) -> Snapshot:
        entries = []
        for path in paths:
            info = os.stat(path)
            entries.append((str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns))
        return cls(tuple(entries))

    def check_unchanged(self, name: str) -> None:
        """Raise :class:`CrmError` when any file changed since the snapshot was taken."""
        try:
            now = Snapshot.of(Path(entry[0]) for entry in self.files)
        except OSError as exc:
            raise self._changed(name, f"it went away ({exc.strerror or exc})") from exc
        for before, after in zip(self.files, now.files, strict=True):
            if before[1:3] != after[1:3]:
                raise self._changed(name, "it was replaced by another file")
            if before[3] != after[3]:
                raise self._changed(name, "its size changed")
            if before[4] != after[4]:
                raise self._changed(name, "its modification time changed")

    @staticmethod
    def _changed(name: str, what: str) -> CrmError:
        return CrmError(
            f"{name}: changed while it was being imported ({what}); nothing was loaded. Import "
            "it again once it has been written completely (a sync client or an export may "
            "still be writing it).",
            exit_code=ExitCode.FILE_FAILED,
        )
