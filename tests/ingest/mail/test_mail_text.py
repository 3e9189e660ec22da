"""Text a mailbox may hold that PostgreSQL or matching would trip over: NUL bytes, invisible
characters in addresses, subjects and names over the length limits, very long Message-IDs."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ingest.mail.headers import parse_addresses
from ingest.mail.people import Owners
from tests.ingest.mail.mail_crm import run


def message(
    *,
    sender: str = "Jonas Weber <jonas.weber@nordlicht-logistik.de>",
    subject: str = "Lieferplan",
    body: str = "Hallo Maria,\nanbei der Plan.\n",
    message_id: str = "plan-1@nordlicht-logistik.de",
    day: int = 3,
) -> bytes:
    return (
        f"From jonas.weber@nordlicht-logistik.de Mon Mar {day:2d} 10:00:00 2025\n"
        f"From: {sender}\n"
        "To: Maria Kessler <maria@kessler-consulting.de>\n"
        f"Subject: {subject}\n"
        f"Date: Mon, {day:02d} Mar 2025 10:00:00 +0100\n"
        f"Message-ID: <{message_id}>\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        f"{body}\n"
    ).encode()


def mbox(tmp_path: Path, *messages: bytes) -> Path:
    path = tmp_path / "Inbox.mbox"
    path.write_bytes(b"".join(messages))
    return path


def test_nul_bytes_in_a_message_are_removed_and_counted(
    seeded: psycopg.Connection, tmp_path: Path
) -> None:
    path = mbox(
        tmp_path,
        message(subject="Liefer\x00plan", body="Hallo\x00 Maria,\x00\n", message_id="a@n.de"),
        message(subject="Termin", message_id="b@n.de", day=4),
    )
    result = run(seeded, path)
    assert result.status == "loaded", result.message
    assert result.counts.inserted == 2
    assert (result.counts.extra["nul_removed"], result.counts.extra["nul_messages"]) == (3, 1)
    assert result.message.endswith("; removed 3 NUL byte(s) from 1 message(s)")
    assert seeded.execute(
        "select subject, body from activities where subject = 'Lieferplan'"
    ).fetchone() == ("Lieferplan", "Hallo Maria,")


def test_an_invisible_character_in_an_address_matches_the_stored_contact(
    seeded: psycopg.Connection, tmp_path: Path
) -> None:
    path = mbox(tmp_path, message(sender="Jonas Weber <jonas.weber\u200b@nordlicht-logistik.de>"))
    result = run(seeded, path)
    assert result.counts.extra["linked"] == 1
    assert seeded.execute(
        "select c.email, m.from_address from ingest.mail_messages m "
        "join contacts c on c.contact_id = m.contact_id"
    ).fetchone() == ("Jonas.Weber@nordlicht-logistik.de", "jonas.weber@nordlicht-logistik.de")


def test_addresses_lose_invisible_characters_and_too_long_ones_are_dropped() -> None:
    flags: list[str] = []
    long_address = "a" * 250 + "@x.example"
    pairs = parse_addresses(
        [f"Ada <ada\u200e@x.example>, \u2066bob@x.example\u2069, {long_address}"], flags, "to"
    )
    assert pairs == [("Ada", "ada@x.example"), ("", "bob@x.example")]
    assert flags == ["malformed_address:to"]
    assert "maria@kessler-consulting.de" in Owners.of(["maria\u200b@kessler-consulting.de"])


def test_a_long_subject_is_shortened_with_the_whole_one_in_details(
    seeded: psycopg.Connection, tmp_path: Path
) -> None:
    subject = "Angebot " * 50  # 400 characters, over the 255 of activities.subject
    result = run(seeded, mbox(tmp_path, message(subject=subject)))
    assert result.status == "loaded", result.message
    assert result.counts.extra["subjects_shortened"] == 1
    assert "1 subject(s) over 255 characters shortened (the whole subject is in details)" in (
        result.message
    )
    stored, details = seeded.execute(
        "select subject, details ->> 'subject' from activities"
    ).fetchone()  # type: ignore[misc]
    assert stored == subject.strip()[:254] + "…"
    assert len(stored) == 255
    assert details == subject.strip()


def test_a_long_sender_name_does_not_become_a_lead_name(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    name = "Jonas " + "Weber-" * 60
    path = mbox(tmp_path, message(sender=f"{name} <jonas.weber@nordlicht-logistik.de>"))
    result = run(conn, path, create_leads=True)
    assert result.status == "loaded", result.message
    assert conn.execute("select first_name, last_name, email from leads").fetchall() == [
        ("Jonas", None, "jonas.weber@nordlicht-logistik.de")
    ]


def test_a_message_id_too_long_for_an_external_id_is_named_by_its_hash(
    seeded: psycopg.Connection, tmp_path: Path
) -> None:
    message_id = "x" * 300 + "@nordlicht-logistik.de"
    result = run(seeded, mbox(tmp_path, message(message_id=message_id)))
    assert result.status == "loaded", result.message
    external_id = seeded.execute("select external_id from activities").fetchone()
    assert external_id is not None
    assert external_id[0].startswith("email:sha256-of-key:") and len(external_id[0]) == 97
    again = run(seeded, mbox(tmp_path, message(message_id=message_id)), force=True)
    assert (again.counts.inserted, again.counts.extra["already_stored"]) == (0, 1)
