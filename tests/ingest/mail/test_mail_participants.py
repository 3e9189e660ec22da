"""Shared activities: a message relates its activity to every known contact and lead on it."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ingest.mail import relink
from tests.ingest.mail.mail_crm import run

MESSAGE = """\
From: Maria Kessler <maria@kessler-consulting.de>
To: Jonas Weber <jonas.weber@nordlicht-logistik.de>, anna.keller@alpenbau.ch
Cc: "Sofia Brandt" <SOFIA.BRANDT@brandt-design.at>, Tom <tom@elsewhere.example>
Subject: Joint kick-off
Date: Tue, 04 Mar 2025 09:30:00 +0100
Message-ID: <kickoff-1@kessler-consulting.de>
Content-Type: text/plain; charset=utf-8

Dear all, here is the agenda.
"""

RELATIONS = """
    select coalesce(c.email, l.email), r.source, r.import_batch_id is not null
    from activity_relations r
    join activities a using (activity_id)
    left join contacts c on c.contact_id = r.contact_id
    left join leads l on l.lead_id = r.lead_id
    where a.subject = 'Joint kick-off'
    order by 1
"""


def test_every_known_participant_is_related_once(
    seeded: psycopg.Connection, tmp_path: Path
) -> None:
    seeded.execute(
        "insert into contacts (account_id, first_name, last_name, email) "
        "select account_id, 'Anna', 'Keller', 'anna.keller@alpenbau.ch' from accounts "
        "where domain = 'alpenbau.ch'"
    )
    message = tmp_path / "kickoff.eml"
    message.write_text(MESSAGE, encoding="utf-8")
    result = run(seeded, message)
    assert result.status == "loaded", result.message
    assert result.counts.extra["related"] == 2
    assert "2 further participant(s) related to their activity" in (result.message or "")
    primary = seeded.execute(
        "select c.email from activities a join contacts c using (contact_id) "
        "where a.subject = 'Joint kick-off'"
    ).fetchone()
    # The primary contact stays on the activity and is not repeated as a relation.
    assert primary == ("Jonas.Weber@nordlicht-logistik.de",)
    expected = [
        ("anna.keller@alpenbau.ch", "mail", True),
        ("sofia.brandt@brandt-design.at", "mail", True),
    ]
    assert seeded.execute(RELATIONS).fetchall() == expected

    again = run(seeded, message, force=True)
    assert again.status == "loaded", again.message
    assert again.counts.extra["related"] == 0
    assert seeded.execute(RELATIONS).fetchall() == expected

    # A participant who becomes a contact later is related by relink, once.
    seeded.execute(
        "with account as (insert into accounts (name) values ('Elsewhere') returning account_id) "
        "insert into contacts (account_id, last_name, email) "
        "select account_id, 'Tom', 'tom@elsewhere.example' from account"
    )
    relink(seeded)
    relink(seeded)
    assert seeded.execute(RELATIONS).fetchall() == [
        *expected,
        ("tom@elsewhere.example", "mail", True),
    ]
