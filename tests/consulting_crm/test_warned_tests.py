"""warned_tests: each warning of a dbt run, read from the artifacts dbt wrote."""

from __future__ import annotations

import json
from pathlib import Path

from consulting_crm.dbt_runner import WarnedTest, warned_tests


def test_each_warning_gets_its_rows_and_a_meaning(tmp_path: Path) -> None:
    singular = "test.consulting_crm.assert_every_deal_has_a_rate"
    generic = "test.consulting_crm.accepted_range_fct_opportunities_amount__0.abc123"
    (tmp_path / "run_results.json").write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": singular, "status": "warn", "failures": 2},
                    {"unique_id": generic, "status": "warn", "failures": 1},
                    {"unique_id": "test.consulting_crm.other", "status": "pass", "failures": 0},
                    {"unique_id": "model.consulting_crm.fct_opportunities", "status": "success"},
                ]
            }
        )
    )
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "nodes": {
                    singular: {
                        "name": "assert_every_deal_has_a_rate",
                        "description": "Warns, per currency,\n  when deals have no rate.",
                    },
                    generic: {
                        "name": "accepted_range_fct_opportunities_amount__0",
                        "description": "",
                        "test_metadata": {"name": "accepted_range"},
                        "attached_node": "model.consulting_crm.fct_opportunities",
                        "column_name": "amount",
                    },
                }
            }
        )
    )
    warnings = warned_tests(tmp_path / "run_results.json")
    assert warnings == [
        WarnedTest(
            "assert_every_deal_has_a_rate", 2, "Warns, per currency, when deals have no rate."
        ),
        WarnedTest(
            "accepted_range_fct_opportunities_amount__0",
            1,
            "the accepted_range check on fct_opportunities.amount found rows.",
        ),
    ]
    assert [warning.line() for warning in warnings] == [
        "assert_every_deal_has_a_rate (2 rows): Warns, per currency, when deals have no rate.",
        "accepted_range_fct_opportunities_amount__0 (1 row): the accepted_range check on "
        "fct_opportunities.amount found rows.",
    ]


def test_a_stale_source_is_a_warning_too(tmp_path: Path) -> None:
    (tmp_path / "sources.json").write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": "source.consulting_crm.crm.leads",
                        "status": "warn",
                        "max_loaded_at_time_ago_in_s": 40 * 86400,
                    },
                    {"unique_id": "source.consulting_crm.crm.accounts", "status": "pass"},
                ]
            }
        )
    )
    (warning,) = warned_tests(tmp_path / "sources.json")
    assert warning.line() == (
        "freshness of crm.leads: no row added or changed for 40 days; a quiet table is worth a "
        "look (has its import stopped?)."
    )
