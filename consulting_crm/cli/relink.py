"""The `crm relink` command (registered in :mod:`consulting_crm.cli`)."""

from __future__ import annotations

from consulting_crm import database as db
from consulting_crm.cli.output import console


def relink_command() -> None:
    """Link earlier imported, unmatched mail to the contacts, leads and accounts there are now.

    Runs by itself after every spreadsheet import; run it by hand after adding people in psql or
    through the API. Exit codes as for every crm command (0 ok, 3 a problem you can fix).
    """
    from ingest.mail import relink

    target = db.resolve_target()
    with db.connect(target) as conn:
        linked = relink(conn)
        row = conn.execute(
            "select count(*) from ingest.mail_messages where link_state = 'unmatched'"
        ).fetchone()
    waiting = int(row[0]) if row else 0
    console.print(
        f"Linked {linked:,} message(s); {waiting:,} unmatched message(s) still wait for a "
        "contact, lead or account."
    )
