"""CSV and tab-separated text: encoding, delimiter, `sep=` line and preamble sniffing."""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import CrmError, ExitCode
from ingest.readers.table import SheetTable, check_headers, find_header

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_CHARS = 64 * 1024
_SEP_LINE = re.compile(r'^"?sep=(.)"?[,;\t|]*\r?\n', re.IGNORECASE)
_BLOCK = 1 << 20
# Records read to find the header after a preamble (find_header looks at the first 20).
_HEADER_RECORDS = 100

# The csv module refuses a cell over 131,072 characters with an error that would fail the whole
# file; the length limits of the registry reject such a row on its own instead (one cell is
# still held in memory whole, as any cell is).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class EncodingDecision:
    """How a text file is decoded, and why when that was a judgement (for the summary)."""

    encoding: str  # a name python_codec understands
    note: str | None = None  # said in the summary when the decision was taken on evidence
    mixed: bool = False  # valid UTF-8 characters and undecodable bytes: the file must fail


def sniff_encoding(path: Path) -> str:
    """The encoding to read a text file with (see :func:`decide_encoding`)."""
    return decide_encoding(path).encoding


def decide_encoding(path: Path) -> EncodingDecision:
    """Decide the encoding of the whole file in one streaming pass.

    A byte-order mark decides (UTF-8, UTF-16 LE/BE, as Excel's "CSV UTF-8" and "Unicode text"
    write them); UTF-16 without a mark shows itself by NUL bytes; a file that is valid UTF-8
    throughout is UTF-8. A file that is not valid UTF-8 and holds not one valid multi-byte UTF-8
    sequence is a real Windows-1252 export (Excel's "CSV (Comma delimited)"; never Latin-1, which
    would turn `€` (0x80) into a control character). A file with both is UTF-8 with stray bytes:
    reading it as Windows-1252 would turn every correct `ü` into `Ã¼`, so it is ``mixed`` and the
    caller fails it, naming the rows.
    """
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        return EncodingDecision("utf-8-sig")
    if head.startswith(codecs.BOM_UTF16_LE):
        return EncodingDecision("utf-16-le-bom")
    if head.startswith(codecs.BOM_UTF16_BE):
        return EncodingDecision("utf-16-be-bom")
    if head and head.count(0) >= len(head) // 4:
        odd_nuls = head[1::2].count(0)
        even_nuls = head[0::2].count(0)
        return EncodingDecision("utf-16-le" if odd_nuls > even_nuls else "utf-16-be")
    # Fast path: strict UTF-8 block by block (the incremental decoder keeps a sequence split
    # across two blocks until the next one completes it).
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
        return EncodingDecision("utf-8")
    except UnicodeDecodeError:
        pass
    # Not valid UTF-8: does it hold any valid multi-byte UTF-8 character at all? With
    # surrogateescape every undecodable byte becomes U+DC80..U+DCFF and every valid sequence
    # its character, so one search per block answers it.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            if _UTF8_CHARACTER.search(decoder.decode(block)):
                return EncodingDecision("utf-8", mixed=True)
        if _UTF8_CHARACTER.search(decoder.decode(b"", final=True)):
            return EncodingDecision("utf-8", mixed=True)
    return EncodingDecision(
        "cp1252",
        note="encoding windows-1252: the file is not UTF-8 and has no UTF-8 characters",
    )


# A character a valid multi-byte UTF-8 sequence decodes to (not an escaped stray byte).
_UTF8_CHARACTER = re.compile("[\u0080-\udc7f\udd00-\U0010ffff]")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_MAX_NAMED_ROWS = 5


def _undecodable_rows(
    path: Path, codec: str, delimiter: str, skip_chars: int
) -> list[tuple[int, int]]:
    """(row number, first bad byte) of the first rows holding bytes ``codec`` cannot decode."""
    found: list[tuple[int, int]] = []
    with path.open(encoding=codec, errors="surrogateescape", newline="") as text:
        if skip_chars:
            text.read(skip_chars)
        for number, record in enumerate(csv.reader(text, delimiter=delimiter, strict=False), 1):
            bad = _ESCAPED_BYTE.search("".join(record))
            if bad:
                found.append((number, ord(bad.group()) - 0xDC00))
                if len(found) >= _MAX_NAMED_ROWS:
                    break
    return found


