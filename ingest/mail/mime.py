"""MIME structure: a message's parts found in its bytes, text parts decoded, attachments measured.

MIME parts are found by searching for their boundaries in the bytes, and only the text parts that
can become the body are transfer-decoded and charset-decoded. Attachments are measured, never
decoded (their content is not stored). No psycopg here.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from ingest.mail.headers import (
    add_flag,
    collapse_whitespace,
    decode_text,
    decode_words,
    first_header,
    parse_headers,
    split_head,
    split_params,
)

__all__ = ["Attachment", "MimeParts", "collect_parts"]

# Deeper nesting than this is treated as text (a guard against crafted messages).
MAX_MIME_DEPTH = 12


@dataclass(frozen=True)
class Attachment:
    """What is kept of an attachment: its file name, MIME type and decoded size."""

    name: str | None
    content_type: str
    size_bytes: int


@dataclass
class MimeParts:
    """The text parts that can become the body, decoded, and the attachments, measured."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def collect_parts(headers: dict[str, list[str]], body: bytes, flags: list[str]) -> MimeParts:
    """Walk a message's MIME tree: text/plain and text/html parts decoded, the rest measured."""
    parts = MimeParts()
    _walk(headers, body, parts, flags, 0)
    return parts


def _transfer_decode(body: bytes, encoding: str, flags: list[str]) -> bytes:
    if encoding == "base64":
        try:
            return binascii.a2b_base64(body)
        except binascii.Error:
            compact = re.sub(rb"[^A-Za-z0-9+/]", b"", body)
            add_flag(flags, "bad_base64")
            return binascii.a2b_base64(compact[: len(compact) - len(compact) % 4])
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _decoded_size(body: bytes, encoding: str) -> int:
    if encoding == "base64":
        compact = body.translate(None, b" \t\r\n")
        return max(0, len(compact) * 3 // 4 - compact[-2:].count(b"="))
    if encoding == "quoted-printable":
        return len(binascii.a2b_qp(body))
    return len(body)


def _walk(
    headers: dict[str, list[str]], body: bytes, into: MimeParts, flags: list[str], depth: int
) -> None:
    content_type, type_params = split_params(first_header(headers, "content-type") or "text/plain")
    if "/" not in content_type:
        content_type = "text/plain"
    disposition, disposition_params = split_params(
        first_header(headers, "content-disposition") or ""
    )
    encoding = (first_header(headers, "content-transfer-encoding") or "7bit").strip().lower()
    if content_type.startswith("multipart/"):
        boundary = type_params.get("boundary")
        if not boundary or depth >= MAX_MIME_DEPTH:
            add_flag(flags, "multipart_without_boundary")
            content_type = "text/plain"
        else:
            parts = _split_multipart(body, boundary.encode("utf-8", "replace"))
            if parts is None:
                add_flag(flags, "missing_mime_boundary")
                content_type = "text/plain"
            else:
                for part in parts:
                    head, part_body = split_head(part)
                    part_headers = parse_headers(head, flags) if head else {}
                    _walk(part_headers, part_body, into, flags, depth + 1)
                return
    name = disposition_params.get("filename") or type_params.get("name")
    if name:
        name = collapse_whitespace(decode_words(name, flags))
    is_text = content_type in ("text/plain", "text/html")
    if is_text and disposition != "attachment" and not name:
        text = decode_text(
            _transfer_decode(body, encoding, flags), type_params.get("charset"), flags
        )
        (into.plain if content_type == "text/plain" else into.html).append(text)
        return
    into.attachments.append(Attachment(name, content_type, _decoded_size(body, encoding)))


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The parts between ``--boundary`` lines (found with bytes.find: no regex per message)."""
    delimiter = b"--" + boundary
    parts: list[bytes] = []
    start: int | None = None
    position = 0
    while True:
        found = body.find(delimiter, position)
        if found < 0:
            break
        position = found + len(delimiter)
        if found and body[found - 1 : found] != b"\n":
            continue  # not at the start of a line
        line_end = body.find(b"\n", position)
        rest = body[position : line_end if line_end >= 0 else len(body)]
        is_close = rest.startswith(b"--")
        if rest.rstrip(b" \t\r") not in (b"", b"--") and not is_close:
            continue  # a longer boundary that merely starts with this one
        if start is not None:
            end = found
            # The line break before a delimiter belongs to the delimiter.
            if body[end - 2 : end] == b"\r\n":
                end -= 2
            elif body[end - 1 : end] == b"\n":
                end -= 1
            parts.append(body[start:end])
        if is_close:
            return parts
        start = line_end + 1 if line_end >= 0 else len(body)
        position = start
    if start is None:
        return None
    parts.append(body[start:])  # no closing delimiter: keep what is there
    return parts
