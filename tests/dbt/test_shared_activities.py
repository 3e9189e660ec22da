"""Shared activities end to end: mail to two clients, imported, counts for both in the marts.

The mail importer relates every known participant of a message (public.activity_relations); the
bridge fct_activity_relations lists them with the activity's own contact; int_activity_accounts
turns them into accounts; client_health counts the message for every client it went to. One
build on a three-account CRM.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from consulting_crm.dbt_runner import BuildResult
from ingest.errors import ExitCode
from ingest.mail import import_mail_file
from tests.factories.mail_files import OWNERS

NORDLICHT, ALPENBAU, GAMMA = (f"00000000-0000-0000-0000-0000000000a{n}" for n in (1, 2, 3))
JONAS, ANNA = "00000000-0000-0000-0000-0000000000c1", "00000000-0000-0000-0000-0000000000c2"
SOFIA = "00000000-0000-0000-0000-0000000000e1"
UNKNOWN = "00000000-0000-0000-0000-000000000000"

CRM = f"""
insert into public.accounts (account_id, name, domain) values
    ('{NORDLICHT}', 'Nordlicht Logistik GmbH', 'nordlicht-logistik.de'),
    ('{ALPENBAU}', 'Alpenbau AG', 'alpenbau.ch'),
    ('{GAMMA}', 'Gamma Health', 'gamma.example');
insert into public.contacts (contact_id, account_id, first_name, last_name, email) values
    ('{JONAS}', '{NORDLICHT}', 'Jonas', 'Weber', 'jonas.weber@nordlicht-logistik.de'),
    ('{ANNA}', '{ALPENBAU}', 'Anna', 'Keller', 'anna.keller@alpenbau.ch');
insert into public.leads (lead_id, first_name, last_name, company, email) values
    ('{SOFIA}', 'Sofia', 'Brandt', 'Brandt Design', 'sofia.brandt@brandt-design.at');
"""

# Ten days before as_of_date (2025-06-30), to Jonas and Anna, copied to Sofia (a lead).
MESSAGE = """\
From: Maria Kessler <maria@kessler-consulting.de>
To: Jonas Weber <jonas.weber@nordlicht-logistik.de>, Anna Keller <anna.keller@alpenbau.ch>
Cc: sofia.brandt@brandt-design.at
Subject: Joint supplier workshop
Date: Fri, 20 Jun 2025 09:30:00 +0000
Message-ID: <workshop-1@kessler-consulting.de>
Content-Type: text/plain; charset=utf-8

Dear both, the agenda for the joint workshop is attached.
"""


@pytest.fixture(scope="module")
def built(
    make_database: Callable[..., str],
    dbt_build: Callable[..., BuildResult],
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    conninfo = make_database()
    message = tmp_path_factory.mktemp("mail") / "workshop.eml"
    message.write_text(MESSAGE, encoding="utf-8")
    with psycopg.connect(conninfo) as conn:
        conn.execute(CRM)  # type: ignore[arg-type]  # a trusted literal, several statements
        result = import_mail_file(conn, message, owner_emails=OWNERS)
        assert result.status == "loaded", result.message
    build = dbt_build(conninfo)
    assert build.exit_code == ExitCode.OK, "the build failed; dbt's output is above"
    return conninfo


def rows(conninfo: str, query: str) -> list[dict[str, Any]]:
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_the_bridge_lists_the_primary_contact_and_every_participant(built: str) -> None:
    bridge = rows(
        built,
        "select relation_type, contact_id::text, lead_id::text, account_id::text, is_primary "
        "from analytics.fct_activity_relations order by is_primary desc, relation_type, contact_id",
    )
    assert [tuple(row.values()) for row in bridge] == [
        ("contact", JONAS, None, NORDLICHT, True),
        ("contact", ANNA, None, ALPENBAU, False),
        # A lead not converted stands for no account yet.
        ("lead", UNKNOWN, SOFIA, UNKNOWN, False),
    ]


def test_a_message_to_two_clients_counts_for_both(built: str) -> None:
    health = {
        str(row["account_id"]): (
            row["days_since_last_activity"],
            row["activities_90d"],
            row["health_band"],
        )
        for row in rows(built, "select * from analytics.client_health")
    }
    assert health == {
        NORDLICHT: (10, 1, "healthy"),
        ALPENBAU: (10, 1, "healthy"),
        GAMMA: (None, 0, "dormant"),
    }
    touched = rows(
        built,
        "select account_id::text, is_primary_account from intermediate.int_activity_accounts "
        "order by is_primary_account desc",
    )
    assert [tuple(row.values()) for row in touched] == [(NORDLICHT, True), (ALPENBAU, False)]


def test_relations_follow_the_schema_rules(built: str, tmp_path: Path) -> None:
    # The importer's relations are real rows under the table's rules: a second import of the
    # same file adds none.
    with psycopg.connect(built) as conn:
        message = tmp_path / "again.eml"
        message.write_text(MESSAGE, encoding="utf-8")
        again = import_mail_file(conn, message, owner_emails=OWNERS, force=True)
        assert again.status == "loaded", again.message
        count = conn.execute("select count(*) from public.activity_relations").fetchone()
    assert count == (2,)
