"""`crm demo` end to end: files -> importers -> database -> dbt -> figures and report.

The expected figures come from the generator's own records (tests.factories.demo_figures), never
from the database, so a mistake anywhere in the chain (a profile mapping a column wrongly, an
importer dropping rows, a model miscounting) shows up as a difference here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from consulting_crm import database as db
from consulting_crm.cli import main
from consulting_crm.demo.practice import generate_practice
from ingest.errors import ExitCode
from tests.factories.demo_figures import headline_figures

pytestmark = pytest.mark.slow


def test_demo_succeeds_twice_and_the_second_run_changes_nothing(demo_run: dict[str, Any]) -> None:
    assert demo_run["codes"] == (ExitCode.OK, ExitCode.OK)
    first, second = demo_run["states"]
    assert first == second
    assert [status for _, _, status in first["batches"]] == ["loaded"] * 7


def test_headline_figures_equal_what_the_generator_implies(demo_run: dict[str, Any]) -> None:
    expected = dataclasses.asdict(headline_figures(generate_practice()))
    with psycopg.connect(demo_run["conninfo"], row_factory=dict_row) as conn:
        pipeline = conn.execute("select * from analytics.pipeline_summary").fetchone()
        ttm = conn.execute(
            "select * from analytics.revenue_concentration where period = 'TTM'"
        ).fetchone()
    assert pipeline is not None and ttm is not None
    actual = {
        **{key: pipeline[key] for key in expected if key in pipeline},
        "revenue_ttm": ttm["total_revenue"],
        "paying_clients_ttm": ttm["client_count"],
        "top1_share": ttm["top1_share"],
        "hhi": ttm["hhi"],
        "clients_for_80pct": ttm["clients_for_80pct"],
    }
    assert actual == expected
    # Non-trivial figures, so the comparison above could not pass on an empty database.
    assert expected["open_opportunity_count"] > 5 and expected["won_count_ttm"] > 5
    assert expected["paying_clients_ttm"] > 10


def test_every_generated_record_arrived(demo_run: dict[str, Any]) -> None:
    practice = generate_practice()
    with psycopg.connect(demo_run["conninfo"]) as conn:

        def count(query: str) -> int:
            row = conn.execute(query).fetchone()  # type: ignore[arg-type]
            return int(row[0]) if row else -1

        assert count("select count(*) from accounts") == len(practice.accounts)
        assert count("select count(*) from contacts") == len(practice.contacts)
        # Some people are both in the HubSpot export and among the LinkedIn connections: one lead.
        people = {(lead.email or lead.linkedin_url or "").lower() for lead in practice.leads}
        assert count("select count(*) from leads") == len(people)
        # Mail about a client becomes an activity; the rest (strangers, internal) stays unlinked.
        client_mail = [mail for mail in practice.emails if mail.account is not None]
        assert count("select count(*) from activities") == len(client_mail) + len(practice.tasks)
        assert count("select count(*) from projects") == len(practice.projects)
        # The practice's wins among its leads arrive as conversions and reach the funnel.
        converted = [lead for lead in practice.leads if lead.converted_account is not None]
        assert converted
        assert count("select count(*) from leads where status = 'converted'") == len(converted)
        assert count("select sum(leads_converted) from analytics.lead_funnel") == len(converted)
        # The two extra rows with broken emails and the project of an unknown client, and
        # nothing else, are in the reject reports.
        rejected = conn.execute(
            "select reason_code, raw_value from ingest.rejected_rows order by 1, 2"
        ).fetchall()
    assert rejected == [
        ("invalid_email", "jonas at fontaine-analytics.example"),
        ("invalid_email", "maria.rossi@"),
        ("no_account", "Unknown Client GmbH"),
    ]


def test_demo_prints_the_figures_and_writes_the_report(
    demo_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    out: Path = demo_run["out"]
    report = (out / "crm-report.html").read_text(encoding="utf-8")
    assert "as of 30 June 2026" in report and "<svg" in report
    figures = headline_figures(generate_practice())
    # Printed figures are rounded to whole currency units.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", demo_run["conninfo"])
        patch.setenv("COLUMNS", "100")
        assert main(["demo", "--out", str(out)]) == ExitCode.OK
    printed = capsys.readouterr().out
    assert "Pipeline as of 30 Jun 2026" in printed
    assert re.search(rf"Open pipeline\s+│\s+€{figures.open_pipeline_amount:,.0f}", printed)
    assert re.search(rf"Recognised revenue\s+│\s+€{figures.revenue_ttm:,.0f}", printed)
    assert "Client health, worst first" in printed
    assert "0 loaded, 7 already imported" in printed
    pbip = out / "powerbi" / "ConsultingCRM.pbip"
    assert f"Open {pbip} in Power BI Desktop" in printed.replace("\n", "")


def test_demo_refuses_a_database_holding_other_data(
    make_database: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conninfo = make_database()
    own = tmp_path / "my-clients.csv"
    own.write_text("name,domain\nReal Client Ltd,real-client.example\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", conninfo)
    assert main(["import", str(own)]) == ExitCode.OK
    assert main(["demo", "--out", str(tmp_path / "demo")]) == ExitCode.USER_ERROR
    assert "already holds other data (1 imported files" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()  # nothing written before the check
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select count(*) from accounts").fetchone() == (1,)


def test_demo_refuses_a_database_with_tables_of_its_own_before_writing_anything(
    make_database: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conninfo = make_database(with_schema=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("create table public.invoices (id int)")
    monkeypatch.setenv("DATABASE_URL", conninfo)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == ExitCode.USER_ERROR
    assert "has 1 tables of its own and no CRM schema" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "demo").exists()
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select to_regclass('ingest.schema_version')").fetchone() == (None,)


def test_the_demo_uses_a_server_of_its_own_unless_one_is_named(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert db.demo_environ({"CRM_HOME": home})["CRM_HOME"] == str(Path(home).resolve() / "demo")
    named = {"CRM_HOME": home, "DATABASE_URL": "postgresql://u@h/db"}
    assert db.demo_environ(named) == named
    assert db.demo_environ({"CRM_HOME": home, "PGHOST": "h"})["CRM_HOME"] == home


def test_the_demo_report_draws_every_chart_with_data(
    demo_run: dict[str, Any], tmp_path: Path
) -> None:
    from tests.factories.report_page import render_report

    charts = render_report(demo_run["out"] / "crm-report.html", tmp_path)
    assert [chart_id for chart_id, chart in charts.items() if chart.empty] == []
    assert all(chart.marks >= 3 for chart in charts.values()), charts
