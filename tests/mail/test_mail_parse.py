"""Parsing one message: headers, charsets, labels, dates, MIME, bodies (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.mail.parse import (
    MessageRejected,
    Owners,
    classify,
    company_from_domain,
    decode_text,
    decode_words,
    normalise_message_id,
    parse_from_line_date,
    parse_message,
    split_labels,
    split_params,
    split_person_name,
)


@pytest.mark.parametrize(
    ("value", "labels"),
    [
        ("Inbox,Opened", ["Inbox", "Opened"]),
        ('Archived,"Clients, 2025",Important', ["Archived", "Clients, 2025", "Important"]),
        # Gmail encodes the whole header: decode first, then split (quotes survive encoding).
        (
            '=?UTF-8?Q?Gesendet,"Kunden,_2025",Ge=C3=B6ffnet?=',
            ["Gesendet", "Geöffnet", "Kunden, 2025"],
        ),
        ("=?UTF-8?B?5Y+X5L+h44OI44Os44KkLOmHjeimgQ==?=", ["受信トレイ", "重要"]),
        ('"Say \\"hi\\"",Inbox', ["Inbox", 'Say "hi"']),
        ("Inbox,,Inbox, ", ["Inbox"]),
    ],
)
def test_gmail_labels(value: str, labels: list[str]) -> None:
    assert split_labels(value, []) == labels


def test_encoded_words_with_unknown_charset_fall_back_and_are_flagged() -> None:
    flags: list[str] = []
    assert decode_words("=?x-unknown?Q?Caf=E9?= ok", flags) == "Café ok"
    assert flags == ["unknown_charset:x-unknown"]


def test_adjacent_encoded_words_join_without_the_space_between() -> None:
    assert decode_words("=?utf-8?q?J=C3=B6?= =?utf-8?q?rg?= Weber", []) == "Jörg Weber"


@pytest.mark.parametrize(
    ("data", "declared", "text", "flags"),
    [
        ("Grüße".encode(), "utf-8", "Grüße", []),
        ("Grüße".encode("cp1252"), "utf-8", "Grüße", ["wrong_charset:utf-8"]),
        ("€ 5".encode("cp1252"), "x-mac-unknown", "€ 5", ["unknown_charset:x-mac-unknown"]),
        (b"caf\xc3\xa9", None, "café", []),
        # 0x81 is undefined in cp1252: the last resort replaces it.
        (
            b"a\x81b\xff",
            "ascii",
            "a\ufffdb\ufffd",
            ["wrong_charset:utf-8", "undecodable_bytes_replaced"],
        ),
    ],
)
def test_charset_fallback(data: bytes, declared: str | None, text: str, flags: list[str]) -> None:
    seen: list[str] = []
    assert decode_text(data, declared, seen) == text
    assert seen == flags


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/plain; charset=utf-8", ("text/plain", {"charset": "utf-8"})),
        ("text/plain; name*", ("text/plain", {})),
        ('application/pdf; name="a;b.pdf"', ("application/pdf", {"name": "a;b.pdf"})),
        (
            "attachment; filename*=UTF-8''Angebot%20Q3%20%E2%82%AC.pdf",
            ("attachment", {"filename": "Angebot Q3 €.pdf"}),
        ),
        (
            "attachment; filename*0*=UTF-8''Gro%C3%9Fer%20; filename*1=Bericht.pdf",
            ("attachment", {"filename": "Großer Bericht.pdf"}),
        ),
        ("", ("", {})),
    ],
)
def test_content_type_parameters(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert split_params(value) == expected


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("<ABC.123@Mail.Example.COM>", "ABC.123@mail.example.com"),
        ("  <abc@x.de> (added by postmaster)", "abc@x.de"),
        ("abc@X.de", "abc@x.de"),
        ("", None),
        (None, None),
    ],
)
def test_message_id_normalisation(value: str | None, normalised: str | None) -> None:
    assert normalise_message_id(value) == normalised


@pytest.mark.parametrize(
    ("line", "moment"),
    [
        (
            "From 1826547913387021450@xxx Wed Mar 12 08:14:03 +0000 2025",
            datetime(2025, 3, 12, 8, 14, 3, tzinfo=UTC),
        ),
        ("From - Tue Mar 18 08:05:12 2025", datetime(2025, 3, 18, 8, 5, 12, tzinfo=UTC)),
        ("From a@b.c Sat Jan  3 01:05:34 1998", datetime(1998, 1, 3, 1, 5, 34, tzinfo=UTC)),
        ("From a@b.c Wed Mar 12 10:14:03 +0200 2025", datetime(2025, 3, 12, 8, 14, 3, tzinfo=UTC)),
        ("From nowhere", None),
    ],
)
def test_from_line_dates(line: str, moment: datetime | None) -> None:
    assert parse_from_line_date(line) == moment


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
