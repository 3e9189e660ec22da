"""Header blocks: charsets, encoded words, parameters, Message-IDs, labels, dates (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.mail.headers import (
    decode_text,
    decode_words,
    normalise_message_id,
    parse_from_line_date,
    split_labels,
    split_params,
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