def _check_decodable(path: Path, codec: str) -> bool:
    """Whether the whole file decodes in ``codec`` (one streaming pass)."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _undecodable_error(
    path: Path,
    rows: list[tuple[int, int]],
    *,
    forced: str | None = None,
    mixed: bool = False,
    declared: str | None = None,
) -> CrmError:
    named = ", ".join(f"row {number} (byte 0x{byte:02X})" for number, byte in rows)
    if forced:
        why = f"bytes that are not {forced}"
        fix = (
            f"Check that the file really is {forced}, or import it without --encoding to let "
            "the importer decide."
        )
    elif mixed or declared:
        why = (
            "UTF-8 text with bytes that are not UTF-8 (reading it all as Windows-1252 would "
            "garble its correct characters)"
            if mixed
            else f"bytes that are not {declared}, the encoding its byte-order mark declares"
        )
        fix = (
            'Correct those rows, or save the file again as "CSV UTF-8" and import that; '
            "--encoding NAME reads the whole file in the encoding you name."
        )
    else:
        why = "bytes that are neither UTF-8 nor Windows-1252"
        fix = 'Save the file again as "CSV UTF-8" and import that, or give --encoding NAME.'
    return CrmError(
        f"{path.name}: the file holds {why}: {named or 'see the file'}; nothing was loaded. {fix}",
        exit_code=ExitCode.FILE_FAILED,
    )


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
        self._path, self._codec, self._delimiter = path, codec, delimiter
        self._skip_chars = skip_chars
        self._raw = path.open("rb")
        self._text = io.TextIOWrapper(self._raw, encoding=codec, newline="")
        self._reader = csv.reader(self._text, delimiter=delimiter, strict=False)

    def __iter__(self) -> Iterator[list[str]]:
        try:
            if self._skip_chars:
                self._text.read(self._skip_chars)
            yield from self._reader
        except csv.Error as exc:
            raise CrmError(
                f"{self._raw.name}: cannot read the file as CSV after row "
                f"{self._reader.line_num} ({exc}). Check the quoting around that row.",
                exit_code=ExitCode.FILE_FAILED,
            ) from exc
        except UnicodeDecodeError as exc:
            # Only a file whose encoding its byte-order mark declared gets here (every other
            # decision was checked against the whole file before): name the rows all the same.
            rows = _undecodable_rows(self._path, self._codec, self._delimiter, self._skip_chars)
            raise _undecodable_error(self._path, rows, declared=self._codec) from exc
        finally:
            self._text.close()

    def position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._text.close()


def open_text(path: Path, *, encoding: str | None = None) -> SheetTable:
    """Sniff a CSV/TSV file and read its header row (in ``encoding`` when one is given).

    A file that does not decode as a whole fails here, naming its first undecodable rows, before
    anything is read into the database.
    """
    size = path.stat().st_size
    decision = EncodingDecision(encoding) if encoding else decide_encoding(path)
    codec = python_codec(decision.encoding)
    try:
        codecs.lookup(codec)
    except LookupError:
        raise CrmError(
            f"--encoding {encoding}: no such encoding. Name one like utf-8, cp1252, latin-1 or "
            "utf-16.",
            exit_code=ExitCode.FILE_FAILED,
        ) from None
    with path.open(encoding=codec, errors="surrogateescape", newline="") as handle:
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
    if decision.mixed or (encoding and not _check_decodable(path, codec)):
        rows = _undecodable_rows(path, codec, delimiter, skip_chars)
        raise _undecodable_error(path, rows, forced=encoding, mixed=decision.mixed)
    if decision.encoding == "cp1252" and not _check_decodable(path, codec):
        rows = _undecodable_rows(path, codec, delimiter, skip_chars)
        raise _undecodable_error(path, rows, forced=None, mixed=False)
    # The header is read from the file itself, not from the sample, so a header row of any
    # length (hundreds of columns, long names) is found whole.
    records = _first_records(path, codec, delimiter, skip_chars)
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
        encoding=decision.encoding,
        delimiter=delimiter,
        headers=headers,
        header_row=header_row,
        preamble_rows=header_index,
        size=size,
        encoding_note=decision.note,
        _records=record_iterator,
    )


def _first_records(path: Path, codec: str, delimiter: str, skip_chars: int) -> list[list[str]]:
    """The records a preamble and the header can be among (whole, however long they are)."""
    records: list[list[str]] = []
    source = _Records(path, codec, delimiter, skip_chars)
    for record in source:
        records.append(record)
        if len(records) >= _HEADER_RECORDS:
            break
    source.close()
    return records


class _WithPosition:
    def __init__(self, iterator: Iterator[list[str]], source: _Records) -> None:
        self._iterator = iterator
        self.position = source.position

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        return next(self._iterator)
