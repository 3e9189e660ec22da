"""Build the dbt project on a small hand-written CRM and check every headline figure by hand.

The dataset (six accounts, ten projects, ten leads, nine activities) is chosen so that every number
below can be worked out on paper; the comments next to each expected value show the arithmetic.
Figures are as of 2025-06-30, so the TTM window for closed deals is 2024-07-01 .. 2025-06-30 (365
days) and for revenue July 2024 .. June 2025 (12 whole months).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from consulting_crm.dbt_runner import BuildResult
from ingest.errors import ExitCode
from tests.factories.powerbi_twins import mismatches, twin_and_mart

# Readable fixed keys: accounts ...a1-a6, contacts ...c1-c2, projects ...p1-p10 (as hex-ish digits).
A, B, C, D, E, F = (f"00000000-0000-0000-0000-0000000000a{n}" for n in range(1, 7))
CONTACT_ADA, CONTACT_GRACE = (f"00000000-0000-0000-0000-0000000000c{n}" for n in (1, 2))
P = {n: f"00000000-0000-0000-0000-0000000001{n:02d}" for n in range(1, 11)}
L = {n: f"00000000-0000-0000-0000-0000000002{n:02d}" for n in range(1, 11)}
UNKNOWN = "00000000-0000-0000-0000-000000000000"

DATASET = f"""
insert into public.accounts (account_id, name, domain) values
    ('{A}', 'Acme Consulting Clients', 'acme.example'),
    ('{B}', 'Beta Logistics', 'beta.example'),
    ('{C}', 'Gamma Health', 'gamma.example'),
    ('{D}', 'Delta Foods', 'delta.example'),
    ('{E}', 'Epsilon Energy', 'epsilon.example'),
    ('{F}', 'Phi Finance', 'phi.example');

insert into public.contacts (contact_id, account_id, first_name, last_name, email) values
    ('{CONTACT_ADA}', '{A}', 'Ada', 'Lovelace', 'ada@acme.example'),
    ('{CONTACT_GRACE}', '{C}', 'Grace', 'Hopper', 'grace@gamma.example');

insert into public.projects (
    project_id, account_id, primary_contact_id, name, stage, amount, close_date, start_date,
    end_date, delivery_status, lead_source, created_at
) values
    ('{P[1]}', '{A}', '{CONTACT_ADA}', 'Acme operating model', 'won', 12000, '2024-12-15',
        '2025-01-01', '2025-12-31', 'active', 'Referral', '2024-11-15 12:00+00'),
    ('{P[2]}', '{B}', null, 'Beta warehouse review', 'won', 3000, '2025-03-10',
        null, null, 'completed', null, '2025-01-09 12:00+00'),
    ('{P[3]}', '{C}', '{CONTACT_GRACE}', 'Gamma clinic audit', 'won', 1000, '2024-08-20',
        '2024-09-01', '2024-11-30', 'completed', null, '2024-06-21 12:00+00'),
    ('{P[4]}', '{A}', null, 'Acme pricing', 'lost', 5000, '2025-02-01',
        null, null, null, null, '2024-12-01 12:00+00'),
    ('{P[5]}', '{D}', null, 'Delta sourcing', 'lost', 2000, '2023-05-01',
        null, null, null, null, '2023-03-01 12:00+00'),
    ('{P[6]}', '{B}', null, 'Beta fleet study', 'qualification', 10000, '2025-09-30',
        null, null, null, null, '2025-05-01 12:00+00'),
    ('{P[7]}', '{C}', null, 'Gamma IT strategy', 'proposal', 4000, null,
        null, null, null, null, '2025-06-01 12:00+00'),
    ('{P[8]}', '{A}', null, 'Acme board pack', 'negotiation', null, null,
        null, null, null, null, '2025-04-01 12:00+00'),
    ('{P[9]}', '{D}', null, 'Delta cost programme', 'won', 2400, '2023-06-30',
        '2023-07-01', '2023-12-31', 'completed', null, '2023-04-01 12:00+00'),
    ('{P[10]}', '{B}', null, 'Beta after the cut-off', 'proposal', 500, null,
        null, null, null, null, '2025-07-10 12:00+00');

