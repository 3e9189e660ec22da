"""CSV and tab-separated text: encoding, delimiter, `sep=` line and preamble sniffing."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ingest.errors import CrmError, ExitCode
from ingest.readers.table import SheetTable, check_headers, find_header

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_CHARS = 64 * 1024
_SEP_LINE = re.compile(r'^"?sep=(.)"?[,;\t|]*\r?\n', re.IGNORECASE)
_BLOCK = 1 << 20

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def sniff_encoding(path: Path) -> str:
    """The encoding to read a text file with.

    A byte-order mark decides (UTF-8, UTF-16 LE/BE, as Excel's "CSV UTF-8" and "Unicode text"
    write them); UTF-16 without a mark shows itself by NUL bytes; otherwise the whole file must
    decode as UTF-8, or it is Windows-1252 (Excel's "CSV (Comma delimited)"), never Latin-1, which
    would turn `€` (0x80) into a control character.
    """
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le-bom"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be-bom"
    if head and head.count(0) >= len(head) // 4:
        odd_nuls = head[1::2].count(0)
        even_nuls = head[0::2].count(0)
        return "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return _check_cp1252(path)
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _check_cp1252(path)
    return "utf-8"


def _check_cp1252(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("cp1252")()
    offset = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = block[exc.start]
                raise CrmError(
                    f"{path.name}: byte 0x{bad:02X} at offset {offset + exc.start} is neither "
                    "UTF-8 nor Windows-1252. "
                    'Save the file again as "CSV UTF-8" and import that.',
                    exit_code=ExitCode.FILE_FAILED,
                ) from exc
            offset += len(block)
    return "cp1252"


def python_codec(encoding: str) -> str:
    """The Python codec for a sniffed encoding name (BOM variants drop their mark)."""
    return {"utf-16-le-bom": "utf-16", "utf-16-be-bom": "utf-16"}.get(encoding, encoding)


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's lines into the most consistent, widest rows."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample cut the last line short
    text = "".join(lines[:200])
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        records = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
        widths = [len(row) for row in records]
        wide = [width for width in widths if width > 1]
        if not wide:
            continue
        mode, count = Counter(wide).most_common(1)[0]
        score = (count / len(widths), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class _Records:
    """csv.reader over a file, with the byte position for progress bars."""

    def __init__(self, path: Path, codec: str, delimiter: str, skip_chars: int) -> None:
        self._raw = path.open("rb")
        self._text = io.TextIOWrapper(self._raw, encoding=codec, newline="")
        if skip_chars:
            self._text.read(skip_chars)
        self._reader = csv.reader(self._text, delimiter=delimiter, strict=False)

    def __iter__(self) -> Iterator[list[str]]:
        try:
            yield from self._reader
        except csv.Error as exc:
            raise CrmError(
                f"{self._raw.name}: cannot read the file as CSV after row "
                f"{self._reader.line_num} ({exc}). Check the quoting around that row.",
                exit_code=ExitCode.FILE_FAILED,
            ) from exc
        finally:
            self._text.close()

    def position(self) -> int:
        return self._raw.tell()


def open_text(path: Path, *, encoding: str | None = None) -> SheetTable:
    """Sniff a CSV/TSV file and read its header row (in ``encoding`` when one is given)."""
    size = path.stat().st_size
    encoding = encoding or sniff_encoding(path)
    codec = python_codec(encoding)
    with path.open(encoding=codec, newline="") as handle:
        sample = handle.read(_SAMPLE_CHARS)
    if not sample.strip():
        raise CrmError(
            f"{path.name}: the file is empty. "
            "Export it again with a header row and at least one data row.",
            exit_code=ExitCode.FILE_FAILED,
        )
    skip_chars = 0
    sep_line = _SEP_LINE.match(sample)
    if sep_line:
        delimiter = sep_line.group(1)
        skip_chars = sep_line.end()
    else:
        delimiter = sniff_delimiter(sample)
    body = sample[skip_chars:]
    head_lines = body.splitlines(keepends=True)
    if len(head_lines) > 1 and not body.endswith(("\n", "\r")):
        head_lines = head_lines[:-1]
    records = list(csv.reader(io.StringIO("".join(head_lines[:100])), delimiter=delimiter))
    header_index = find_header(records)
    header_row = header_index + 1
    headers = check_headers(path, records[header_index] if records else [], header_row)

    def record_iterator() -> Iterator[list[str]]:
        source = _Records(path, codec, delimiter, skip_chars)
        iterator = iter(source)
        for _ in range(header_index + 1):
            next(iterator, None)
        return _WithPosition(iterator, source)

    return SheetTable(
        path=path,
        kind="csv",
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        header_row=header_row,
        preamble_rows=header_index,
        size=size,
        _records=record_iterator,
    )


class _WithPosition:
    def __init__(self, iterator: Iterator[list[str]], source: _Records) -> None:
        self._iterator = iterator
        self.position = source.position

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        return next(self._iterator)
