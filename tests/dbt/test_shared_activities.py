"""Shared activities end to end: mail to two clients, imported, counts for both in the marts.

The mail importer relates every known participant of a message (public.activity_relations); the
bridge fct_activity_relations lists them with the activity's own contact; int_activity_accounts
turns them into accounts; client_health counts the message for every client it went to. One
build on a three-account CRM.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from consulting_crm.dbt_runner import BuildResult
from ingest.errors import ExitCode
from ingest.mail import import_mail_file
from tests.consulting_crm.exports.test_salesforce import export, read_csv
from tests.factories.mail_files import OWNERS

NORDLICHT, ALPENBAU, GAMMA = (f"00000000-0000-0000-0000-0000000000a{n}" for n in (1, 2, 3))
JONAS, ANNA = "00000000-0000-0000-0000-0000000000c1", "00000000-0000-0000-0000-0000000000c2"
SOFIA = "00000000-0000-0000-0000-0000000000e1"
UNKNOWN = "00000000-0000-0000-0000-000000000000"
MEETING, CALL = "00000000-0000-0000-0000-0000000000f1", "00000000-0000-0000-0000-0000000000f2"

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

# After as_of_date, so client_health does not see them; for the Salesforce export. A meeting
# with Jonas at Nordlicht that also concerns Anna and Sofia; a call on the lead Sofia that also
# concerns Anna (Salesforce cannot relate a contact to a task on a lead).
LATER = f"""
insert into public.activities
    (activity_id, activity_type, occurred_at, ends_at, account_id, contact_id, lead_id, subject)
values
    ('{MEETING}', 'meeting', '2025-07-15 09:00+00', '2025-07-15 10:00+00', '{NORDLICHT}',
        '{JONAS}', null, 'Workshop'),
    ('{CALL}', 'call', '2025-07-16 09:00+00', null, null, null, '{SOFIA}', 'Call with Sofia');
insert into public.activity_relations (activity_id, contact_id, lead_id) values
    ('{MEETING}', '{ANNA}', null),
    ('{MEETING}', null, '{SOFIA}'),
    ('{CALL}', '{ANNA}', null);
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
        conn.execute(LATER)  # type: ignore[arg-type]
    build = dbt_build(conninfo)
    assert build.exit_code == ExitCode.OK, "the build failed; dbt's output is above"
    return conninfo


def test_the_bridge_has_a_row_per_person_and_one_for_the_primary(built: str) -> None:
    bridge = rows(
        built,
        "select activity_id::text, relation_type, is_primary, count(*) as n "
        f"from analytics.fct_activity_relations where activity_id in ('{MEETING}', '{CALL}') "
        "group by 1, 2, 3 order by 1, 2, 3",
    )
    assert [tuple(row.values()) for row in bridge] == [
        (MEETING, "contact", False, 1),  # Anna
        (MEETING, "contact", True, 1),  # Jonas
        (MEETING, "lead", False, 1),  # Sofia
        (CALL, "contact", False, 1),  # Anna
        (CALL, "lead", True, 1),  # Sofia, the call's lead
    ]


def rows(conninfo: str, query: str) -> list[dict[str, Any]]:
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_the_bridge_lists_the_primary_contact_and_every_participant(built: str) -> None:
    bridge = rows(
        built,
        "select r.relation_type, r.contact_id::text, r.lead_id::text, r.account_id::text, "
        "r.is_primary "
        "from analytics.fct_activity_relations r "
        "join analytics.fct_activities a using (activity_id) "
        "where a.subject = 'Joint supplier workshop' "
        "order by r.is_primary desc, r.relation_type, r.contact_id",
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
        "where occurred_date <= '2025-06-30' order by is_primary_account desc",
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
        count = conn.execute(
            "select count(*) from public.activity_relations where source = 'mail'"
        ).fetchone()
    assert count == (2,)


def test_the_salesforce_export_writes_task_and_event_relations(built: str, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert export(built, out, build=True) == ExitCode.OK
    # The mail's further contact Anna; not Sofia (a lead: a Task relates one lead or contacts),
    # not Jonas (the Task's WhoId, which Salesforce relates itself), not the call on a lead.
    (mail,) = rows(
        built, "select activity_id::text from public.activities where activity_type = 'email'"
    )
    assert read_csv(out / "7-TaskRelation.csv") == [
        {
            "Task.Crm_Id__c": mail["activity_id"],
            "Contact:Relation.Crm_Id__c": ANNA,
            "IsWhat": "false",
            "LastModifiedDate": read_csv(out / "7-TaskRelation.csv")[0]["LastModifiedDate"],
        }
    ]
    events = read_csv(out / "8-EventRelation.csv")
    assert [{k: v for k, v in row.items() if k != "LastModifiedDate"} for row in events] == [
        {
            "Event.Crm_Id__c": MEETING,
            "Contact:Relation.Crm_Id__c": ANNA,
            "IsParent": "true",
            "IsInvitee": "false",
        }
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", events[0]["LastModifiedDate"])
