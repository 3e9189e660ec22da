"""Find the messages in a mail export, one at a time: mbox files, Apple Mail folders, .eml files.

Recognition is by content, not by file name. Splitting an mbox is done here rather than with
``mailbox.mbox`` because that splits at every line starting ``From `` (so an unescaped body line
cuts a message in two) and never unescapes ``>From``. Here a line starts a new message only when it
is a real From_ line — ``From <sender> <asctime date>`` — followed by a header line; ``>From`` is
unescaped only in mboxrd files (recognised by a ``>>From`` line somewhere in them: only mboxrd
writers produce one). Messages are yielded one by one; a whole mailbox never sits in memory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Documented limit (docs/importing.md, "Mail exports"): a bigger message is skipped, never held.
MAX_MESSAGE_BYTES = 50 * 1024 * 1024

FROM_LINE = re.compile(
    rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d{2}(?::\d{2})?"
    rb"(?: +(?:[+-]\d{4}|[A-Z]{2,5}))? +\d{4}"
)
HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")
_MBOXRD_ESCAPE = re.compile(rb">>+From ")
_KNOWN_HEADERS = frozenset(
    {
        b"from",
        b"to",
        b"date",
        b"subject",
        b"message-id",
        b"received",
        b"return-path",
        b"mime-version",
        b"delivered-to",
        b"content-type",
        b"x-mailer",
        b"reply-to",
        b"cc",
    }
)
_SNIFF_BYTES = 16_384


@dataclass(frozen=True)
class RawMessage:
    """One message as found in the export, with where it was, for the audit trail."""

    number: int  # 1-based position in the export; the row number of a rejection
    offset: int  # byte offset of its first line (its From_ line) in the file
    origin: str  # the file it came from (the .eml name in a folder)
    from_line: str | None
    data: bytes  # empty when the message is over the size cap (not kept)
    size_bytes: int
    is_oversized: bool


@dataclass(frozen=True)
class MailExport:
    """What kind of export a path is, and the files that hold its messages."""

    path: Path
    kind: str  # "mbox", "apple-mail", "eml", "eml-folder"
    files: tuple[Path, ...]
    is_mboxrd: bool = False
    is_gmail: bool = False

    @property
    def label(self) -> str:
        """How the summary table and the batch row name the format."""
        if self.kind in ("mbox", "apple-mail"):
            name = "Gmail Takeout mbox" if self.is_gmail else "mbox"
            if self.kind == "apple-mail":
                name = "Apple Mail .mbox folder"
            return f"{name} ({'mboxrd' if self.is_mboxrd else 'mboxo'})"
        return "eml folder" if self.kind == "eml-folder" else "eml"


def _looks_like_headers(head: bytes, *, skip_from_line: bool) -> bool:
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    if head.startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    if skip_from_line and lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    names: set[bytes] = set()
    complete = len(head) < _SNIFF_BYTES
    for index, line in enumerate(lines):
        if not line:
            complete = True
            break
        if line[:1] in (b" ", b"\t") and names:
            continue
        if not HEADER_LINE.match(line):
            if index == len(lines) - 1 and not complete:
                break  # a line cut off by the sniff window
            return False
        names.add(line.partition(b":")[0].strip().lower())
    return len(names & _KNOWN_HEADERS) >= 2 and bool(
        names & {b"from", b"date", b"message-id", b"received"}
    )


def _sniff(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_SNIFF_BYTES)


def _is_mbox_file(path: Path) -> bool:
    head = _sniff(path)
    return (
        head.startswith(b"From ")
        and FROM_LINE.match(head) is not None
        and _looks_like_headers(head, skip_from_line=True)
    )


def _is_eml_file(path: Path) -> bool:
    head = _sniff(path)
    return not head.startswith(b"From ") and _looks_like_headers(head, skip_from_line=False)


def _eml_files(folder: Path) -> list[Path] | None:
    """The .eml files under ``folder`` when it holds nothing else (hidden files aside).

    A folder that mixes .eml files with other files is not one export; `crm import` then takes
    its files one by one, and each .eml is still recognised on its own.
    """
    files: list[Path] = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() != ".eml":
            return None
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def recognise(path: Path, *, scan: bool = True) -> MailExport | None:
    """The export at ``path``, or None when it is not mail (decided from the content).

    With ``scan`` an mbox is read through once more to tell mboxrd from mboxo and to see whether
    it is a Gmail Takeout; without it only the first 16 kB of a file are read.
    """
    try:
        if path.is_dir():
            inner = path / "mbox"
            if inner.is_file() and _is_mbox_file(inner):
                export = MailExport(path, "apple-mail", (inner,))
                return _with_mbox_facts(export) if scan else export
            files = _eml_files(path)
            if files and all(_is_eml_file(p) for p in files[:5]):
                return MailExport(path, "eml-folder", tuple(files))
            return None
        if not path.is_file():
            return None
        if _is_mbox_file(path):
            export = MailExport(path, "mbox", (path,))
            return _with_mbox_facts(export) if scan else export
        if _is_eml_file(path):
            return MailExport(path, "eml", (path,))
    except OSError:
        return None
    return None


def is_mail_export(path: Path) -> bool:
    """Whether ``path`` is a mail export: an mbox file, an Apple Mail ``.mbox`` folder, an .eml
    file or a folder of .eml files. Decided from the content, not the name."""
    return recognise(path, scan=False) is not None


def _with_mbox_facts(export: MailExport) -> MailExport:
    """Scan the mbox once (fast, in blocks) for `>>From` lines and Gmail headers."""
    is_mboxrd = False
    is_gmail = False
    tail = b"\n"
    with export.files[0].open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            # Search the block, and the seam with the previous one without copying the block.
            for window in (tail + block[:64], block):
                if not is_mboxrd:
                    is_mboxrd = _has_mboxrd_escape(window)
                if not is_gmail:
                    is_gmail = b"\nX-GM-THRID:" in window or b"\nX-Gmail-Labels:" in window
            if is_mboxrd and is_gmail:
                break
            tail = block[-64:]
    return MailExport(export.path, export.kind, export.files, is_mboxrd, is_gmail)


def _has_mboxrd_escape(window: bytes) -> bool:
    """Whether a line starts with `>>From ` (bytes.find first: a regex over 4 MB is slow)."""
    position = window.find(b">>From ")
    while position >= 0:
        line_start = window.rfind(b"\n", 0, position) + 1
        if _MBOXRD_ESCAPE.match(window, line_start):
            return True
        position = window.find(b">>From ", position + 1)
    return False


def export_sha256(export: MailExport) -> tuple[str, int]:
    """SHA-256 and size identifying an export made of several files (an .eml folder)."""
    digest = hashlib.sha256()
    size = 0
    for file in export.files:
        inner = hashlib.sha256()
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                inner.update(block)
                size += len(block)
        name = file.relative_to(export.path).as_posix()
        digest.update(f"{name}\0{inner.hexdigest()}\n".encode())
    return digest.hexdigest(), size


def iter_messages(
    export: MailExport, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> Iterator[RawMessage]:
    """Every message of the export in order, one at a time."""
    if export.kind in ("mbox", "apple-mail"):
        yield from _iter_mbox(export.files[0], is_mboxrd=export.is_mboxrd, max_bytes=max_bytes)
        return
    for number, file in enumerate(export.files, start=1):
        origin = file.relative_to(export.path).as_posix() if export.kind == "eml-folder" else ""
        size = file.stat().st_size
        if size > max_bytes:
            yield RawMessage(number, 0, origin or file.name, None, b"", size, True)
            continue
        data = file.read_bytes()
        from_line = None
        if data.startswith(b"From "):  # an .eml saved from an mbox keeps its From_ line
            first, _, data = data.partition(b"\n")
            from_line = first.decode("latin-1").rstrip("\r")
        yield RawMessage(number, 0, origin or file.name, from_line, data, size, False)


def _iter_mbox(path: Path, *, is_mboxrd: bool, max_bytes: int) -> Iterator[RawMessage]:
    number = 0
    offset = 0  # of the line being read
    start = 0  # offset of the current message's From_ line
    from_line: str | None = None
    lines: list[bytes] = []
    size = 0
    oversized = False
    pending: bytes | None = None  # a From_ line waiting for the next line to confirm it
    pending_offset = 0
    started = False

    def finish() -> RawMessage:
        data = b"".join(lines)
        # The blank line before the next From_ line belongs to the mbox, not to the message.
        if data.endswith(b"\r\n\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n\n"):
            data = data[:-1]
        return RawMessage(
            number, start, path.name, from_line, b"" if oversized else data, size, oversized
        )

    with path.open("rb") as handle:
        for line in handle:
            line_offset = offset
            offset += len(line)
            if pending is not None:
                confirmed = HEADER_LINE.match(line) is not None
                candidate, pending = pending, None
                if confirmed:
                    if started:
                        yield finish()
                    number += 1
                    started = True
                    start, from_line = pending_offset, candidate.decode("latin-1").rstrip("\r\n")
                    lines, size, oversized = [], 0, False
                else:
                    size, oversized = _append(lines, candidate, size, oversized, max_bytes, False)
            if line.startswith(b"From ") and FROM_LINE.match(line):
                pending, pending_offset = line, line_offset
                continue
            if not started:
                continue  # junk before the first From_ line
            size, oversized = _append(lines, line, size, oversized, max_bytes, is_mboxrd)
        if pending is not None and started:
            size, oversized = _append(lines, pending, size, oversized, max_bytes, False)
        if started:
            yield finish()


def _append(
    lines: list[bytes], line: bytes, size: int, oversized: bool, max_bytes: int, is_mboxrd: bool
) -> tuple[int, bool]:
    if is_mboxrd and line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
        line = line[1:]
    size += len(line)
    if oversized:
        return size, True
    if size > max_bytes:
        lines.clear()
        return size, True
    lines.append(line)
    return size, False