insert into public.leads (
    lead_id, first_name, last_name, email, lead_source, status, converted_account_id,
    converted_date, created_at
) values
    ('{L[1]}', 'Lena', 'One', 'lena@one.example', 'Referral ', 'converted', '{A}',
        '2025-01-25', '2025-01-05 09:00+00'),
    ('{L[2]}', 'Liam', 'Two', 'liam@two.example', 'referral', 'qualified', null,
        null, '2025-01-20 09:00+00'),
    ('{L[3]}', 'Lara', 'Three', 'lara@three.example', 'REFERRAL', 'new', null,
        null, '2025-01-31 09:00+00'),
    ('{L[4]}', 'Leo', 'Four', 'leo@four.example', 'LinkedIn', 'contacted', null,
        null, '2025-01-10 09:00+00'),
    ('{L[5]}', 'Luca', 'Five', 'luca@five.example', 'linkedin ', 'converted', '{B}',
        '2025-03-05', '2025-02-03 09:00+00'),
    ('{L[6]}', 'Lea', 'Six', 'lea@six.example', 'Linkedin', 'unqualified', null,
        null, '2025-02-14 09:00+00'),
    ('{L[7]}', 'Lou', 'Seven', 'lou@seven.example', null, 'converted', '{C}',
        '2025-03-02', '2025-02-20 09:00+00'),
    ('{L[8]}', 'Lisa', 'Eight', 'lisa@eight.example', 'referral', 'converted', '{D}',
        '2025-02-11', '2025-02-01 09:00+00'),
    ('{L[9]}', 'Lars', 'Nine', 'lars@nine.example', 'referral', 'new', null,
        null, '2025-07-02 09:00+00'),
    ('{L[10]}', 'Lina', 'Ten', 'lina@ten.example', 'Referral', 'converted', '{A}',
        '2025-02-14', '2025-01-15 09:00+00');

insert into public.activities (
    activity_type, direction, occurred_at, account_id, project_id, lead_id, contact_id, subject
) values
    ('email', 'inbound', '2025-06-20 10:00+00', '{A}', null, null, null, 'Acme: next phase'),
    ('meeting', null, '2025-05-01 10:00+00', null, '{P[1]}', null, null, 'Steering committee'),
    ('call', 'outbound', '2025-01-06 10:00+00', null, null, '{L[1]}', null, 'Intro call'),
    ('note', null, '2025-07-05 10:00+00', '{A}', null, null, null, 'After the cut-off'),
    ('email', 'outbound', '2025-03-15 10:00+00', '{B}', null, null, null, 'Beta: final report'),
    ('call', 'outbound', '2025-06-25 10:00+00', null, '{P[7]}', null, '{CONTACT_GRACE}',
        'Proposal walk-through'),
    ('email', 'inbound', '2025-06-01 10:00+00', '{D}', null, null, null, 'Delta: catching up'),
    ('email', 'outbound', '2024-12-01 10:00+00', '{F}', null, null, null, 'Phi: season greetings'),
    ('email', 'outbound', '2025-02-01 10:00+00', null, null, '{L[3]}', null, 'Lara: hello'),
    ('email', 'inbound', '2025-07-03 10:00+00', null, null, '{L[9]}', null, 'Lars: welcome');

