"""Former home of the audit trail, kept so callers not yet moved keep working.

The data classes are in :mod:`ingest.results` (no database), the functions that write the audit
trail in :mod:`ingest.audit`; import them from there. This module goes once ``ingest/mail``
imports them from there too.
"""

from __future__ import annotations

from ingest.audit import (
    find_loaded_batch,
    finish_batch,
    open_batch,
    record_failed_batch,
    record_failure,
    record_rejections,
)
from ingest.results import BatchCounts, FileFacts, Rejection

__all__ = [
    "BatchCounts",
    "FileFacts",
    "Rejection",
    "find_loaded_batch",
    "finish_batch",
    "open_batch",
    "record_failed_batch",
    "record_failure",
    "record_rejections",
]
