"""One message as a whole: rejection, date fallbacks, fingerprint, automated mail (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.mail.message import MessageRejected, parse_message


def test_message_without_headers_is_rejected() -> None:
    with pytest.raises(MessageRejected) as error:
        parse_message(b"\x00\x01 binary junk\n\nmore junk\n")
    assert error.value.reason_code == "not_a_message"


def test_dates_fall_back_from_header_to_from_line_to_received() -> None:
    received = b"Received: from x by y; Thu, 27 Mar 2025 07:45:00 +0100\nFrom: a@b.de\n\nbody\n"
    assert parse_message(received).occurred_at == datetime(2025, 3, 27, 6, 45, tzinfo=UTC)
    assert parse_message(received).occurred_at_source == "received"
    from_line = parse_message(
        b"Date: yesterday\nFrom: a@b.de\n\nbody\n", from_line="From - Tue Mar 18 08:05:12 2025"
    )
    assert (from_line.occurred_at, from_line.occurred_at_source) == (
        datetime(2025, 3, 18, 8, 5, 12, tzinfo=UTC),
        "from_line",
    )
    assert from_line.flags == ["unreadable_date"]


def test_same_message_hashes_alike_across_exports() -> None:
    gmail = (
        b"X-GM-THRID: 1\nX-Gmail-Labels: Inbox\nFrom: a@b.de\nDate: Mon, 3 Mar 2025 10:00:00 +0000"
        b"\nSubject: s\n\nFrom here.\n"
    )
    thunderbird = (
        b"X-Mozilla-Status: 0001\r\nFrom: a@b.de\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\n"
        b"Subject: s\r\n\r\n>From here.\r\n"
    )
    first, second = parse_message(gmail), parse_message(thunderbird)
    assert first.message_key == second.message_key
    assert first.message_key.startswith("sha256:")


def test_automated_mail_is_recognised() -> None:
    bulk = parse_message(
        b"From: news@x.io\nList-Id: <x>\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n\nhi\n"
    )
    person = parse_message(b"From: ann@x.io\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n\nhi\n")
    noreply = parse_message(b"From: no-reply@x.io\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n\nhi\n")
    assert (bulk.is_automated, person.is_automated, noreply.is_automated) == (True, False, True)
