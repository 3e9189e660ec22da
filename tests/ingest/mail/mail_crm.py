"""The CRM the mail fixtures meet, and importing a fixture export as its owner.

Shared by the tests that load mail into a real database (test_mail_import.py, test_mail_link.py);
the ``seeded`` fixture in conftest.py is :func:`seed` on a fresh database.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from ingest.mail import import_mail_file
from tests.factories.mail_files import OWNERS


def seed(conn: psycopg.Connection) -> None:
    """Nordlicht (account + contact Jonas), Alpenbau (account by domain only), lead Sofia."""
    conn.execute(
        """
        with nordlicht as (
            insert into accounts (name, domain)
            values ('Nordlicht Logistik GmbH', 'nordlicht-logistik.de') returning account_id
        )
        insert into contacts (account_id, first_name, last_name, email)
        select account_id, 'Jonas', 'Weber', 'Jonas.Weber@nordlicht-logistik.de' from nordlicht
        """
    )
    conn.execute("insert into accounts (name, domain) values ('Alpenbau AG', 'alpenbau.ch')")
    conn.execute(
        "insert into leads (first_name, last_name, company, email) "
        "values ('Sofia', 'Brandt', 'Brandt Design', 'sofia.brandt@brandt-design.at')"
    )


def run(conn: psycopg.Connection, path: Path, **options: object):  # type: ignore[no-untyped-def]
    """Import one fixture export as Maria, the owner (``owner_emails`` unless given)."""
    options.setdefault("owner_emails", OWNERS)
    return import_mail_file(conn, path, **options)  # type: ignore[arg-type]
