"""Linking stored mail later (relink), free-mail domains, one lock for every import (database)."""

from __future__ import annotations

import psycopg

from ingest.mail import relink
from tests.factories.mail_files import DATA
from tests.ingest.mail.mail_crm import run

TAKEOUT = DATA / "takeout" / "Mail" / "All mail Including Spam and Trash.mbox"


def test_relink_after_a_contact_arrives(seeded: psycopg.Connection) -> None:
    run(seeded, TAKEOUT)
    assert relink(seeded) == 0
    seeded.execute(
        """
        with account as (
            insert into accounts (name) values ('Hoffmann Immobilien') returning account_id
        )
        insert into contacts (account_id, first_name, last_name, email)
        select account_id, 'Lukas', 'Hoffmann', 'lukas.hoffmann@gmail.com' from account
        """
    )
    assert relink(seeded) == 1
    row = seeded.execute(
        """
        select a.subject, a.direction::text, c.email, ac.name, a.body, a.import_batch_id
        from activities a join contacts c using (contact_id) join accounts ac
            on ac.account_id = a.account_id
        where c.email = 'lukas.hoffmann@gmail.com'
        """
    ).fetchone()
    assert row is not None
    assert row[:4] == (
        "Empfehlung von Petra",
        "inbound",
        "lukas.hoffmann@gmail.com",
        "Hoffmann Immobilien",
    )
    assert row[4].startswith("Hallo Frau Kessler")
    state = seeded.execute(
        "select link_state, linked_by, body, activity_id is not null from ingest.mail_messages "
        "where subject = 'Empfehlung von Petra'"
    ).fetchone()
    assert state == ("linked", "contact", None, True)
    assert relink(seeded) == 0


def test_free_mail_domains_never_match_an_account(seeded: psycopg.Connection) -> None:
    seeded.execute("insert into accounts (name, domain) values ('Someone', 'gmail.com')")
    run(seeded, TAKEOUT)
    assert relink(seeded) == 0
    state = seeded.execute(
        "select link_state from ingest.mail_messages where subject = 'Empfehlung von Petra'"
    ).fetchone()
    assert state == ("unmatched",)


def test_mail_and_spreadsheet_imports_share_one_lock() -> None:
    # Every importer takes the one import lock through ingest.audit.lock_imports; no module keeps
    # a copy of its name (a copy could drift and let two imports run at once).
    import inspect

    from ingest import audit, spreadsheet
    from ingest.mail import link as mail_link
    from ingest.mail import load as mail_load

    for module in (spreadsheet, mail_load, mail_link):
        source = inspect.getsource(module)
        assert "lock_imports(conn)" in source, module.__name__
        assert "pg_advisory" not in source, module.__name__
    assert audit.IMPORT_LOCK in inspect.getsource(audit)
