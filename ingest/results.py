"""What an import of one file came to, as plain data: the rows it rejected, its counts, the file.

Shared by the spreadsheet and mail importers, the validator and the CLI. Nothing here touches the
database (no psycopg), so the readers and the validator can use it; the audit trail that stores
these in ``ingest.import_batches`` and ``ingest.rejected_rows`` is :mod:`ingest.audit`.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


def readable(text: str) -> str:
    """``text`` as valid UTF-8 for the database, the terminal and reports.

    A file name that is not UTF-8 (``b'Kunden-\\xfc.csv'`` written by an old Windows or Mac tool)
    reaches Python with surrogate escapes, which neither PostgreSQL nor a UTF-8 terminal accepts;
    each such byte is shown as ``\\xfc``. That names the byte exactly and guesses no encoding (the
    same bytes read as Latin-1 would be ``ü``, as cp437 ``ⁿ``).
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def display_name(path: Path) -> str:
    """The file's name as summaries, messages and ``import_batches.file_name`` show it."""
    return readable(os.fspath(path.name))


@dataclass(frozen=True)
class Rejection:
    """One input row that could not be loaded, with what the user needs to fix it."""

    row_number: int
    reason_code: str
    message: str
    column: str | None = None
    value: str | None = None
    raw_row: dict[str, object] | None = None


@dataclass
class BatchCounts:
    """What happened to the rows of one file."""

    read: int = 0
    blank: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FileFacts:
    """What identifies an input file in the audit trail."""

    name: str
    sha256: str
    size_bytes: int

    @classmethod
    def of(cls, path: Path) -> FileFacts:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(
            name=display_name(path), sha256=digest.hexdigest(), size_bytes=path.stat().st_size
        )


FileStatus = Literal["loaded", "dry_run", "skipped", "failed"]


@dataclass
class SheetResult:
    """One sheet of a workbook whose sheets share a header row, imported with the others (each
    sheet its own import batch, all of them in the file's one transaction)."""

    sheet: str
    counts: BatchCounts = field(default_factory=BatchCounts)
    import_batch_id: int | None = None
    message: str | None = None


@dataclass
class FileResult:
    """The outcome of importing one file, as the summary table and the nightly report show it."""

    path: Path
    kind: str  # "spreadsheet" or "mail"
    status: FileStatus
    profile: str | None = None
    entity: str | None = None
    counts: BatchCounts = field(default_factory=BatchCounts)
    seconds: float = 0.0
    message: str | None = None
    import_batch_id: int | None = None
    reject_report: Path | None = None
    encoding: str | None = None  # the encoding a spreadsheet was read in ("xlsx" for workbooks)
    # For a developer: the traceback of an unexpected error (a bug) that failed this file. The
    # message says what happened in one line; `crm import` prints this with CRM_DEBUG=1, and
    # `crm nightly` writes it into the file's reason file.
    traceback: str | None = None
    # A workbook imported sheet by sheet (its sheets share a header row): what each sheet came to;
    # ``counts`` is then their sum. Empty for a file read as one table.
    sheets: list[SheetResult] = field(default_factory=list)
    loading_sheet: str | None = None  # the sheet being loaded, for the message when it fails

    @property
    def name(self) -> str:
        """The file's name, readable (see :func:`display_name`)."""
        return display_name(self.path)


def unreadable_message(name: str, exc: OSError) -> str:
    """The one line for a file the operating system would not let us read."""
    return (
        f"{name}: could not be read ({exc.strerror or exc}); nothing was loaded. Check that the "
        "file is there and that you may read it, then import it again."
    )


def unexpected_failure(name: str, exc: BaseException) -> tuple[str, str]:
    """The message and traceback of an unexpected error (a bug) that failed one file.

    The message names the error and where it was raised (file, line, function), so the batch
    row alone is enough to find it; the full traceback goes to :attr:`FileResult.traceback`.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        frame = frames[-1]
        where = f", at {Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    detail = readable(str(exc)) or "no message"
    message = (
        f"{name}: unexpected error while importing it ({type(exc).__name__}: {detail}{where}); "
        "nothing was loaded, and the next file goes on. This is a bug: please report it (with "
        "CRM_DEBUG=1, crm import prints the traceback)."
    )
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return message, readable(text)
