"""Readers: turn a CSV or XLSX file into a header and chunks of rows of text, in bounded memory.

Readers know about bytes, encodings, delimiters and cells; they know nothing about profiles or the
database (they never import psycopg). Every value comes out as the text the user wrote, so `NA`,
`null`, `007` and `+49 …` survive; deciding what a value means is the validator's job.
"""

from __future__ import annotations

from pathlib import Path

from ingest.readers.table import Chunk, RaggedRow, SheetTable, normalise_header

SPREADSHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
# Reject reports are written beside the files they describe; folder imports skip them.
REPORT_SUFFIX = ".rejected.csv"

__all__ = [
    "REPORT_SUFFIX",
    "SPREADSHEET_SUFFIXES",
    "Chunk",
    "RaggedRow",
    "SheetTable",
    "normalise_header",
    "open_table",
]


def open_table(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> SheetTable:
    """Open a CSV/TSV or XLSX file: sniff its format and read its header (not its rows).

    ``encoding`` (``--encoding``) forces the codec of a text file instead of sniffing it.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from ingest.readers.xlsx import open_xlsx

        return open_xlsx(path, sheet=sheet)
    from ingest.readers.text import open_text

    return open_text(path, encoding=encoding)
