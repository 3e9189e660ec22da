"""What an import of one file came to, as plain data: the rows it rejected, its counts, the file.

Shared by the spreadsheet and mail importers, the validator and the CLI. Nothing here touches the
database (no psycopg), so the readers and the validator can use it; the audit trail that stores
these in ``ingest.import_batches`` and ``ingest.rejected_rows`` is :mod:`ingest.audit`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


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
        return cls(name=path.name, sha256=digest.hexdigest(), size_bytes=path.stat().st_size)


FileStatus = Literal["loaded", "dry_run", "skipped", "failed"]


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
