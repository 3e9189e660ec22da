"""`crm export salesforce`: the Salesforce models, the Data Loader files and the round trip.

A small hand-written CRM with crafted values (formula payloads, phone numbers, placeholders) is
built with dbt, exported, checked cell by cell, and imported again with `crm import --profile
salesforce` into an empty database, which must then hold the same records.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; dbt installs it
from psycopg import errors, sql
from psycopg.rows import dict_row

from consulting_crm.cli import main
from consulting_crm.dbt_runner import BuildResult
from consulting_crm.exports.salesforce import (
    FIELD_LIMITS,
    OBJECTS,
    TRUNCATION_MARKER,
    csv_cell,
    export_file_names,
    field_limits_markdown,
    truncate_cell,
)
from ingest.errors import ExitCode
from ingest.formulas import needs_formula_guard


# --------------------------------------------------------------------------------------------
# CSV cells, without a database
# --------------------------------------------------------------------------------------------
def test_csv_cells_are_what_data_loader_reads() -> None:
    berlin = dt.timezone(dt.timedelta(hours=2))
    assert csv_cell(None) == ""
    assert csv_cell(True) == "true"
    assert csv_cell(False) == "false"
    assert csv_cell(dt.datetime(2025, 6, 30, 11, 5, 7, 123999, tzinfo=berlin)) == (
        "2025-06-30T09:05:07.123Z"
    )
    assert csv_cell(dt.date(2025, 6, 30)) == "2025-06-30"
    assert csv_cell(Decimal("12000.00")) == "12000.00"
    assert csv_cell(Decimal("1E+3")) == "1000"
    assert csv_cell(40) == "40"
    assert csv_cell("=1+1") == "'=1+1"


def test_truncate_cell_ends_in_the_marker_within_the_limit() -> None:
    assert truncate_cell("x" * 255, 255) == "x" * 255
    cut = truncate_cell("x" * 300, 255)
    assert len(cut) == 255
    assert cut == "x" * (255 - len(TRUNCATION_MARKER)) + "…[truncated]"


# --------------------------------------------------------------------------------------------
# The field-limit table
# --------------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[3]


def test_every_exported_column_has_a_limit_or_is_unlimited() -> None:
    """The limit table names exactly the columns of the models' contracts, in their order: a
    column added to a model without a limit (or a number marked unlimited) fails here."""
    spec = yaml.safe_load(
        (ROOT / "models/exports/salesforce/_salesforce__models.yml").read_text(encoding="utf-8")
    )
    columns = {model["name"]: [c["name"] for c in model["columns"]] for model in spec["models"]}
    assert {sobject.model: list(FIELD_LIMITS[sobject.name]) for sobject in OBJECTS} == columns
    for sobject in OBJECTS:
        model = next(m for m in spec["models"] if m["name"] == sobject.model)
        for column in model["columns"]:
            limit = FIELD_LIMITS[sobject.name][column["name"]]
            text = column["data_type"] == "text"
            assert (limit is not None) == text, (sobject.name, column["name"], limit)


def test_the_docs_show_the_limit_table() -> None:
    """docs/salesforce-mapping.md carries the table as the code has it (`cog -r` regenerates)."""
    docs = (ROOT / "docs/salesforce-mapping.md").read_text(encoding="utf-8")
    assert field_limits_markdown() in docs


# --------------------------------------------------------------------------------------------
# A small CRM, built and exported
# --------------------------------------------------------------------------------------------
A1, A2, A3 = (f"00000000-0000-0000-0000-0000000000a{n}" for n in range(1, 4))
C1, C2 = (f"00000000-0000-0000-0000-0000000000c{n}" for n in range(1, 3))
P1, P2, P3, P4, P5 = (f"00000000-0000-0000-0000-00000000010{n}" for n in range(1, 6))
L1, L2, L3, L4, L5 = (f"00000000-0000-0000-0000-00000000020{n}" for n in range(1, 6))
T = {n: f"00000000-0000-0000-0000-00000000030{n}" for n in range(1, 8)}
OLD, RECENT = "2024-01-02 09:00+00", "2025-06-01 09:00+00"
SINCE = "2025-05-01"

DATASET = f"""
insert into public.accounts (account_id, name, domain, website, industry, phone, street, city,
    state, postal_code, country, annual_revenue, employee_count, description, created_at,
    updated_at) values
    ('{A1}', 'Acme GmbH', 'acme.example', 'https://www.acme.example', 'Consulting',
        '+49 30 1234567', 'Hauptstr. 1', 'Berlin', 'BE', '10115', 'Germany', 1200000.50, 40,
        '=HYPERLINK("http://evil.example","click")', '2024-01-02 09:00+00', '{OLD}'),
    ('{A2}', '@Risk Partners', 'risk.example', null, null, '-ext. 42', null, null, null, null, null,
        null, null, 'Line one
line two', '2024-02-01 09:00+00', '{RECENT}'),
    ('{A3}', 'Beta', null, null, null, null, null, null, null, null, null, null, null, null,
        '2024-03-01 09:00+00', '{OLD}');

insert into public.contacts (contact_id, account_id, first_name, last_name, email, title,
    department, phone, mobile_phone, city, country, has_opted_out_of_email, description,
    created_at, updated_at) values
    ('{C1}', '{A1}', 'Ada', 'Lovelace', 'Ada@Acme.example', '+SUM(A1)', 'Engineering',
        '+44 20 7946 0000', '+1 555 0100 ext. 12', 'London', 'UK', true, null,
        '2024-01-03 09:00+00', '{RECENT}'),
    ('{C2}', '{A2}', 'Grace', null, 'grace@risk.example', null, null, null, null, null, null,
        false, '''=already quoted', '2024-02-02 09:00+00', '{OLD}');

insert into public.projects (project_id, account_id, primary_contact_id, name, stage, amount,
    currency_code, probability, close_date, start_date, end_date, delivery_status, lead_source,
    project_type, next_step, description, created_at, updated_at) values
    ('{P1}', '{A1}', '{C1}', 'Acme operating model', 'won', 12000, 'EUR', 0.9, '2025-01-15',
        '2025-02-01', '2025-12-31', 'active', 'Referral', 'Strategy', '@mention the board',
        E'\\tindented with a tab', '2024-11-15 12:00+00', '{OLD}'),
    ('{P2}', '{A2}', null, 'Risk review', 'qualification', null, 'EUR', null, null, null, null,
        null, null, null, null, null, '2025-05-20 12:00+00', '{RECENT}'),
    ('{P3}', '{A1}', null, 'Acme pricing', 'proposal', 5000, 'USD', 0.4, '2025-09-30', null,
        null, null, null, null, null, null, '2025-04-01 12:00+00', '{OLD}'),
    ('{P4}', '{A3}', null, 'Beta audit', 'lost', 800, 'EUR', 0, '2024-12-01', null, null, null,
        null, null, null, null, '2024-10-01 12:00+00', '{OLD}'),
    ('{P5}', '{A3}', null, 'Beta rollout', 'negotiation', 2500.5, 'EUR', 0.75, '2025-08-01',
        null, null, null, null, null, null, null, '2025-03-01 12:00+00', '{OLD}');

insert into public.leads (lead_id, first_name, last_name, company, title, email, phone, website,
    city, country, lead_source, status, estimated_amount, description, converted_account_id,
    converted_contact_id, converted_project_id, converted_date, created_at, updated_at) values
    ('{L1}', 'Lena', 'One', 'Acme GmbH', null, 'lena@acme.example', null, null, null, null, 'Web',
        'converted', 15000, null, '{A1}', '{C1}', '{P1}', '2025-01-10', '2024-12-01 09:00+00',
        '{OLD}'),
    ('{L2}', null, null, null, null, 'only@mail.example', null, null, null, null, null, 'new',
        null, null, null, null, null, null, '2025-05-02 09:00+00', '{RECENT}'),
    ('{L3}', 'Max', 'Three', '=cmd|'' /C calc''!A0', 'CEO', 'max@three.example',
        '+1 (555) 010-0000', 'https://three.example', 'Paris', 'France', 'LinkedIn', 'contacted',
        null, '-12 is not a number', null, null, null, null, '2025-02-01 09:00+00', '{OLD}'),
    ('{L4}', 'Quinn', 'Four', 'Four Ltd', null, null, null, null, null, null, null, 'qualified',
        null, null, null, null, null, null, '2025-02-02 09:00+00', '{OLD}'),
    ('{L5}', 'Una', 'Five', 'Five SA', null, null, null, null, null, null, null, 'unqualified',
        null, null, null, null, null, null, '2025-02-03 09:00+00', '{OLD}');

-- The database stamps a new activity's updated_at; these are old ones, as if imported long ago.
alter table public.activities disable trigger activities_stamp_updated_at;
insert into public.activities (activity_id, activity_type, direction, status, subject, body,
    occurred_at, ends_at, due_date, lead_id, account_id, project_id, contact_id, created_at,
    updated_at) values
    ('{T[1]}', 'email', 'outbound', 'completed', 'Re: proposal', 'Hello,
=SUM(A1) is inside, not at the start', '2025-01-05 10:00:00.123456+00', null, null, null, '{A1}',
        null, '{C1}', '2025-01-05 10:01+00', '{OLD}'),
    ('{T[2]}', 'call', 'inbound', 'completed', 'Intro call', null, '2025-02-02 15:30+00', null,
        null, '{L3}', null, null, null, '2025-02-02 16:00+00', '{RECENT}'),
    ('{T[3]}', 'meeting', null, 'completed', 'Kick-off', 'Agenda', '2025-02-03 09:00+00',
        '2025-02-03 10:30+00', null, null, null, '{P1}', '{C1}', '2025-01-30 09:00+00', '{OLD}'),
    ('{T[4]}', 'meeting', null, 'completed', 'Coffee', null, '2025-01-08 08:00+00', null, null,
        '{L1}', null, null, null, '2025-01-07 08:00+00', '{OLD}'),
    ('{T[5]}', 'task', null, 'open', '-follow up', null, '2025-06-01 09:00+00', null,
        '2025-07-01', null, null, '{P3}', null, '2025-06-01 09:00+00', '{RECENT}'),
    ('{T[6]}', 'note', null, 'completed', 'Met at the fair', 'Seems keen', '2025-03-01 12:00+00',
        null, null, null, '{A2}', null, '{C2}', '2025-03-01 12:00+00', '{OLD}'),
    ('{T[7]}', 'email', 'outbound', 'cancelled', 'Draft never sent', null,
        '2025-03-02 12:00+00', null, null, null, '{A3}', null, null, '2025-03-02 12:00+00',
        '{OLD}');
alter table public.activities enable trigger activities_stamp_updated_at;
"""

ALL_FILES = [
    "1-Account.csv",
    "2-Contact.csv",
    "3-Opportunity.csv",
    "4-Lead.csv",
    "5-Task-Lead.csv",
    "5-Task-Account.csv",
    "5-Task-Opportunity.csv",
    "6-Event-Lead.csv",
    "6-Event-Account.csv",
    "6-Event-Opportunity.csv",
    "7-TaskRelation.csv",
    "8-EventRelation.csv",
]


def point_at(monkeypatch: pytest.MonkeyPatch, conninfo: str) -> None:
    for name in ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", conninfo)


def export(conninfo: str, out: Path, *extra: str, build: bool = False) -> int:
    """`crm export salesforce`; by default without its own build (the fixtures built already)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, conninfo)
        flags = [] if build else ["--no-build"]
        return main(["export", "salesforce", str(out), *flags, *extra])


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM: Data Loader would read it into a header"
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["Crm_Id__c"]: row for row in rows}


@pytest.fixture(scope="module")
def source_db(make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]) -> str:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(DATASET)  # type: ignore[arg-type]
    result = dbt_build(conninfo, "--select", "path:models/exports/salesforce")
    assert result.exit_code == ExitCode.OK, result
    return conninfo


@pytest.fixture(scope="module")
def exported(source_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("salesforce") / "export"
    assert export(source_db, out) == ExitCode.OK
    return out


def test_one_file_per_object_in_load_order(exported: Path) -> None:
    assert export_file_names() == ALL_FILES
    written = sorted(path.name for path in exported.iterdir())
    # Every object has rows here except Events on accounts (no meeting belongs to an account)
    # and the relations (no shared activities here; tests/dbt/test_shared_activities.py has them).
    empty = {"6-Event-Account.csv", "7-TaskRelation.csv", "8-EventRelation.csv"}
    assert written == sorted(name for name in ALL_FILES if name not in empty)
    counts = {name: len(read_csv(exported / name)) for name in written}
    assert counts == {
        "1-Account.csv": 3,
        "2-Contact.csv": 2,
        "3-Opportunity.csv": 5,
        "4-Lead.csv": 5,
        "5-Task-Lead.csv": 1,
        "5-Task-Account.csv": 3,
        "5-Task-Opportunity.csv": 1,
        "6-Event-Lead.csv": 1,
        "6-Event-Opportunity.csv": 1,
    }


def test_formula_payloads_are_guarded_and_numbers_are_not(exported: Path) -> None:
    accounts = by_id(read_csv(exported / "1-Account.csv"))
    assert accounts[A1]["Description"] == '\'=HYPERLINK("http://evil.example","click")'
    assert accounts[A1]["Phone"] == "+49 30 1234567"
    assert accounts[A1]["AnnualRevenue"] == "1200000.50"
    assert accounts[A2]["Name"] == "'@Risk Partners"
    assert accounts[A2]["Phone"] == "'-ext. 42"
    assert accounts[A2]["Description"] == "Line one\nline two"
    contacts = by_id(read_csv(exported / "2-Contact.csv"))
    assert contacts[C1]["Title"] == "'+SUM(A1)"
    assert contacts[C1]["Phone"] == "+44 20 7946 0000"
    assert contacts[C1]["MobilePhone"] == "'+1 555 0100 ext. 12"
    assert contacts[C2]["Description"] == "''=already quoted"
    opportunities = by_id(read_csv(exported / "3-Opportunity.csv"))
    assert opportunities[P1]["NextStep"] == "'@mention the board"
    # btrim() takes spaces only: the tab stays, and is guarded.
    assert opportunities[P1]["Description"] == "'\tindented with a tab"
    leads = by_id(read_csv(exported / "4-Lead.csv"))
    assert leads[L3]["Company"] == "'=cmd|' /C calc'!A0"
    assert leads[L3]["Phone"] == "+1 (555) 010-0000"
    assert leads[L3]["Description"] == "'-12 is not a number"
    task = by_id(read_csv(exported / "5-Task-Opportunity.csv"))[T[5]]
    assert task["Subject"] == "'-follow up"
    email = by_id(read_csv(exported / "5-Task-Account.csv"))[T[1]]
    assert email["Description"] == "Hello,\n=SUM(A1) is inside, not at the start"
    # No cell of any file starts (after spaces) with a formula character unless it is a
    # signed number or phone.
    for path in exported.iterdir():
        for row in read_csv(path):
            for value in row.values():
                assert not needs_formula_guard(value) or value.startswith("'"), (path, value)


def test_picklists_are_salesforce_values(exported: Path) -> None:
    leads = by_id(read_csv(exported / "4-Lead.csv"))
    assert {key: row["Status"] for key, row in leads.items()} == {
        L1: "Closed - Converted",
        L2: "Open - Not Contacted",
        L3: "Working - Contacted",
        L4: "Qualified",
        L5: "Unqualified",
    }
    assert leads[L1]["IsConverted"] == "true"
    assert leads[L2]["IsConverted"] == "false"
    assert leads[L2]["LastName"] == "[not provided]"
    assert leads[L2]["Company"] == "[not provided]"
    opportunities = by_id(read_csv(exported / "3-Opportunity.csv"))
    assert {key: (row["StageName"], row["Probability"]) for key, row in opportunities.items()} == {
        P1: ("Closed Won", "90.00"),
        P2: ("Qualification", ""),  # none recorded: Salesforce applies the stage's default
        P3: ("Proposal/Price Quote", "40.00"),
        P4: ("Closed Lost", "0.00"),
        P5: ("Negotiation/Review", "75.00"),
    }
    assert opportunities[P2]["CloseDate"] == "2025-05-20"  # required: the day it was created
    tasks = by_id(
        read_csv(exported / "5-Task-Lead.csv")
        + read_csv(exported / "5-Task-Account.csv")
        + read_csv(exported / "5-Task-Opportunity.csv")
    )
    assert {
        key: (row["TaskSubtype"], row["Status"], row["CallType"]) for key, row in tasks.items()
    } == {
        T[1]: ("Email", "Completed", ""),
        T[2]: ("Call", "Completed", "Inbound"),
        T[5]: ("Task", "Not Started", ""),
        T[6]: ("Task", "Completed", ""),
        T[7]: ("Email", "Deferred", ""),
    }
    assert {row["Priority"] for row in tasks.values()} == {"Normal"}
    assert tasks[T[1]]["CompletedDateTime"] == "2025-01-05T10:00:00.123Z"
    assert tasks[T[5]]["ActivityDate"] == tasks[T[5]]["Crm_Due_Date__c"] == "2025-07-01"
    event = by_id(read_csv(exported / "6-Event-Opportunity.csv"))[T[3]]
    assert (event["StartDateTime"], event["EndDateTime"]) == (
        "2025-02-03T09:00:00.000Z",
        "2025-02-03T10:30:00.000Z",
    )
    coffee = by_id(read_csv(exported / "6-Event-Lead.csv"))[T[4]]
    assert coffee["EndDateTime"] == coffee["StartDateTime"] == "2025-01-08T08:00:00.000Z"


def test_references_go_through_external_ids(exported: Path) -> None:
    contacts = by_id(read_csv(exported / "2-Contact.csv"))
    assert {key: row["Account.Crm_Id__c"] for key, row in contacts.items()} == {C1: A1, C2: A2}
    opportunities = by_id(read_csv(exported / "3-Opportunity.csv"))
    assert opportunities[P1]["Account.Crm_Id__c"] == A1
    assert opportunities[P1]["Contact.Crm_Id__c"] == C1
    lead = by_id(read_csv(exported / "4-Lead.csv"))[L1]
    assert (
        lead["ConvertedAccount.Crm_Id__c"],
        lead["ConvertedContact.Crm_Id__c"],
        lead["ConvertedOpportunity.Crm_Id__c"],
        lead["ConvertedDate"],
    ) == (A1, C1, P1, "2025-01-10")
    # Each Task/Event file points its polymorphic WhoId/WhatId at one kind of record only.
    headers = {
        name: next(csv.reader((exported / name).open(encoding="utf-8")))
        for name in ("5-Task-Lead.csv", "5-Task-Account.csv", "6-Event-Opportunity.csv")
    }
    references = {
        name: [header for header in row if ":" in header] for name, row in headers.items()
    }
    assert references == {
        "5-Task-Lead.csv": ["Lead:Who.Crm_Id__c"],
        "5-Task-Account.csv": ["Contact:Who.Crm_Id__c", "Account:What.Crm_Id__c"],
        "6-Event-Opportunity.csv": ["Contact:Who.Crm_Id__c", "Opportunity:What.Crm_Id__c"],
    }
    call = read_csv(exported / "5-Task-Lead.csv")[0]
    assert (call["Crm_Id__c"], call["Lead:Who.Crm_Id__c"]) == (T[2], L3)
    account_tasks = by_id(read_csv(exported / "5-Task-Account.csv"))
    assert account_tasks[T[1]]["Contact:Who.Crm_Id__c"] == C1
    assert account_tasks[T[1]]["Account:What.Crm_Id__c"] == A1
    assert account_tasks[T[7]]["Contact:Who.Crm_Id__c"] == ""
    kickoff = read_csv(exported / "6-Event-Opportunity.csv")[0]
    assert (kickoff["Contact:Who.Crm_Id__c"], kickoff["Opportunity:What.Crm_Id__c"]) == (C1, P1)


def test_every_activity_carries_its_date_in_a_field_data_loader_sets(exported: Path) -> None:
    """A Task's ActivityDate is its due date, else the day it happened (CompletedDateTime cannot
    be loaded); an Event has ActivityDateTime, StartDateTime and EndDateTime."""
    tasks = by_id(
        read_csv(exported / "5-Task-Lead.csv")
        + read_csv(exported / "5-Task-Account.csv")
        + read_csv(exported / "5-Task-Opportunity.csv")
    )
    assert {key: (row["ActivityDate"], row["Crm_Due_Date__c"]) for key, row in tasks.items()} == {
        T[1]: ("2025-01-05", ""),
        T[2]: ("2025-02-02", ""),
        T[5]: ("2025-07-01", "2025-07-01"),
        T[6]: ("2025-03-01", ""),
        T[7]: ("2025-03-02", ""),
    }
    events = by_id(
        read_csv(exported / "6-Event-Lead.csv") + read_csv(exported / "6-Event-Opportunity.csv")
    )
    assert {
        key: (row["ActivityDateTime"], row["StartDateTime"], row["EndDateTime"])
        for key, row in events.items()
    } == {
        T[3]: ("2025-02-03T09:00:00.000Z", "2025-02-03T09:00:00.000Z", "2025-02-03T10:30:00.000Z"),
        T[4]: ("2025-01-08T08:00:00.000Z", "2025-01-08T08:00:00.000Z", "2025-01-08T08:00:00.000Z"),
    }


def test_the_estimate_goes_to_its_own_field_not_annual_revenue(exported: Path) -> None:
    leads = read_csv(exported / "4-Lead.csv")
    assert "AnnualRevenue" not in leads[0]
    assert {row["Crm_Id__c"]: row["Estimated_Amount__c"] for row in leads}[L1] == "15000.00"


def test_since_exports_only_what_changed_and_clears_stale_files(
    source_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "incremental"
    assert export(source_db, out) == ExitCode.OK
    assert len(list(out.iterdir())) == 9
    assert export(source_db, out, "--since", SINCE) == ExitCode.OK
    files = {path.name: by_id(read_csv(path)) for path in out.iterdir()}
    assert {name: sorted(rows) for name, rows in files.items()} == {
        "1-Account.csv": [A2],
        "2-Contact.csv": [C1],
        "3-Opportunity.csv": [P2],
        "4-Lead.csv": [L2],
        "5-Task-Lead.csv": [T[2]],
        "5-Task-Opportunity.csv": [T[5]],
    }


def test_bad_since_and_missing_models_are_one_line_errors(
    make_database: Callable[..., str], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    unbuilt = make_database()
    assert export(unbuilt, tmp_path / "a", "--since", "30/06/2025") == ExitCode.USER_ERROR
    assert '--since "30/06/2025" is not a date; write it as YYYY-MM-DD' in capfd.readouterr().err
    assert export(unbuilt, tmp_path / "b") == ExitCode.USER_ERROR
    err = capfd.readouterr().err
    assert "the Salesforce models are not built (salesforce.sf_account" in " ".join(err.split())
    assert "without --no-build (it builds them)" in " ".join(err.split())
    assert not (tmp_path / "b").exists()


def test_a_plain_build_leaves_them_out_and_the_export_builds_them(
    make_database: Callable[..., str], dbt_build: Callable[..., BuildResult], tmp_path: Path
) -> None:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(DATASET)  # type: ignore[arg-type]
    assert dbt_build(conninfo).exit_code == ExitCode.OK
    with psycopg.connect(conninfo) as conn:
        built = conn.execute(
            "select to_regclass('analytics.fct_activities') is not null, "
            "to_regclass('salesforce.sf_account') is not null"
        ).fetchone()
    assert built == (True, False)  # the nightly build does not pay for the Salesforce models
    assert export(conninfo, tmp_path / "out", build=True) == ExitCode.OK
    accounts = read_csv(tmp_path / "out" / "1-Account.csv")
    with psycopg.connect(conninfo) as conn:
        stored = conn.execute("select count(*) from accounts").fetchone()
    assert stored is not None and len(accounts) == stored[0] > 0


def test_powerbi_cannot_read_the_salesforce_schema(source_db: str) -> None:
    with psycopg.connect(source_db, autocommit=True) as conn:
        grants = conn.execute(
            "select count(*) from information_schema.role_table_grants "
            "where table_schema = 'salesforce' and grantee = 'powerbi_reader'"
        ).fetchone()
        assert grants == (0,)
        conn.execute("set role powerbi_reader")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("select * from {}.{}").format(
                    sql.Identifier("salesforce"), sql.Identifier("sf_account")
                )
            )


# --------------------------------------------------------------------------------------------
# Values too long for their Salesforce field
# --------------------------------------------------------------------------------------------
# Names, subjects and most text already have the database's own limits (schema.sql, at most
# Salesforce's); what is left to catch is where Salesforce allows less than the CRM stores: long
# text areas (32,000) and fields under 255 such as Title (128).
OVERSIZED = f"""
update public.accounts set description = repeat('x', 32001) where account_id = '{A1}';
-- 128 characters, Title's limit, but the formula guard makes the written cell 129.
update public.contacts set title = '=' || repeat('t', 127) where contact_id = '{C1}';
update public.activities set body = repeat('s', 40000) where activity_id = '{T[1]}';
"""


@pytest.fixture(scope="module")
def oversized_db(make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]) -> str:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(DATASET)  # type: ignore[arg-type]
        conn.execute(OVERSIZED)  # type: ignore[arg-type]
    result = dbt_build(conninfo, "--select", "path:models/exports/salesforce")
    assert result.exit_code == ExitCode.OK, result
    return conninfo


def test_values_too_long_stop_the_export_before_any_file_is_written(
    oversized_db: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    out.mkdir()
    (out / "1-Account.csv").write_text("an earlier export\n", encoding="utf-8")
    assert export(oversized_db, out) == ExitCode.USER_ERROR
    err = capfd.readouterr().err
    assert err.splitlines() == [
        "error: 3 values are longer than the Salesforce field allows, so nothing was written "
        "(Data Loader would reject these rows):",
        f'  Account {A1} "Acme GmbH": Description has 32,001 characters, Salesforce allows 32,000',
        f'  Contact {C1} "Ada Lovelace": Title has 129 characters, Salesforce allows 128',
        f'  Task {T[1]} "Re: proposal": Description has 40,000 characters, Salesforce allows '
        "32,000",
        "Shorten them in the CRM, or export with --truncate to cut them to the limit, ending in "
        '"…[truncated]".',
    ]
    assert [path.name for path in out.iterdir()] == ["1-Account.csv"]
    assert (out / "1-Account.csv").read_text(encoding="utf-8") == "an earlier export\n"


def test_truncate_cuts_them_with_a_marker_and_says_how_many(
    oversized_db: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    assert export(oversized_db, out, "--truncate") == ExitCode.OK
    shown = " ".join(capfd.readouterr().out.split())
    assert (
        '3 values were longer than the Salesforce field allows and cut to fit, ending in "…'
        '[truncated]": Account ' in shown
    )
    assert f"Task {T[1]}" in shown
    account = by_id(read_csv(out / "1-Account.csv"))[A1]
    assert account["Description"] == "x" * (32000 - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER
    contact = by_id(read_csv(out / "2-Contact.csv"))[C1]
    assert contact["Title"] == "'=" + "t" * 114 + TRUNCATION_MARKER
    assert len(contact["Title"]) == 128
    email = by_id(read_csv(out / "5-Task-Account.csv"))[T[1]]
    assert email["Description"] == "s" * (32000 - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER
    # Values that fit are written as they are.
    assert by_id(read_csv(out / "1-Account.csv"))[A2]["Name"] == "'@Risk Partners"


# --------------------------------------------------------------------------------------------
# The round trip
# --------------------------------------------------------------------------------------------
def fetch(conninfo: str, query: str) -> dict[str, dict[str, Any]]:
    """Rows keyed by the original UUID: the key itself there, the external id after the trip."""
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return {str(row.pop("key")): row for row in conn.execute(query)}  # type: ignore[arg-type]


ACCOUNTS = """
    select {key} as key, name, domain, coalesce(website, domain) as website, industry, phone,
           street, city, state, postal_code, country, annual_revenue, employee_count, description,
           date_trunc('milliseconds', created_at) as created_at
    from public.accounts t
"""
CONTACTS = """
    select {key} as key, {ref}(t.account_id) as account, first_name, last_name, email, title,
           department, phone, mobile_phone, city, country, has_opted_out_of_email, description,
           date_trunc('milliseconds', created_at) as created_at
    from public.contacts t
"""
PROJECTS = """
    select {key} as key, {ref}(t.account_id) as account, {ref}(t.primary_contact_id) as contact,
           name, stage, amount, currency_code, probability,
           coalesce(close_date, created_at::date) as close_date, project_type, lead_source,
           next_step, description, date_trunc('milliseconds', created_at) as created_at
    from public.projects t
"""
LEADS = """
    select {key} as key, first_name, last_name, company, title, email, phone, website, city,
           country, lead_source, status, estimated_amount, description, converted_date,
           {ref}(t.converted_account_id) as converted_account,
           {ref}(t.converted_contact_id) as converted_contact,
           {ref}(t.converted_project_id) as converted_project,
           date_trunc('milliseconds', created_at) as created_at
    from public.leads t
"""
ACTIVITIES = """
    select {key} as key,
           case when activity_type = 'note' then 'task' else activity_type::text end as type,
           case when status = 'cancelled' and activity_type <> 'meeting' then 'open'
                when activity_type = 'meeting' then 'completed' else status::text end as status,
           subject, body, date_trunc('milliseconds', occurred_at) as occurred_at,
           coalesce(ends_at, case when activity_type = 'meeting' then occurred_at end) as ends_at,
           due_date, {ref}(t.lead_id) as lead, {ref}(t.account_id) as account,
           {ref}(t.project_id) as project,
           case when t.lead_id is null then {ref}(t.contact_id) end as contact,
           date_trunc('milliseconds', created_at) as created_at
    from public.activities t
"""


def reference_sql(imported: bool) -> Callable[[str], str]:
    """How a query names a related row: its UUID in the original database, the external id it
    got from Crm_Id__c in the imported one."""

    def ref(column: str) -> str:
        if not imported:
            return f"{column}::text"
        table = {
            "t.account_id": "accounts a where a.account_id",
            "t.primary_contact_id": "contacts a where a.contact_id",
            "t.contact_id": "contacts a where a.contact_id",
            "t.converted_account_id": "accounts a where a.account_id",
            "t.converted_contact_id": "contacts a where a.contact_id",
            "t.converted_project_id": "projects a where a.project_id",
            "t.lead_id": "leads a where a.lead_id",
            "t.project_id": "projects a where a.project_id",
        }[column]
        return f"(select a.external_id from public.{table} = {column})"

    return ref


def query_for(template: str, *, imported: bool, id_column: str) -> str:
    ref = reference_sql(imported)
    text = template.replace("{key}", "t.external_id" if imported else f"t.{id_column}::text")
    while "{ref}(" in text:
        start = text.index("{ref}(")
        end = text.index(")", start)
        column = text[start + len("{ref}(") : end]
        text = text[:start] + ref(column) + text[end + 1 :]
    return text


@pytest.mark.parametrize(
    ("template", "id_column"),
    [
        (ACCOUNTS, "account_id"),
        (CONTACTS, "contact_id"),
        (PROJECTS, "project_id"),
        (LEADS, "lead_id"),
        (ACTIVITIES, "activity_id"),
    ],
    ids=["accounts", "contacts", "projects", "leads", "activities"],
)
def test_round_trip_gives_the_same_records(
    source_db: str, round_tripped: str, template: str, id_column: str
) -> None:
    before = fetch(source_db, query_for(template, imported=False, id_column=id_column))
    after = fetch(round_tripped, query_for(template, imported=True, id_column=id_column))
    assert before, "the dataset has rows of every kind"
    assert after == before


@pytest.fixture(scope="module")
def round_tripped(
    exported: Path, make_database: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """`crm import --profile salesforce` of the export into an empty database."""
    target = make_database()
    files = sorted(str(path) for path in exported.iterdir())
    reports = tmp_path_factory.mktemp("reject-reports")
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, target)
        code = main(["import", "--profile", "salesforce", "--report-dir", str(reports), *files])
    assert code == ExitCode.OK
    return target


def test_round_trip_loses_only_what_the_mapping_says(round_tripped: str) -> None:
    """Fields with no Salesforce home come back empty, as docs/salesforce-mapping.md lists."""
    with psycopg.connect(round_tripped) as conn:
        project = conn.execute(
            "select start_date, end_date, delivery_status from public.projects "
            "where external_id = %s",
            (P1,),
        ).fetchone()
        directions = conn.execute(
            "select count(*) from public.activities where direction is not null"
        ).fetchone()
        sources = conn.execute(
            "select distinct source from public.accounts union select source from public.leads"
        ).fetchall()
    assert project == (None, None, None)
    assert directions == (0,)
    assert sources == [("salesforce",)]


TEMPLATES = [
    (ACCOUNTS, "account_id"),
    (CONTACTS, "contact_id"),
    (PROJECTS, "project_id"),
    (LEADS, "lead_id"),
    (ACTIVITIES, "activity_id"),
]


@pytest.mark.slow
def test_the_demo_data_survives_the_round_trip(
    make_database: Callable[..., str], tmp_path: Path
) -> None:
    """`crm demo`'s consultancy, exported and imported into an empty database: every record with
    every value, date (activities' included) and relation, but for what the mapping says."""
    source = make_database(with_schema=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, source)
        assert main(["demo", "--out", str(tmp_path / "demo")]) == ExitCode.OK
    out = tmp_path / "export"
    assert export(source, out, build=True) == ExitCode.OK
    target = make_database()
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, target)
        files = sorted(str(path) for path in out.iterdir())
        reports = str(tmp_path / "reports")
        assert main(["import", "--profile", "salesforce", "--report-dir", reports, *files]) == 0
    for template, id_column in TEMPLATES:
        before = fetch(source, query_for(template, imported=False, id_column=id_column))
        after = fetch(target, query_for(template, imported=True, id_column=id_column))
        assert before, template
        assert sorted(after) == sorted(before), template
        differences = {
            (key, name): (value, after[key][name])
            for key, row in before.items()
            for name, value in row.items()
            if after[key][name] != value
        }
        assert differences == {}, template


SALESFORCE_LEADS = """Id,LastName,Company,Status,AnnualRevenue,IsConverted,ConvertedDate,\
ConvertedAccountId,ConvertedContactId,ConvertedOpportunityId,CreatedDate
00Q5g00000ZzConvAAA,Shankar,Northwind Traders,Closed - Converted,12000000,true,2024-02-10,\
0015g00000QxAbCAAV,0035g00000XyZaAAAQ,0065g00000OpP2AAAV,2024-01-05T09:00:00.000Z
"""


def test_a_salesforce_lead_export_links_what_the_lead_became(
    make_database: Callable[..., str], tmp_path: Path
) -> None:
    """Salesforce's own Data Loader export: ConvertedContactId and ConvertedOpportunityId link
    the imported contact and opportunity; the lead company's AnnualRevenue is no estimate."""
    target = make_database()
    leads = tmp_path / "leads.csv"
    leads.write_text(SALESFORCE_LEADS, encoding="utf-8")
    data = ROOT / "tests/data/spreadsheets"
    files = [
        data / "salesforce_accounts.csv",
        data / "salesforce_contacts_report.csv",
        data / "salesforce_opportunities.csv",
        leads,
    ]
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, target)
        code = main(["import", "--profile", "salesforce", *(str(path) for path in files)])
    assert code == ExitCode.OK
    with psycopg.connect(target) as conn:
        lead = conn.execute(
            "select l.status::text, l.converted_date::text, a.external_id, c.external_id, "
            "p.external_id, l.estimated_amount from public.leads l "
            "join public.accounts a on a.account_id = l.converted_account_id "
            "join public.contacts c on c.contact_id = l.converted_contact_id "
            "join public.projects p on p.project_id = l.converted_project_id"
        ).fetchall()
    assert lead == [
        (
            "converted",
            "2024-02-10",
            "0015g00000QxAbCAAV",
            "0035g00000XyZaAAAQ",
            "0065g00000OpP2AAAV",
            None,
        )
    ]


def test_a_second_import_of_the_export_changes_nothing(exported: Path, round_tripped: str) -> None:
    with psycopg.connect(round_tripped) as conn:
        before = conn.execute("select max(updated_at) from public.activities").fetchone()
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, round_tripped)
        code = main(["import", "--profile", "salesforce", "--force", str(exported)])
    assert code == ExitCode.OK
    with psycopg.connect(round_tripped) as conn:
        after = conn.execute("select max(updated_at) from public.activities").fetchone()
        counts = conn.execute(
            "select (select count(*) from public.accounts), (select count(*) from public.contacts),"
            " (select count(*) from public.projects), (select count(*) from public.leads),"
            " (select count(*) from public.activities)"
        ).fetchone()
    assert after == before
    assert counts == (3, 2, 5, 5, 7)