-- Each deal and lead started the day its record was created (the source said so).
update public.projects set opened_on = (created_at at time zone 'UTC')::date;
update public.leads set opened_on = (created_at at time zone 'UTC')::date;
"""

# Changes between the first and the second build: they touch only records dated after as_of_date,
# so every headline figure stays the same, while the snapshots see a stage and an amount change
# and the incremental fct_activities sees a new, a deleted and a re-attributed activity.
NEXT_DAY_CHANGES = f"""
update public.projects set stage = 'negotiation', amount = 800 where project_id = '{P[10]}';
update public.leads
set status = 'converted', converted_account_id = '{E}', converted_date = '2025-07-20'
where lead_id = '{L[9]}';
insert into public.activities (activity_type, occurred_at, account_id, subject)
values ('meeting', '2025-08-01 10:00+00', '{E}', 'Epsilon: kick-off');
delete from public.activities where subject = 'After the cut-off';
"""


@pytest.fixture(scope="module")
def built(make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]) -> str:
    """A database holding the dataset, built twice (before and after NEXT_DAY_CHANGES)."""
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(DATASET)  # type: ignore[arg-type]  # a trusted literal, several statements
    first = dbt_build(conninfo)
    assert first.exit_code == ExitCode.OK, "the first build failed; dbt's output is above"
    with psycopg.connect(conninfo) as conn:
        conn.execute(NEXT_DAY_CHANGES)  # type: ignore[arg-type]
    second = dbt_build(conninfo)
    assert second.exit_code == ExitCode.OK, "the second build failed; dbt's output is above"
    return conninfo


def rows(conninfo: str, query: str) -> list[dict[str, Any]]:
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_pipeline_summary(built: str) -> None:
    (summary,) = rows(built, "select * from analytics.pipeline_summary")
    assert summary == {
        "as_of_date": date(2025, 6, 30),
        # Open on 2025-06-30: P6 qualification 10000, P7 proposal 4000, P8 negotiation (no
        # amount); P10 was created after as_of_date.
        "open_opportunity_count": 3,
        "open_pipeline_amount": Decimal("14000.00"),
        # 10000 x 0.10 + 4000 x 0.40 + nothing x 0.70
        "weighted_pipeline_amount": Decimal("2600.00"),
        # Closed 2024-07-01 .. 2025-06-30: won P1 12000, P2 3000, P3 1000; lost P4 5000.
        # P5 and P9 closed in 2023.
        "won_count_ttm": 3,
        "lost_count_ttm": 1,
        "won_amount_ttm": Decimal("16000.00"),
        "lost_amount_ttm": Decimal("5000.00"),
        "win_rate_count_ttm": Decimal("0.750000"),  # 3 / (3 + 1)
        "win_rate_amount_ttm": Decimal("0.761905"),  # 16000 / 21000
        "avg_won_deal_amount_ttm": Decimal("5333.33"),  # 16000 / 3
        # P1 2024-11-15 -> 2024-12-15 = 30, P2 2025-01-09 -> 2025-03-10 = 60,
        # P3 2024-06-21 -> 2024-08-20 = 60; (30 + 60 + 60) / 3
        "avg_sales_cycle_days_ttm": Decimal("50.00"),
        # 3 open x 16000/3 x 0.75 / 50 days
        "pipeline_velocity_per_day": Decimal("240.00"),
        "deals_without_start_date": 0,
        "deals_without_rate": 0,
        "base_currency": "EUR",
    }


def test_pipeline_by_month(built: str) -> None:
    keys = (
        "opportunities_created_count",
        "opportunities_created_amount",
        "won_count",
        "won_amount",
        "lost_count",
        "lost_amount",
    )
    listed = rows(built, "select * from analytics.pipeline_by_month")
    assert {(row["deals_without_start_date"], row["base_currency"]) for row in listed} == {
        (0, "EUR")
    }
    by_month = {row["month_start_date"]: tuple(row[key] for key in keys) for row in listed}
    # (created count, created amount, won count, won amount, lost count, lost amount)
    moving = {
        date(2023, 3, 1): (1, Decimal("2000.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
        date(2023, 4, 1): (1, Decimal("2400.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
        date(2023, 5, 1): (0, Decimal("0.00"), 0, Decimal("0.00"), 1, Decimal("2000.00")),
        date(2023, 6, 1): (0, Decimal("0.00"), 1, Decimal("2400.00"), 0, Decimal("0.00")),
        date(2024, 6, 1): (1, Decimal("1000.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
        date(2024, 8, 1): (0, Decimal("0.00"), 1, Decimal("1000.00"), 0, Decimal("0.00")),
        date(2024, 11, 1): (1, Decimal("12000.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
        date(2024, 12, 1): (1, Decimal("5000.00"), 1, Decimal("12000.00"), 0, Decimal("0.00")),
        date(2025, 1, 1): (1, Decimal("3000.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
        date(2025, 2, 1): (0, Decimal("0.00"), 0, Decimal("0.00"), 1, Decimal("5000.00")),
        date(2025, 3, 1): (0, Decimal("0.00"), 1, Decimal("3000.00"), 0, Decimal("0.00")),
        date(2025, 4, 1): (1, Decimal("0.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
        date(2025, 5, 1): (1, Decimal("10000.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
        date(2025, 6, 1): (1, Decimal("4000.00"), 0, Decimal("0.00"), 0, Decimal("0.00")),
    }
    quiet = (0, Decimal("0.00"), 0, Decimal("0.00"), 0, Decimal("0.00"))
    # Every month from March 2023 (first deal) to June 2025 (as_of_date): 28 rows.
    assert len(by_month) == 28
    assert min(by_month) == date(2023, 3, 1)
    assert max(by_month) == date(2025, 6, 1)
    for month, figures in by_month.items():
        assert figures == moving.get(month, quiet), month


def test_lead_funnel(built: str) -> None:
    funnel = rows(
        built,
        "select * from analytics.lead_funnel order by lead_source, created_month",
    )
    keys = (
        "lead_source",
        "lead_source_group",
        "created_month",
        "leads_created",
        "leads_contacted_or_later",
        "leads_qualified_or_later",
        "leads_converted",
        "conversion_rate",
        "median_days_to_convert",
    )
    zero, half, whole = Decimal("0.000000"), Decimal("0.500000"), Decimal("1.000000")
    assert [tuple(row[key] for key in keys) for row in funnel] == [
        # L4 contacted.
        ("linkedin", "Social", date(2025, 1, 1), 1, 1, 0, 0, zero, None),
        # L5 converted after 30 days (2025-02-03 -> 03-05), L6 unqualified.
        ("linkedin", "Social", date(2025, 2, 1), 2, 2, 1, 1, half, Decimal("30.0")),
        # L1 converted in 20 days, L10 in 30, L2 qualified, L3 new: median (20 + 30) / 2.
        ("referral", "Referral", date(2025, 1, 1), 4, 3, 3, 2, half, Decimal("25.0")),
        # L8 converted in 10 days; L9 was created after as_of_date.
        ("referral", "Referral", date(2025, 2, 1), 1, 1, 1, 1, whole, Decimal("10.0")),
        # L7 has no source; converted in 10 days (2025-02-20 -> 03-02).
        ("unknown", "Unknown", date(2025, 2, 1), 1, 1, 1, 1, whole, Decimal("10.0")),
    ]


def test_revenue_concentration(built: str) -> None:
    keys = (
        "total_revenue",
        "client_count",
        "top1_share",
        "top3_share",
        "top5_share",
        "hhi",
        "clients_for_80pct",
    )
    by_period = {
        row["period"]: tuple(row[key] for key in keys)
        for row in rows(built, "select * from analytics.revenue_concentration")
    }
    one = Decimal("1.000000")
    assert by_period == {
        # Delta's P9: 2400 over July-December 2023.
        "2023": (Decimal("2400.00"), 1, one, one, one, Decimal("10000.00"), 1),
        # Gamma's P3: 1000 over September-November 2024 (333.33 + 333.33 + 333.34).
        "2024": (Decimal("1000.00"), 1, one, one, one, Decimal("10000.00"), 1),
        # January-June 2025 only: Acme 6 x 1000, Beta 3000 (P2, no delivery dates: March).
        # HHI 66.67^2 + 33.33^2; 6000 < 80 % of 9000, so two clients.
        "2025": (Decimal("9000.00"), 2, Decimal("0.666667"), one, one, Decimal("5555.56"), 2),
        # July 2024 - June 2025: Acme 6000, Beta 3000, Gamma 1000: HHI 60^2 + 30^2 + 10^2.
        "TTM": (Decimal("10000.00"), 3, Decimal("0.600000"), one, one, Decimal("4600.00"), 2),
    }


def test_client_health(built: str) -> None:
    keys = (
        "days_since_last_activity",
        "activities_90d",
        "open_opportunity_count",
        "open_pipeline_amount",
        "active_project_count",
        "revenue_ttm",
        "revenue_prior_ttm",
        "health_band",
    )
    health = {
        row["account_id"]: tuple(row[key] for key in keys)
        for row in rows(built, "select * from analytics.client_health")
    }
    zero = Decimal("0.00")
    assert {str(account): figures for account, figures in health.items()} == {
        # Email 2025-06-20 and project meeting 2025-05-01 in the last 90 days (the note of
        # 2025-07-05 is after as_of_date); P8 open without amount; P1 delivering; 6 x 1000.
        A: (10, 2, 1, zero, 1, Decimal("6000.00"), zero, "healthy"),
        # Last email 2025-03-15: 107 days >= 60 -> at risk, despite P6 open (10000).
        B: (107, 0, 1, Decimal("10000.00"), 0, Decimal("3000.00"), zero, "at_risk"),
        # Call on P7 2025-06-25; revenue of P3 in Sep-Nov 2024.
        C: (5, 1, 1, Decimal("4000.00"), 0, Decimal("1000.00"), zero, "healthy"),
        # Active (29 days) but no revenue in the TTM after 2400 the year before -> at risk.
        D: (29, 1, 0, zero, 0, zero, Decimal("2400.00"), "at_risk"),
        # Nothing at all -> dormant.
        E: (None, 0, 0, zero, 0, zero, zero, "dormant"),
        # Last email 2024-12-01: 211 days, nothing open or active -> dormant.
        F: (211, 0, 0, zero, 0, zero, zero, "dormant"),
    }
    (last,) = rows(
        built, f"select last_activity_at from analytics.client_health where account_id = '{A}'"
    )
    assert last["last_activity_at"] == datetime(2025, 6, 20, 10, tzinfo=UTC)


def test_star_schema(built: str) -> None:
    (counts,) = rows(
        built,
        """
        select
            (select count(*) from analytics.dim_accounts) as accounts,
            (select count(*) from analytics.dim_accounts where is_unknown_member) as unknown,
            (select count(*) from analytics.dim_contacts) as contacts,
            (select count(*) from analytics.fct_opportunities) as opportunities,
            (select count(*) from analytics.fct_leads) as leads,
            (select count(*) from analytics.fct_activities) as activities,
            (select count(*) from analytics.fct_revenue_monthly) as revenue_months,
            (select sum(recognised_revenue) from analytics.fct_revenue_monthly) as revenue,
            (select min(date_day) from analytics.dim_date) as first_day,
            (select max(date_day) from analytics.dim_date) as last_day
        """,
    )
    assert counts == {
        "accounts": 7,  # six accounts and the unknown member
        "unknown": 1,
        "contacts": 3,  # two contacts and the unknown member
        "opportunities": 10,
        "leads": 10,
        "activities": 10,  # nine + Lars's welcome + Epsilon's kick-off - the deleted note
        "revenue_months": 22,  # Acme 12, Beta 1, Gamma 3, Delta 6
        "revenue": Decimal("18400.00"),  # 12000 + 3000 + 1000 + 2400: spreading loses no cent
        "first_day": date(2023, 1, 1),  # the year of the first deal
        "last_day": date(2026, 12, 31),  # the year after the latest date (2025)
    }
    attributed = rows(
        built,
        "select subject, account_id::text as account_id, contact_id::text as contact_id "
        "from analytics.fct_activities where parent_type = 'lead' order by subject",
    )
    assert attributed == [
        # L1 was converted into Acme, so its call counts for Acme.
        {"subject": "Intro call", "account_id": A, "contact_id": UNKNOWN},
        # L3 is not a client: the unknown member.
        {"subject": "Lara: hello", "account_id": UNKNOWN, "contact_id": UNKNOWN},
        # L9 was converted into Epsilon between the builds: the unchanged activity moved with it.
        {"subject": "Lars: welcome", "account_id": E, "contact_id": UNKNOWN},
    ]
    subjects = {
        row["subject"] for row in rows(built, "select subject from analytics.fct_activities")
    }
    assert "Epsilon: kick-off" in subjects  # added between the builds
    assert "After the cut-off" not in subjects  # deleted between the builds
    (deal,) = rows(
        built,
        "select stage, is_open, is_closed, is_won, probability, weighted_amount, days_to_close "
        f"from analytics.fct_opportunities where project_id = '{P[1]}'",
    )
    assert deal == {
        "stage": "won",
        "is_open": False,
        "is_closed": True,
        "is_won": True,
        "probability": Decimal("1.0000"),
        "weighted_amount": Decimal("12000.00"),
        "days_to_close": 30,
    }


def test_stage_history_records_changes_between_builds(built: str) -> None:
    history = rows(
        built,
        "select stage, amount, is_current, stage_entered_at, stage_exited_at, days_in_stage "
        f"from analytics.fct_stage_history where project_id = '{P[10]}' order by stage_sequence",
    )
    assert [(row["stage"], row["amount"], row["is_current"]) for row in history] == [
        ("proposal", Decimal("500.00"), False),
        ("negotiation", Decimal("800.00"), True),
    ]
    assert history[0]["stage_exited_at"] == history[1]["stage_entered_at"]
    assert history[1]["stage_exited_at"] is None
    # Both periods start after as_of_date (2025-06-30), so no days are counted yet.
    assert [row["days_in_stage"] for row in history] == [0, 0]
    lead = rows(
        built,
        "select stage, is_current from analytics.fct_stage_history "
        f"where lead_id = '{L[9]}' order by stage_sequence",
    )
    assert lead == [
        {"stage": "new", "is_current": False},
        {"stage": "converted", "is_current": True},
    ]
    (unchanged,) = rows(
        built,
        f"select count(*) as periods from analytics.fct_stage_history where project_id = '{P[1]}'",
    )
    assert unchanged["periods"] == 1


# ---------------------------------------------------------------------------------------------
# What people look at: the HTML report and the Power BI guide, on the same built database
# ---------------------------------------------------------------------------------------------


def test_report_renders_every_chart_without_console_errors(built: str, tmp_path: Path) -> None:
    from consulting_crm.report import write_report
    from tests.factories.report_page import render_report

    with psycopg.connect(built) as conn:
        page = write_report(conn, tmp_path / "report.html")
    html = page.read_text(encoding="utf-8")
    assert "As of 30 June 2025" in html
    charts = render_report(page, tmp_path)
    assert [chart_id for chart_id, chart in charts.items() if chart.empty] == []


def test_power_bi_guide_names_only_real_tables_and_columns(built: str) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "power-bi.md").read_text("utf-8")
    with psycopg.connect(built) as conn:
        columns = {
            (table, column)
            for table, column in conn.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = 'analytics'"
            ).fetchall()
        }
    tables = {table for table, _ in columns}
    named_tables = set(re.findall(r"analytics\.(\w+)", guide))
    named_columns = set(
        re.findall(
            r"\b((?:dim|fct)_\w+|client_health|pipeline_summary"
            r"|revenue_concentration)[.\[](\w+)\]?",
            guide,
        )
    )
    assert named_tables and named_columns
    assert named_tables - tables == set()
    assert {pair for pair in named_columns if pair not in columns} == set()


# ---------------------------------------------------------------------------------------------
# A sparse, undated, two-currency practice: a few deals imported without dates (created_at is
# the import day, long after as_of_date), some in pounds (with a rate) and some in dollars
# (without one). Base currency EUR; 1 GBP = 1.20 EUR from 2025-01-01.
# ---------------------------------------------------------------------------------------------

X, Y = (f"00000000-0000-0000-0000-0000000000b{n}" for n in (1, 2))
S = {n: f"00000000-0000-0000-0000-0000000003{n:02d}" for n in range(1, 7)}

SPARSE = f"""
insert into public.accounts (account_id, name) values ('{X}', 'Xavier Ltd'), ('{Y}', 'Ypsilon BV');
insert into public.exchange_rates (currency_code, base_currency, valid_from, rate)
values ('GBP', 'EUR', '2025-01-01', 1.2);
insert into public.projects (
    project_id, account_id, name, stage, amount, currency_code, opened_on, close_date, created_at
) values
    ('{S[1]}', '{Y}', 'Undated win', 'won', 1000, 'EUR', null, '2025-03-01', '2026-01-05'),
    ('{S[2]}', '{X}', 'Pound win', 'won', 1000, 'GBP', '2025-01-01', '2025-02-01', '2026-01-05'),
    ('{S[3]}', '{X}', 'Dollar proposal', 'proposal', 500, 'USD', null, null, '2026-01-05'),
    ('{S[4]}', '{Y}', 'Opens later', 'negotiation', 2000, 'EUR', '2025-08-01', null, '2026-01-05'),
    ('{S[5]}', '{X}', 'Pound lead', 'qualification', 1000, 'GBP', null, null, '2026-01-05'),
    ('{S[6]}', '{Y}', 'Dollar loss', 'lost', 300, 'USD', null, '2025-04-01', '2026-01-05');
