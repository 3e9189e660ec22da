"""How a later import merges into stored records: first-touch facts, profile constants,
placeholders, and external ids per source system (issue 13)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ingest.entities import PLACEHOLDERS, REGISTRY, Field
from tests.factories.imports import counts, run_import, snapshot

LINKEDIN_HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
PLACEHOLDER_SUMMARY = (
    "profile google_contacts:current (chosen from the headers); utf-8, delimiter ','; "
    '0 to contacts, 1 to leads; placeholders like "-" in "Phone 1 - Value" read as blank'
)
HUBSPOT_HEADER = "Record ID,First Name,Last Name,Email,Phone Number,Create Date,Original Source\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lead(conn: psycopg.Connection, email: str) -> tuple[object, ...] | None:
    return conn.execute(
        "select created_at::date::text, lead_source, title, linkedin_url, external_id, "
        "external_system, source from leads where email = %s",
        (email,),
    ).fetchone()


def hubspot_then_linkedin(tmp_path: Path) -> tuple[Path, Path]:
    hubspot = write(
        tmp_path,
        "hubspot.csv",
        HUBSPOT_HEADER
        + "901,Hannah,Lindqvist,hannah@kessler.example,,2024-03-12 09:20,Offline Sources\n"
        + "902,Marta,Okafor,marta@brightwater.example,,2024-04-02 10:00,\n",
    )
    linkedin = write(
        tmp_path,
        "Connections.csv",
        LINKEDIN_HEADER
        + "Hannah,Lindqvist,https://www.linkedin.com/in/hannah,hannah@kessler.example,"
        + "Kessler Bau,CFO,07 Dec 2025\n"
        + "Marta,Okafor,https://www.linkedin.com/in/marta,marta@brightwater.example,"
        + "Brightwater,Head of Data,15 Nov 2024\n",
    )
    return hubspot, linkedin


def test_a_later_import_keeps_first_touch_facts_and_fills_only_blanks(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    hubspot, linkedin = hubspot_then_linkedin(tmp_path)
    assert counts(run_import(fresh, hubspot, tmp_path)) == (2, 0, 0, 0)
    result = run_import(fresh, linkedin, tmp_path)
    assert counts(result) == (0, 2, 0, 0), result.message
    # HubSpot's create date is earlier and stays; its Original Source stays; LinkedIn fills the
    # title and profile URL HubSpot did not have, and keeps HubSpot's record id as the id.
    assert lead(fresh, "hannah@kessler.example") == (
        "2024-03-12",
        "Offline Sources",
        "CFO",
        "https://www.linkedin.com/in/hannah",
        "901",
        "hubspot",
        "hubspot",
    )
    # A blank lead source takes the LinkedIn profile's constant.
    assert lead(fresh, "marta@brightwater.example") == (
        "2024-04-02",
        "LinkedIn",
        "Head of Data",
        "https://www.linkedin.com/in/marta",
        "902",
        "hubspot",
        "hubspot",
    )


def test_the_earliest_date_wins_in_either_order(fresh: psycopg.Connection, tmp_path: Path) -> None:
    hubspot, linkedin = hubspot_then_linkedin(tmp_path)
    run_import(fresh, linkedin, tmp_path)
    assert counts(run_import(fresh, hubspot, tmp_path)) == (0, 2, 0, 0)
    assert lead(fresh, "hannah@kessler.example") == (
        "2024-03-12",  # HubSpot's, earlier than the LinkedIn connection (Dec 2025)
        "LinkedIn",  # the first source known stays: HubSpot's only fills a blank
        "CFO",
        "https://www.linkedin.com/in/hannah",
        "https://www.linkedin.com/in/hannah",  # the first id a record got stays
        "linkedin",
        "linkedin",
    )
    # Marta's LinkedIn date (Nov 2024) is later than HubSpot's (Apr 2024): HubSpot's wins.
    marta = lead(fresh, "marta@brightwater.example")
    assert marta is not None and marta[:2] == ("2024-04-02", "LinkedIn")


def test_reimporting_after_a_merge_changes_nothing(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    hubspot, linkedin = hubspot_then_linkedin(tmp_path)
    run_import(fresh, hubspot, tmp_path)
    run_import(fresh, linkedin, tmp_path)
    before = snapshot(fresh)
    for path in (linkedin, hubspot):
        assert counts(run_import(fresh, path, tmp_path, force=True)) == (0, 0, 2, 0)
    assert snapshot(fresh) == before


def test_a_generic_file_never_overwrites_the_lead_source_or_makes_a_record_younger(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    header = "email,last_name,lead_source,created_at,title\n"
    run_import(
        fresh, write(tmp_path, "a.csv", header + "a@x.example,Alm,Webinar,2024-05-01,\n"), tmp_path
    )
    result = run_import(
        fresh,
        write(tmp_path, "b.csv", header + "a@x.example,Alm,Referral,2025-01-01,CEO\n"),
        tmp_path,
    )
    assert counts(result) == (0, 1, 0, 0)
    assert lead(fresh, "a@x.example")[:3] == ("2024-05-01", "Webinar", "CEO")  # type: ignore[index]
    run_import(fresh, write(tmp_path, "c.csv", header + "a@x.example,Alm,,2023-01-01,\n"), tmp_path)
    assert lead(fresh, "a@x.example")[:3] == ("2023-01-01", "Webinar", "CEO")  # type: ignore[index]


def test_a_profile_constant_never_overwrites_a_stored_value(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    accounts = write(tmp_path, "accounts.csv", "Id,Name,Website\n001A,Acme,acme.example\n")
    run_import(fresh, accounts, tmp_path)
    header = "Id,WhatId,Subject,ActivityDate,Status,Priority,TaskSubtype\n"
    first = run_import(
        fresh,
        write(
            tmp_path, "tasks.csv", header + "00T1,001A,Call Acme,2024-05-06,Completed,Normal,Call\n"
        ),
        tmp_path,
    )
    assert counts(first) == (1, 0, 0, 0), first.message
    # The subtype is blank now: the profile's constant ("task") must not turn the call into a
    # task, while the new subject is written.
    second = run_import(
        fresh,
        write(
            tmp_path, "tasks2.csv", header + "00T1,001A,Called Acme,2024-05-06,Completed,Normal,\n"
        ),
        tmp_path,
    )
    assert counts(second) == (0, 1, 0, 0), second.message
    assert fresh.execute("select activity_type::text, subject from activities").fetchall() == [
        ("call", "Called Acme")
    ]
    # A new record takes the constant.
    run_import(
        fresh,
        write(tmp_path, "tasks3.csv", header + "00T2,001A,Note,2024-05-07,Completed,Normal,\n"),
        tmp_path,
    )
    assert fresh.execute(
        "select activity_type::text from activities where external_id = '00T2'"
    ).fetchall() == [("task",)]


def test_external_ids_of_different_systems_are_different_records(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    generic = write(tmp_path, "leads.csv", "external_id,email,last_name\n901,g@x.example,Generic\n")
    hubspot = write(
        tmp_path, "hubspot.csv", HUBSPOT_HEADER + "901,Hannah,Hub,h@x.example,,2024-03-12,\n"
    )
    assert counts(run_import(fresh, generic, tmp_path)) == (1, 0, 0, 0)
    assert counts(run_import(fresh, hubspot, tmp_path)) == (1, 0, 0, 0)
    again = write(tmp_path, "leads2.csv", "external_id,email,last_name\n901,g@x.example,Renamed\n")
    assert counts(run_import(fresh, again, tmp_path)) == (0, 1, 0, 0)
    rows = fresh.execute(
        "select external_system, external_id, last_name from leads order by external_system"
    ).fetchall()
    assert rows == [("generic", "901", "Renamed"), ("hubspot", "901", "Hub")]


def test_references_by_external_id_look_within_the_files_system(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    companies = write(
        tmp_path, "companies.csv", "Record ID,Company name,Website URL\n501,Hub Co,hub.example\n"
    )
    run_import(fresh, companies, tmp_path)
    accounts = write(tmp_path, "accounts.csv", "external_id,name,domain\n501,Gen Co,gen.example\n")
    assert counts(run_import(fresh, accounts, tmp_path)) == (1, 0, 0, 0)
    contacts = write(
        tmp_path, "contacts.csv", "external_id,email,account_external_id\nC1,c@y.example,501\n"
    )
    assert counts(run_import(fresh, contacts, tmp_path)) == (1, 0, 0, 0)
    assert fresh.execute(
        "select a.name from contacts c join accounts a using (account_id)"
    ).fetchall() == [("Gen Co",)]


def test_placeholders_are_blanks_in_formatted_fields_only(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    google_header = "First Name,Last Name,Organization Name,E-mail 1 - Value,Phone 1 - Value\n"
    run_import(
        fresh,
        write(tmp_path, "google.csv", google_header + "Amara,Nwosu,,amara@b.example,+1 415 555\n"),
        tmp_path,
    )
    result = run_import(
        fresh,
        write(tmp_path, "google2.csv", google_header + "Amara,NA,,amara@b.example,-\n"),
        tmp_path,
    )
    assert counts(result) == (0, 1, 0, 0), result.message
    assert result.message == PLACEHOLDER_SUMMARY
    # The phone stays; the surname NA is a value, written as given.
    assert fresh.execute("select phone, last_name from leads").fetchall() == [("+1 415 555", "NA")]
    generic = write(
        tmp_path,
        "leads.csv",
        "email,first_name,last_name,phone,website,estimated_amount,created_at\n"
        "n/a,None,null,N/A,none,—,n/a\n"
        "x@z.example,Tbd,-,?,NULL,TBD,#N/A\n",
    )
    result = run_import(fresh, generic, tmp_path)
    assert counts(result) == (2, 0, 0, 0), result.message
    rows = fresh.execute(
        "select first_name, last_name, email, phone, website, estimated_amount, "
        "created_at::date = current_date from leads where phone is null order by first_name"
    ).fetchall()
    assert rows == [
        ("None", "null", None, None, None, None, True),
        ("Tbd", "-", "x@z.example", None, None, None, True),
    ]


def test_placeholders_apply_to_the_registrys_formatted_fields() -> None:
    leads = REGISTRY["leads"].fields
    formatted = {name for name, spec in leads.items() if spec.placeholders_are_blank}
    assert {"phone", "website", "linkedin_url", "email", "estimated_amount", "created_at"} <= (
        formatted
    )
    assert not formatted & {"first_name", "last_name", "company", "title", "description"}
    assert {"-", "n/a", "none", "null"} <= PLACEHOLDERS


def test_a_reference_only_another_system_has_finds_that_record_and_says_so(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    # Our accounts workbook carries the Salesforce account ids; a Salesforce task file names them.
    accounts = write(tmp_path, "accounts.csv", "external_id,name,domain\n001A,Acme,acme.example\n")
    run_import(fresh, accounts, tmp_path)
    tasks = write(
        tmp_path,
        "tasks.csv",
        "Id,WhatId,Subject,ActivityDate,Status,Priority,TaskSubtype\n"
        "00T1,001A,Call Acme,2024-05-06,Completed,Normal,Call\n",
    )
    result = run_import(fresh, tasks, tmp_path)
    assert counts(result) == (1, 0, 0, 0), result.message
    assert result.message == (
        "profile salesforce:task (chosen from the headers); utf-8, delimiter ','; "
        'not mapped: Priority; 1 "WhatId" value(s) found only among accounts of another system '
        "than this file's (the only record with that id was taken)"
    )
    assert fresh.execute(
        "select a.name from activities t join accounts a using (account_id)"
    ).fetchall() == [("Acme",)]


def test_an_id_two_other_systems_share_names_neither(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    generic = write(tmp_path, "accounts.csv", "external_id,name,domain\n001A,Acme,acme.example\n")
    hubspot = write(
        tmp_path, "companies.csv", "Record ID,Company name,Website URL\n001A,Hub Co,hub.example\n"
    )
    run_import(fresh, generic, tmp_path)
    run_import(fresh, hubspot, tmp_path)
    tasks = write(
        tmp_path,
        "tasks.csv",
        "Id,WhatId,Subject,ActivityDate,Status,Priority,TaskSubtype\n"
        "00T1,001A,Call Acme,2024-05-06,Completed,Normal,Call\n",
    )
    result = run_import(fresh, tasks, tmp_path)
    assert counts(result) == (0, 0, 0, 1), result.message
    assert fresh.execute("select message from ingest.rejected_rows").fetchall() == [
        (
            'tasks.csv, row 2: no lead, contact, account or project matches "001A"; import them '
            "first or correct the reference.",
        )
    ]


def test_the_merge_rules_are_registry_data() -> None:
    rules = {
        (entity.name, column.name): column.merge
        for entity in REGISTRY.values()
        for column in entity.columns
        if column.merge != "overwrite"
    }
    assert rules == {
        **{(name, "created_at"): "earliest" for name in REGISTRY},
        **{(name, "external_id"): "fill_blank" for name in REGISTRY},
        ("leads", "lead_source"): "fill_blank",
        ("projects", "lead_source"): "fill_blank",
        # The business start is a first-touch fact too: the earliest date any file gave.
        ("leads", "opened_on"): "earliest",
        ("projects", "opened_on"): "earliest",
    }
    with pytest.raises(ValueError, match="x: unknown merge rule 'newest'"):
        Field("x", merge="newest")
    with pytest.raises(ValueError, match="x: a format is one of"):
        Field("x", "date", format="phone")
