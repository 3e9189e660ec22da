"""Every profile's realistic fixture imports with the right counts, into the right tables."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.factories.imports import counts, run_import
from tests.factories.spreadsheets import DATA

# (file, profile chosen, entity, (inserted, updated, unchanged, rejected), routed)
Step = tuple[str, str, str, tuple[int, int, int, int], dict[str, int]]

CASES: dict[str, list[Step]] = {
    "generic": [
        ("generic_accounts.csv", "generic:accounts", "accounts", (2, 0, 0, 0), {}),
        ("generic_contacts.csv", "generic:contacts", "contacts", (2, 0, 0, 0), {}),
        ("generic_leads.csv", "generic:leads", "leads", (3, 0, 0, 0), {}),
        ("generic_projects.csv", "generic:projects", "projects", (2, 0, 0, 0), {}),
        ("generic_activities.csv", "generic:activities", "activities", (3, 0, 0, 0), {}),
    ],
    "salesforce": [
        ("salesforce_accounts.csv", "salesforce:account", "accounts", (2, 0, 0, 0), {}),
        ("salesforce_leads.csv", "salesforce:lead", "leads", (3, 0, 0, 0), {}),
        ("salesforce_contacts_report.csv", "salesforce:contact", "contacts", (2, 0, 0, 0), {}),
        ("salesforce_opportunities.csv", "salesforce:opportunity", "projects", (3, 0, 0, 0), {}),
        ("salesforce_tasks.csv", "salesforce:task", "activities", (2, 0, 0, 0), {}),
        ("salesforce_events.csv", "salesforce:event", "activities", (1, 0, 0, 0), {}),
    ],
    "hubspot": [
        ("hubspot_companies.csv", "hubspot:companies", "accounts", (2, 0, 0, 0), {}),
        (
            "hubspot_contacts.csv",
            "hubspot:contacts",
            "people",
            (4, 0, 0, 0),
            {"contacts": 2, "leads": 2},
        ),
        ("hubspot_deals.csv", "hubspot:deals", "projects", (2, 0, 0, 0), {}),
    ],
    "google_contacts": [
        ("hubspot_companies.csv", "hubspot:companies", "accounts", (2, 0, 0, 0), {}),
        (
            "google_contacts.csv",
            "google_contacts:current",
            "people",
            (3, 0, 0, 0),
            {"contacts": 1, "leads": 2},
        ),
        (
            "google_contacts_legacy.csv",
            "google_contacts:legacy",
            "people",
            (2, 0, 0, 0),
            {"contacts": 0, "leads": 2},
        ),
    ],
    "linkedin": [
        ("hubspot_companies.csv", "hubspot:companies", "accounts", (2, 0, 0, 0), {}),
        ("salesforce_accounts.csv", "salesforce:account", "accounts", (2, 0, 0, 0), {}),
        (
            "linkedin_connections.csv",
            "linkedin:connections",
            "people",
            (4, 0, 0, 0),
            {"contacts": 3, "leads": 1},
        ),
    ],
    "outlook": [
        ("hubspot_companies.csv", "hubspot:companies", "accounts", (2, 0, 0, 0), {}),
        (
            "outlook_contacts.csv",
            "outlook:contacts",
            "people",
            (3, 0, 0, 0),
            {"contacts": 1, "leads": 2},
        ),
    ],
}


@pytest.mark.parametrize("profile", sorted(CASES))
def test_profile_fixture_imports_with_the_right_counts(
    fresh: psycopg.Connection, tmp_path: Path, profile: str
) -> None:
    for name, chosen, entity, expected, routed in CASES[profile]:
        result = run_import(fresh, DATA / name, tmp_path)
        assert (result.status, result.profile, result.entity) == ("loaded", chosen, entity), (
            result.message
        )
        assert counts(result) == expected, name
        assert {k: v for k, v in result.counts.extra.items()} == routed
        again = run_import(fresh, DATA / name, tmp_path, force=True)
        assert counts(again) == (0, 0, sum(expected[:3]), 0), f"{name} forced again"


def test_salesforce_picklists_and_source_facts(fresh: psycopg.Connection, tmp_path: Path) -> None:
    for name in ("salesforce_accounts.csv", "salesforce_leads.csv", "salesforce_opportunities.csv"):
        run_import(fresh, DATA / name, tmp_path)
    leads = fresh.execute(
        "select external_id, status::text, created_at::date::text, converted_date::text, "
        "converted_account_id is not null from leads order by external_id"
    ).fetchall()
    assert leads == [
        ("00Q5g00000AbCdEAAV", "new", "2024-01-15", None, False),
        ("00Q5g00000AbCdFAAV", "contacted", "2024-02-01", None, False),
        ("00Q5g00000AbCdGAAV", "converted", "2023-01-10", "2023-02-01", True),
    ]
    projects = fresh.execute(
        "select p.name, stage::text, amount::text, currency_code, probability::text, a.name "
        "from projects p join accounts a using (account_id) order by p.external_id"
    ).fetchall()
    assert projects == [
        (
            "Northwind – forecasting model",
            "proposal",
            "24000.00",
            "USD",
            "0.7500",
            "Northwind Traders",
        ),
        ("Northwind – data quality review", "won", "8500.00", "USD", "1.0000", "Northwind Traders"),
        (
            "Atlântico – claims analytics",
            "qualification",
            None,
            "EUR",
            "0.2000",
            "Atlântico Seguros",
        ),
    ]


def test_salesforce_tasks_and_events_find_their_who_and_what(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    for name in (
        "salesforce_accounts.csv",
        "salesforce_leads.csv",
        "salesforce_contacts_report.csv",
        "salesforce_opportunities.csv",
        "salesforce_tasks.csv",
        "salesforce_events.csv",
    ):
        run_import(fresh, DATA / name, tmp_path)
    rows = fresh.execute(
        """
        select a.external_id, a.activity_type::text, a.status::text,
               coalesce(p.external_id, ac.external_id, l.external_id) as parent,
               c.external_id as contact, a.occurred_at::text, a.ends_at::text
        from activities a
        left join projects p using (project_id)
        left join accounts ac on ac.account_id = a.account_id
        left join leads l on l.lead_id = a.lead_id
        left join contacts c on c.contact_id = a.contact_id
        order by a.external_id
        """
    ).fetchall()
    assert rows == [
        (
            "00T5g00000Tk001AAA",
            "call",
            "completed",
            "0065g00000OpP1AAAV",
            "0035g00000XyZaAAAQ",
            "2024-05-06 00:00:00+00",
            None,
        ),
        (
            "00T5g00000Tk002AAA",
            "task",
            "open",
            "00Q5g00000AbCdEAAV",
            None,
            "2024-07-01 00:00:00+00",
            None,
        ),
        (
            "00U5g00000Ev001AAA",
            "meeting",
            "completed",
            "0015g00000QxAbDAAV",
            "0035g00000XyZaBAAQ",
            "2024-06-12 09:00:00+00",
            "2024-06-12 12:00:00+00",
        ),
    ]


def test_linkedin_url_is_the_external_id_so_people_without_email_reimport_cleanly(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    run_import(fresh, DATA / "linkedin_connections.csv", tmp_path)
    edited = tmp_path / "Connections.csv"
    edited.write_bytes(
        (DATA / "linkedin_connections.csv").read_bytes().replace(b"Head of Data", b"CDO")
    )
    result = run_import(fresh, edited, tmp_path)
    assert counts(result) == (0, 1, 3, 0)
    row = fresh.execute(
        "select title, created_at::date::text, lead_source from leads "
        "where linkedin_url = 'https://www.linkedin.com/in/marta-okafor-4b1a2c'"
    ).fetchone()
    assert row == ("CDO", "2025-12-07", "LinkedIn")


def test_hubspot_deals_take_the_first_associated_id_and_us_dates(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    for name in ("hubspot_companies.csv", "hubspot_contacts.csv", "hubspot_deals.csv"):
        run_import(fresh, DATA / name, tmp_path)
    rows = fresh.execute(
        "select p.external_id, stage::text, amount::text, close_date::text, a.external_id, "
        "c.external_id from projects p join accounts a using (account_id) "
        "left join contacts c on c.contact_id = p.primary_contact_id order by 1"
    ).fetchall()
    assert rows == [
        ("7001", "negotiation", "48000.00", "2024-06-30", "5123001", "901"),
        ("7002", "won", "12500.00", "2024-04-30", "5123002", "902"),
    ]


def test_entity_option_overrides_the_people_routing(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    run_import(fresh, DATA / "hubspot_companies.csv", tmp_path)
    result = run_import(fresh, DATA / "hubspot_contacts.csv", tmp_path, entity="leads")
    assert result.counts.extra == {"contacts": 0, "leads": 4}
    assert fresh.execute("select count(*) from contacts").fetchone() == (0,)
