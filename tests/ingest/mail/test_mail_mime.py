"""MIME structure: parts found in the bytes, text decoded, attachments measured (no database)."""

from __future__ import annotations

from ingest.mail.message import parse_message


def test_multipart_without_closing_boundary_keeps_what_is_there() -> None:
    message = parse_message(
        b"From: a@b.de\nDate: Mon, 3 Mar 2025 10:00:00 +0000\nContent-Type: multipart/mixed; "
        b'boundary="xyz"\n\n--xyz\nContent-Type: text/plain\n\nbody text\n--xyz\n'
        b'Content-Type: application/zip; name="a.zip"\nContent-Transfer-Encoding: base64\n\n'
        b"UEsDBAo=\n"
    )
    assert message.body == "body text"
    assert [(a.name, a.content_type, a.size_bytes) for a in message.attachments] == [
        ("a.zip", "application/zip", 5)
    ]
