"""What an import of one file came to: shared by the spreadsheet and mail importers and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ingest.batches import BatchCounts

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
