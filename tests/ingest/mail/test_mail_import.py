"""The mail importer against a real PostgreSQL: counts, links, directions, dedupe, rejections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest

from ingest.errors import CrmError
from ingest.mail import import_mail_file
from tests.factories.mail_files import _PDF, _PNG, DATA
from tests.ingest.mail.mail_crm import run, seed

TAKEOUT = DATA / "takeout" / "Mail" / "All mail Including Spam and Trash.mbox"
THUNDERBIRD = DATA / "thunderbird" / "Inbox"
MBOXRD = DATA / "mutt" / "sent.mboxrd"
APPLE = DATA / "apple" / "Kunden.mbox"
OUTLOOK = DATA / "outlook"
SINGLE_EML = DATA / "single" / "Rechnung 2025-031.eml"


def activities(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    """(subject, direction, linked to, contact email) per email activity, oldest first."""
    return conn.execute(
        """
        select a.subject, a.direction::text,
               coalesce(l.email, ac.name), c.email
        from activities a
        left join leads l on l.lead_id = a.lead_id
        left join accounts ac on ac.account_id = a.account_id
        left join contacts c on c.contact_id = a.contact_id
        where a.activity_type = 'email'
        order by a.occurred_at, a.subject
        """
    ).fetchall()


def messages(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "select subject, link_state, linked_by, body is not null from ingest.mail_messages "
        "order by occurred_at, subject"
    ).fetchall()


def rejections(conn: psycopg.Connection, batch_id: int | None) -> list[tuple[object, ...]]:
    return conn.execute(
        "select row_number, reason_code, message from ingest.rejected_rows "
        "where import_batch_id = %s order by row_number",
        (batch_id,),
    ).fetchall()


def test_gmail_takeout_counts_links_and_directions(seeded: psycopg.Connection) -> None:
    result = run(seeded, TAKEOUT)
    assert result.status == "loaded"
    assert result.kind == "mail"
    assert result.profile == "Gmail Takeout mbox (mboxo)"
    counts = result.counts
    assert (counts.read, counts.inserted, counts.updated, counts.unchanged, counts.rejected) == (
        8,
        4,
        0,
        0,
        0,
    )
    assert counts.extra == {
        "linked": 4,
        "unmatched": 2,
        "internal": 1,
        "duplicates": 1,
        "already_stored": 0,
        "message_id_conflicts": 0,
        "leads_created": 0,
        "related": 0,
        "before_since": 0,
        "flagged": 0,
    }
    assert result.message == (
        "4 linked; 2 unmatched (kept for crm relink); 1 internal; 1 duplicate(s) in the file"
    )
    assert activities(seeded) == [
        (
            "Lieferplan Q2 - kurze Frage",
            "inbound",
            "Nordlicht Logistik GmbH",
            "Jonas.Weber@nordlicht-logistik.de",
        ),
        (
            "Re: Lieferplan Q2 - kurze Frage",
            "outbound",
            "Nordlicht Logistik GmbH",
            "Jonas.Weber@nordlicht-logistik.de",
        ),
        ("Angebot für den Umbau", "inbound", "Alpenbau AG", None),
        ("Angebot Markenworkshop", "outbound", "sofia.brandt@brandt-design.at", None),
    ]
    assert messages(seeded) == [
        ("Lieferplan Q2 - kurze Frage", "linked", "contact", False),
        ("Re: Lieferplan Q2 - kurze Frage", "linked", "contact", False),
        ("Angebot für den Umbau", "linked", "domain", False),
        ("Your March product update", "unmatched", None, True),
        ("Notiz an mich: Reisekosten", "internal", None, False),
        ("Empfehlung von Petra", "unmatched", None, True),
        ("Angebot Markenworkshop", "linked", "lead", False),
    ]
    batch = seeded.execute(
        "select status::text, profile, entity, rows_read, rows_inserted from ingest.import_batches "
        "where import_batch_id = %s",
        (result.import_batch_id,),
    ).fetchone()
    assert batch == ("loaded", "Gmail Takeout mbox (mboxo)", "activities", 8, 4)


def test_takeout_labels_threads_bodies_and_attachments(seeded: psycopg.Connection) -> None:
    run(seeded, TAKEOUT)
    rows = {
        subject: (occurred_at, thread_key, body, details)
        for subject, occurred_at, thread_key, body, details in seeded.execute(
            "select subject, occurred_at, thread_key, body, details from activities"
        ).fetchall()
    }
    occurred_at, thread_key, body, details = rows["Lieferplan Q2 - kurze Frage"]
    assert occurred_at == datetime(2025, 3, 12, 8, 14, tzinfo=UTC)
    assert thread_key == "1826547913387021450"
    # The same message under two Takeout labels: stored once, with the labels of both.
    assert details["labels"] == ["Geöffnet", "Kunden, 2025", "Posteingang", "Wichtig"]
    assert details["message_id"] == "CAJw8kT2x-Lieferung.001@mail.gmail.com"
    assert details["counterparts"] == ["jonas.weber@nordlicht-logistik.de"]
    assert details["linked_by"] == "contact"
    # Trimmed: the quoted history and its "On … wrote:" line are gone.
    assert body == (
        "Hallo Maria,\n\nkönnen wir den Lieferplan für Q2 am Freitag besprechen?\n\n"
        "Viele Grüße\nJonas"
    )
    # RFC 2047-encoded label header, decoded before splitting; a quoted label keeps its comma.
    _, thread_key, _, details = rows["Re: Lieferplan Q2 - kurze Frage"]
    assert details["labels"] == ["Gesendet", "Geöffnet", "Kunden, 2025"]
    assert thread_key == "1826547913387021450"
    assert details["in_reply_to"] == "CAJw8kT2x-Lieferung.001@mail.gmail.com"
    # HTML only: converted to text.
    _, _, body, details = rows["Angebot für den Umbau"]
    assert body == (
        "Guten Tag Frau Kessler,\n\nwir möchten Sie um ein Angebot für die Prozessberatung "
        "bitten.\n\nBudget: ca. 40 000 €\n\n- Analyse\n- Workshop\n\nFreundliche Grüße\n"
        "Anna Keller"
    )
    assert details["body_from_html"] is True
    assert details["from_name"] == "Keller, Anna"
    # Attachments: names, types and sizes only.
    _, _, body, details = rows["Angebot Markenworkshop"]
    assert body == "Liebe Sofia,\n\nanbei das Angebot und das Moodboard.\n\nMaria"
    assert details["attachments"] == [
        {"name": "Angebot Q3 €.pdf", "type": "application/pdf", "size_bytes": len(_PDF)},
        {"name": "moodboard.png", "type": "image/png", "size_bytes": len(_PNG)},
    ]
    # The message without Message-ID is keyed by the SHA-256 of its bytes and waits unmatched.
    key, message_id, body = seeded.execute(
        "select message_key, message_id, body from ingest.mail_messages "
        "where subject = 'Empfehlung von Petra'"
    ).fetchone()  # type: ignore[misc]
    assert key.startswith("sha256:") and len(key) == 7 + 64
    assert message_id is None
    assert body.startswith("Hallo Frau Kessler, Petra hat mir Ihre Adresse gegeben.")


def test_thunderbird_mboxo_from_lines_charsets_malformed_headers_and_a_broken_message(
    seeded: psycopg.Connection,
) -> None:
    result = run(seeded, THUNDERBIRD)
    counts = result.counts
    assert result.profile == "mbox (mboxo)"
    # 6 messages: the unescaped "From the warehouse…" body line did not split one in two.
    assert (counts.read, counts.inserted, counts.unchanged, counts.rejected) == (6, 5, 0, 1)
    assert counts.extra["message_id_conflicts"] == 2
    assert counts.extra["flagged"] == 2
    assert rejections(seeded, result.import_batch_id) == [
        (
            5,
            "not_a_message",
            "Inbox, message 5 (byte offset 2364): has no mail headers (From, To, Date, Subject, "
            "Message-ID or Received), so the export is damaged here; the message was skipped and "
            "the others were imported.",
        )
    ]
    rows = {
        subject: (body, details)
        for subject, body, details in seeded.execute(
            "select subject, body, details from activities"
        ).fetchall()
    }
    body, _ = rows["Lagerumzug"]
    assert body == (
        "Hallo Maria,\n\nFrom the warehouse side everything is ready for the move.\n\n"
        ">From the archive: the old plan said April.\n\nGruß, Jonas"
    )
    body, details = rows["Gruesse aus Zuerich"]
    assert body == "Grüße aus Zürich – bis bald!\nJonas"
    assert details["flags"] == ["unknown_charset:x-mac-unknown"]
    body, details = rows["Scan vom Drucker"]
    assert body == "Der Scan liegt im Anhang des naechsten Mails."
    assert details["to"] == []
    assert details["cc"] == ["maria@kessler-consulting.de"]
    assert details["flags"] == ["no_address:to"]
    # Two different messages with one Message-ID: both kept, both flagged.
    flagged = seeded.execute(
        "select subject, has_message_id_conflict from ingest.mail_messages "
        "where message_id = '5c1e2a90-1d2b-4a44-9a7b-0a5d61f0c001@nordlicht-logistik.de' "
        "order by subject"
    ).fetchall()
    assert flagged == [("Lagerumzug", True), ("Lagerumzug - Nachtrag", True)]
    assert rows["Lagerumzug - Nachtrag"][1]["message_id_conflict"] is True


def test_mboxrd_unescapes_from_lines(seeded: psycopg.Connection) -> None:
    result = run(seeded, MBOXRD)
    assert result.profile == "mbox (mboxrd)"
    assert (result.counts.read, result.counts.inserted) == (2, 2)
    assert activities(seeded) == [
        (
            "Protokoll Workshop",
            "outbound",
            "Nordlicht Logistik GmbH",
            "Jonas.Weber@nordlicht-logistik.de",
        ),
        ("Termin", "outbound", "sofia.brandt@brandt-design.at", None),
    ]
    body = seeded.execute(
        "select body from activities where subject = 'Protokoll Workshop'"
    ).fetchone()
    assert body == (
        'Hallo Jonas,\n\nFrom now on we meet every Monday.\n>From your last mail: "the budget is '
        'fixed".\n\nMaria',
    )


def test_apple_mail_folder_and_contact_before_domain(seeded: psycopg.Connection) -> None:
    result = run(seeded, APPLE)
    assert result.profile == "Apple Mail .mbox folder (mboxo)"
    assert (result.counts.read, result.counts.inserted) == (2, 2)
    # The second mail goes to Anna (Alpenbau, by domain) first and Jonas (a contact) second:
    # a contact match wins over a domain match whatever the order of the addresses.
    assert activities(seeded) == [
        ("Re: Angebot für den Umbau", "inbound", "Alpenbau AG", None),
        (
            "Unterlagen",
            "outbound",
            "Nordlicht Logistik GmbH",
            "Jonas.Weber@nordlicht-logistik.de",
        ),
    ]
    thread = seeded.execute(
        "select thread_key from activities where subject = 'Re: Angebot für den Umbau'"
    ).fetchone()
    assert thread == ("0102019587aa.alpenbau@email.alpenbau.ch",)


def test_outlook_eml_folder_received_fallback_and_missing_date(
    seeded: psycopg.Connection,
) -> None:
    result = run(seeded, OUTLOOK)
    assert result.profile == "eml folder"
    assert (result.counts.read, result.counts.inserted, result.counts.rejected) == (3, 2, 1)
    assert rejections(seeded, result.import_batch_id) == [
        (
            2,
            "missing_date",
            "outlook/Entwurf_ Termin im April.eml: has no readable Date header, mbox From_ line "
            "date or Received date (an unsent draft has none), so it cannot be placed on the "
            "timeline; the message was skipped.",
        )
    ]
    row = seeded.execute(
        "select occurred_at, details->>'occurred_at_source' from activities "
        "where subject = 'Rechnung 2025-031'"
    ).fetchone()
    assert row == (datetime(2025, 3, 27, 6, 45, tzinfo=UTC), "received")
    body = seeded.execute(
        "select body from activities where subject = 'AW: Angebot Markenworkshop'"
    ).fetchone()
    assert body == ("Liebe Maria,\n\ndas Angebot passt, wir starten gerne im Mai.\n\nSofia",)


@pytest.mark.parametrize(
    ("first", "second"),
    [(OUTLOOK, SINGLE_EML), (TAKEOUT, THUNDERBIRD)],
    ids=["eml-folder-then-eml", "takeout-then-thunderbird"],
)
def test_same_message_in_two_exports_is_stored_once(
    seeded: psycopg.Connection, first: Path, second: Path
) -> None:
    run(seeded, first)
    before = seeded.execute("select count(*) from ingest.mail_messages").fetchone()
    result = run(seeded, second)
    assert result.counts.unchanged == 1
    assert result.counts.extra["already_stored"] == 1
    after = seeded.execute(
        "select count(*) from ingest.mail_messages where import_batch_id = %s",
        (result.import_batch_id,),
    ).fetchone()
    assert before is not None and after is not None
    assert after[0] == result.counts.read - 1 - result.counts.rejected


def test_reimport_changes_nothing(seeded: psycopg.Connection) -> None:
    first = run(seeded, TAKEOUT)
    snapshot = (
        "select a.*, m.* from activities a "
        "full join ingest.mail_messages m using (activity_id) order by 1, 2"
    )
    before = seeded.execute(snapshot).fetchall()
    again = run(seeded, TAKEOUT)
    assert again.status == "skipped"
    assert again.import_batch_id == first.import_batch_id
    assert again.message is not None and again.message.startswith(
        f"already imported (batch {first.import_batch_id}, "
    )
    forced = run(seeded, TAKEOUT, force=True)
    assert forced.status == "loaded"
    assert (forced.counts.inserted, forced.counts.updated, forced.counts.unchanged) == (0, 0, 7)
    assert seeded.execute(snapshot).fetchall() == before


def test_new_labels_for_a_stored_message_are_merged(seeded: psycopg.Connection) -> None:
    run(seeded, THUNDERBIRD)  # the Lieferplan mail without labels
    result = run(seeded, TAKEOUT)
    assert (result.counts.updated, result.counts.unchanged) == (1, 0)
    labels = seeded.execute(
        "select details->'labels' from activities where subject = 'Lieferplan Q2 - kurze Frage'"
    ).fetchone()
    assert labels == (["Geöffnet", "Kunden, 2025", "Posteingang", "Wichtig"],)


def test_create_leads_from_unknown_company_senders(conn: psycopg.Connection) -> None:
    result = run(conn, OUTLOOK, create_leads=True)
    assert result.counts.extra["leads_created"] == 2
    assert result.counts.inserted == 2
    leads = conn.execute(
        "select first_name, last_name, company, email, lead_source, source from leads "
        "order by email"
    ).fetchall()
    assert leads == [
        (
            "Jonas",
            "Weber",
            "Nordlicht Logistik",
            "jonas.weber@nordlicht-logistik.de",
            "Email",
            "mail",
        ),
        ("Sofia", "Brandt", "Brandt Design", "sofia.brandt@brandt-design.at", "Email", "mail"),
    ]
    # Newsletters (bulk) and free-mail senders never become leads.
    takeout = run(conn, TAKEOUT, create_leads=True)
    assert takeout.counts.extra["leads_created"] == 1  # Anna at alpenbau.ch (no account yet)
    assert conn.execute("select count(*) from leads").fetchone() == (3,)


def test_since_skips_older_mail(seeded: psycopg.Connection) -> None:
    result = run(seeded, TAKEOUT, since=date(2025, 3, 14))
    assert result.counts.extra["before_since"] == 4
    assert result.counts.read == 8
    assert [row[0] for row in messages(seeded)] == [
        "Your March product update",
        "Notiz an mich: Reisekosten",
        "Empfehlung von Petra",
        "Angebot Markenworkshop",
    ]


def test_dry_run_loads_nothing(seeded: psycopg.Connection) -> None:
    result = run(seeded, TAKEOUT, dry_run=True)
    assert result.status == "dry_run"
    assert result.counts.inserted == 4
    assert seeded.execute("select count(*) from activities").fetchone() == (0,)
    assert seeded.execute("select count(*) from ingest.mail_messages").fetchone() == (0,)
    assert run(seeded, TAKEOUT).status == "loaded"  # a dry run does not count as imported


def test_messages_over_the_size_cap_are_skipped_with_a_reason(
    seeded: psycopg.Connection,
) -> None:
    result = run(seeded, TAKEOUT, max_message_bytes=2_000)
    assert result.counts.rejected == 1
    assert result.counts.inserted == 3
    assert rejections(seeded, result.import_batch_id) == [
        (
            7,
            "message_too_large",
            "All mail Including Spam and Trash.mbox, message 7 (byte offset 3606): is 2,943 "
            "bytes, over the 2,000-byte limit for one message; it was skipped (its attachments "
            "are what make it large — forward it without them if it matters).",
        )
    ]


def test_bodies_can_be_turned_off(seeded: psycopg.Connection) -> None:
    run(seeded, TAKEOUT, store_bodies=False)
    assert seeded.execute("select count(*) from activities where body is not null").fetchone() == (
        0,
    )
    assert seeded.execute(
        "select count(*) from ingest.mail_messages where body is not null"
    ).fetchone() == (0,)


def test_owner_addresses_are_required(conn: psycopg.Connection) -> None:
    with pytest.raises(CrmError) as error:
        import_mail_file(conn, TAKEOUT, owner_emails=[])
    assert str(error.value) == (
        "All mail Including Spam and Trash.mbox: importing mail needs your own address(es) to "
        "tell sent from received mail; give --owner-email you@example.com (repeatable), or "
        "state them once: crm config set mail.owner_emails you@example.com you@gmail.com"
    )


def test_progress_reports_messages_read(seeded: psycopg.Connection) -> None:
    seen: list[int] = []
    run(seeded, TAKEOUT, progress=seen.append)
    assert seen == [8]


def test_crm_relink_command(
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from consulting_crm.cli import main

    conninfo = make_database()
    with psycopg.connect(conninfo) as connection:
        seed(connection)
        run(connection, TAKEOUT)
        connection.execute(
            "insert into leads (last_name, email) values ('Hoffmann', 'lukas.hoffmann@gmail.com')"
        )
        connection.commit()
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGHOSTADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", conninfo)
    assert main(["relink"]) == 0
    assert " ".join(capsys.readouterr().out.split()) == (
        "Linked 1 message(s); 1 unmatched message(s) still wait for a contact, lead or account."
    )