"""


@pytest.fixture(scope="module")
def sparse(make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]) -> str:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(SPARSE)  # type: ignore[arg-type]  # a trusted literal
    result = dbt_build(conninfo)
    assert result.exit_code == ExitCode.OK, "the sparse build failed; dbt's output is above"
    return conninfo


def test_sparse_two_currency_pipeline_summary(sparse: str) -> None:
    (summary,) = rows(sparse, "select * from analytics.pipeline_summary")
    assert summary == {
        "as_of_date": date(2025, 6, 30),
        # S3 (USD, no rate) and S5 (GBP) are open; S4 opens after as_of_date. The records were
        # created in 2026, which says nothing about when the deals started.
        "open_opportunity_count": 2,
        "open_pipeline_amount": Decimal("1200.00"),  # S5: 1000 GBP x 1.20; S3 left out
        "weighted_pipeline_amount": Decimal("120.00"),  # 1200 x 0.10
        "won_count_ttm": 2,  # S1, S2
        "lost_count_ttm": 1,  # S6
        "won_amount_ttm": Decimal("2200.00"),  # 1000 EUR + 1000 GBP x 1.20
        "lost_amount_ttm": Decimal("0.00"),  # S6 is in dollars: left out, counted below
        "win_rate_count_ttm": Decimal("0.666667"),  # 2 / 3
        "win_rate_amount_ttm": Decimal("1.000000"),  # 2200 / (2200 + 0)
        "avg_won_deal_amount_ttm": Decimal("1100.00"),  # 2200 / 2
        # Only S2 has a start: 2025-01-01 -> 2025-02-01; S1 is left out and counted.
        "avg_sales_cycle_days_ttm": Decimal("31.00"),
        # 2 open x 1100 x 2/3 / 31 days
        "pipeline_velocity_per_day": Decimal("47.31"),
        "deals_without_start_date": 1,
        "deals_without_rate": 2,  # S3 open, S6 lost
        "base_currency": "EUR",
    }
    cycles = rows(sparse, "select days_to_close from analytics.fct_opportunities")
    assert all(row["days_to_close"] is None or row["days_to_close"] >= 0 for row in cycles)


def test_sparse_two_currency_revenue(sparse: str) -> None:
    (ttm,) = rows(
        sparse,
        "select total_revenue, client_count, top1_share, deals_without_rate, base_currency "
        "from analytics.revenue_concentration where period = 'TTM'",
    )
    # Xavier: S2 1200 EUR in February 2025; Ypsilon: S1 1000 in March 2025.
    assert ttm == {
        "total_revenue": Decimal("2200.00"),
        "client_count": 2,
        "top1_share": Decimal("0.545455"),  # 1200 / 2200
        "deals_without_rate": 0,
        "base_currency": "EUR",
    }
    by_stage = {
        row["stage"]: (row["open_opportunity_count"], row["open_pipeline_amount"])
        for row in rows(sparse, "select * from analytics.pipeline_by_stage")
    }
    assert by_stage == {
        "qualification": (1, Decimal("1200.00")),
        "proposal": (1, Decimal("0.00")),  # the dollar deal: counted, not summed
        "negotiation": (0, Decimal("0.00")),  # S4 opens after as_of_date
    }


def test_the_report_says_which_deals_its_figures_leave_out(sparse: str, tmp_path: Path) -> None:
    from consulting_crm.report import write_report

    with psycopg.connect(sparse) as conn:
        page = write_report(conn, tmp_path / "report.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")).split())
    assert "2 open deals · 2 deals without an exchange rate left out of the figures" in text
    assert "average sales cycle 31 days · 1 won deal without a start date left out" in text
    # Client health names its reasons beside each band.
    assert "no open pipeline" in text


def test_power_bi_measures_agree_with_the_marts_on_sparse_data(sparse: str) -> None:
    # Undated deals, a currency without a rate, a deal opened after as_of_date: each headline
    # measure's DAX, computed in SQL, still equals its mart (the demo checks the full figures).
    assert mismatches(sparse) == {}
    assert twin_and_mart(sparse, "Deals Without Start Date") == (1, 1)
    assert twin_and_mart(sparse, "Deals Without Rate") == (2, 2)


@pytest.mark.parametrize("dataset", ["built", "sparse"])
def test_every_headline_equals_the_sum_of_its_breakdown(
    dataset: str, request: pytest.FixtureRequest
) -> None:
    check_headlines_add_up(request.getfixturevalue(dataset))


def check_headlines_add_up(conninfo: str) -> None:
    """Each card of the report equals the sum of the chart or table it summarises."""
    (figures,) = rows(
        conninfo,
        """
        select
            summary.open_opportunity_count,
            summary.open_pipeline_amount,
            summary.weighted_pipeline_amount,
            (select sum(open_opportunity_count) from analytics.pipeline_by_stage)
                as stage_count,
            (select sum(open_pipeline_amount) from analytics.pipeline_by_stage) as stage_amount,
            (select sum(weighted_pipeline_amount) from analytics.pipeline_by_stage)
                as stage_weighted,
            (select sum(open_opportunity_count) from analytics.client_health) as client_count,
            (select sum(open_pipeline_amount) from analytics.client_health) as client_amount,
            (select total_revenue from analytics.revenue_concentration where period = 'TTM')
                as ttm_revenue,
            (select sum(revenue.recognised_revenue)
             from analytics.fct_revenue_monthly as revenue
             inner join analytics.revenue_concentration as ttm
                 on ttm.period = 'TTM'
                 and revenue.revenue_month between ttm.period_start_month
                     and ttm.period_end_month) as monthly_revenue,
            (select sum(revenue_ttm) from analytics.client_health) as client_revenue,
            (select count(distinct base_currency) from analytics.pipeline_by_stage) as currencies
        from analytics.pipeline_summary as summary
        """,
    )
    assert figures["open_opportunity_count"] == figures["stage_count"] == figures["client_count"]
    assert figures["open_pipeline_amount"] == figures["stage_amount"] == figures["client_amount"]
    assert figures["weighted_pipeline_amount"] == figures["stage_weighted"]
    assert figures["ttm_revenue"] == figures["monthly_revenue"] == figures["client_revenue"]
    assert figures["currencies"] == 1
