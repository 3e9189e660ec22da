"""The shape every reader produces: a header and an iterator of row chunks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import CrmError, ExitCode

DEFAULT_CHUNK_ROWS = 20_000
# How many leading records may be a preamble (LinkedIn's "Notes:" block) before the header.
MAX_PREAMBLE_RECORDS = 20

_NAMED_NUL_ROWS = 5  # rows named in the summary where NULs were removed

_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise_header(header: str) -> str:
    """The matching key of a header: case, spaces, underscores and punctuation ignored."""
    return _NOT_ALNUM.sub("", header.replace("\ufeff", "").casefold())


@dataclass(frozen=True)
class RaggedRow:
    """A row with more (or, in a CSV, fewer) cells than the header."""

    row_number: int
    cells: list[str]


@dataclass
class Chunk:
    """Consecutive rows of a file, each exactly as wide as the header."""

    row_numbers: list[int]
    rows: list[list[str]]
    ragged: list[RaggedRow] = field(default_factory=list)
    blank: int = 0
    position: int = 0  # how far through the file this chunk ends, in the units of `size`


@dataclass
class SheetTable:
    """An opened spreadsheet: what was sniffed about it, its header, and a way to read its rows.

    Row numbers are the ones a spreadsheet program shows: the header (after any preamble) is the
    row it sits on, and rows with line breaks inside quoted cells still count as one row.
    """

    path: Path
    kind: str  # "csv" or "xlsx"
    encoding: str  # the encoding used to read it ("xlsx" for workbooks)
    delimiter: str | None
    headers: list[str]
    header_row: int
    preamble_rows: int
    size: int  # total of the unit `Chunk.position` counts in (bytes or rows)
    sheet: str | None = None
    _records: Callable[[], Iterator[list[str]]] | None = None
    pad_short_rows: bool = False
    encoding_note: str | None = None  # why this encoding, when it was decided on evidence
    # NUL characters removed from cells while reading (PostgreSQL cannot store them in text):
    # how many, and the first rows they were in.
    nul_removed: int = 0
    nul_rows: list[int] = field(default_factory=list)
    # The last row, when it sums up the rows above it ("Summe", "Total"): its number and word.
    totals_row: tuple[int, str] | None = None
    hidden_columns: list[str] = field(default_factory=list)  # left out: the sheet hides them
    # Other sheets of the workbook with exactly these columns (a sheet per year), in workbook
    # order: the spreadsheet importer imports them with this one (unless a sheet was named).
    same_column_sheets: list[str] = field(default_factory=list)
    # The remaining other sheets but the empty ones, each with why it is not imported ("a hidden
    # sheet", "other columns: …").
    other_sheets: dict[str, str] = field(default_factory=dict)

    def totals_note(self) -> str | None:
        """What the summary says about a totals row left out at the bottom (None: there was
        none)."""
        if self.totals_row is None:
            return None
        number, word = self.totals_row
        return f'left out row {number} ("{word}"), the totals row at the bottom'

    def nul_note(self) -> str | None:
        """What the summary says about removed NUL characters (None when there were none)."""
        if not self.nul_removed:
            return None
        rows = ", ".join(map(str, self.nul_rows[:_NAMED_NUL_ROWS]))
        more = ", …" if len(self.nul_rows) > _NAMED_NUL_ROWS else ""
        label = "rows" if len(self.nul_rows) > 1 else "row"
        return f"removed {self.nul_removed} NUL byte(s) ({label} {rows}{more})"

    @property
    def width(self) -> int:
        return len(self.headers)

    def chunks(self, rows_per_chunk: int = DEFAULT_CHUNK_ROWS) -> Iterator[Chunk]:
        """Yield the data rows in chunks: blank rows counted and dropped, ragged rows set apart."""
        assert self._records is not None
        width = self.width
        chunk = Chunk([], [])
        records = self._records()
        row_number = self.header_row
        # A row that starts with a totals word is held back: it is data when a row follows it,
        # and the sheet's totals row (left out, and said so) when it is the last one.
        held: tuple[int, list[str], str] | None = None
        for cells in records:
            row_number += 1
            joined = "".join(cells)
            if "\x00" in joined:
                self.nul_removed += joined.count("\x00")
                if len(self.nul_rows) <= _NAMED_NUL_ROWS:
                    self.nul_rows.append(row_number)
                cells = [cell.replace("\x00", "") for cell in cells]
                joined = joined.replace("\x00", "")
            if not joined.strip():
                chunk.blank += 1
                continue
            if len(cells) > width:
                if "".join(cells[width:]).strip():
                    chunk.ragged.append(RaggedRow(row_number, cells))
                    continue
                cells = cells[:width]
            elif len(cells) < width:
                if not self.pad_short_rows:
                    chunk.ragged.append(RaggedRow(row_number, cells))
                    continue
                cells = cells + [""] * (width - len(cells))
            if held is not None:
                chunk.row_numbers.append(held[0])
                chunk.rows.append(held[1])
                held = None
            word = totals_word(cells)
            if word is not None:
                held = (row_number, cells, word)
                continue
            chunk.row_numbers.append(row_number)
            chunk.rows.append(cells)
            if len(chunk.rows) >= rows_per_chunk:
                chunk.position = _position(records) or row_number
                yield chunk
                chunk = Chunk([], [])
        if held is not None:
            self.totals_row = (held[0], held[2])
        chunk.position = self.size
        yield chunk


# Words that begin the totals row of a home-made sheet (compared after normalise_header).
TOTALS_WORDS = frozenset(
    {"total", "totals", "sum", "grandtotal", "summe", "gesamt", "gesamtsumme", "insgesamt"}
)


def totals_word(cells: list[str]) -> str | None:
    """The word, when the row's first filled cell (in its first two columns) is a totals word
    like "Total" or "Summe" (with a colon or "Σ" around it)."""
    for cell in cells[:2]:
        text = cell.strip()
        if text:
            key = normalise_header(text.replace("Σ", "sum"))
            return text if key in TOTALS_WORDS else None
    return None


def _position(records: Iterator[list[str]]) -> int:
    tell = getattr(records, "position", None)
    return int(tell()) if callable(tell) else 0


def check_headers(path: Path, raw_headers: Iterable[str], header_row: int) -> list[str]:
    """Trim trailing blank header cells and reject duplicates after normalisation."""
    headers = [header.replace("\ufeff", "").strip() for header in raw_headers]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise CrmError(
            f"{path.name}: the file is empty (no header row). "
            "Export it again with a header row and at least one data row.",
            exit_code=ExitCode.FILE_FAILED,
        )
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = normalise_header(header)
        if not key:
            headers[index] = f"(column {index + 1})"
            continue
        if key in seen:
            first = seen[key]
            raise CrmError(
                f"{path.name}: row {header_row} has duplicate columns: column {first + 1} "
                f'"{headers[first]}" and column {index + 1} "{header}" both read as "{key}". '
                "Rename or delete one of them and import again.",
                exit_code=ExitCode.FILE_FAILED,
            )
        seen[key] = index
    return headers


def find_header(records: list[list[str]]) -> int:
    """Index of the header among the first records: skip a preamble of one-cell lines, and the
    title rows of a home-made sheet ("Pipeline 2025", "Stand: 01.06.2025"), which fill fewer
    than half as many cells as the rows below them usually do (their median: a few ragged rows
    wider than the header do not make the header a title)."""
    widths = [sum(1 for cell in record if cell.strip()) for record in records]
    if not widths:
        return 0

    def wide_enough(index: int) -> bool:
        if widths[index] < 2:
            return False
        below = sorted(width for width in widths[index + 1 :] if width)
        return not below or 2 * widths[index] >= below[len(below) // 2]

    wide = [index for index in range(len(widths)) if wide_enough(index)]
    if wide and wide[0] <= MAX_PREAMBLE_RECORDS:
        return wide[0]
    for index, width in enumerate(widths):
        if width:
            return index
    return 0
