"""Parsing one message: headers, charsets, labels, dates, MIME, bodies (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.mail.parse import (
    MessageRejected,
    Owners,
    classify,
    company_from_domain,
    parse_message,
    split_person_name,
)


def test_classify_direction_counterparts_and_internal() -> None:
    owners = Owners.of(["Maria@Kessler-Consulting.de", "@kessler-consulting.de", " "])
    message = parse_message(
        b"From: Maria <maria@kessler-consulting.de>\nTo: a@x.de, Bob <bob@kessler-consulting.de>\n"
        b"Cc: c@y.de, a@x.de\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n\nHi\n"
    )
    assert classify(message, owners).__dict__ == {
        "direction": "outbound",
        "counterparts": ["a@x.de", "c@y.de"],
        "is_internal": False,
    }
    internal = parse_message(
        b"From: bob@kessler-consulting.de\nTo: maria@kessler-consulting.de\n"
        b"Date: Mon, 3 Mar 2025 10:00:00 +0000\n\nHi\n"
    )
    assert classify(internal, owners).__dict__ == {
        "direction": "outbound",
        "counterparts": [],
        "is_internal": True,
    }


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


@pytest.mark.parametrize(
    ("domain", "company"),
    [
        ("nordlicht-logistik.de", "Nordlicht Logistik"),
        ("mail.acme-consulting.co.uk", "Acme Consulting"),
        ("brandt_design.at", "Brandt Design"),
    ],
)
def test_company_from_domain(domain: str, company: str) -> None:
    assert company_from_domain(domain) == company


@pytest.mark.parametrize(
    ("display", "names"),
    [
        ("Doe, Jane", ("Jane", "Doe")),
        ("Jane Q. Doe", ("Jane Q.", "Doe")),
        ("Cher", (None, "Cher")),
        ("a@b.c", (None, None)),
        (None, (None, None)),
    ],
)
def test_person_names(display: str | None, names: tuple[str | None, str | None]) -> None:
    assert split_person_name(display) == names
