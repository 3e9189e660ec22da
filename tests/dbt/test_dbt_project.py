"""The dbt project's own hygiene: enums mirrored from schema.sql, documentation, SQL style."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; dbt installs it

from consulting_crm import database as db
from consulting_crm.dbt_runner import BuildResult, dbt_environment, dbt_executable
from ingest.errors import ExitCode

ROOT = db.PROJECT_ROOT

# Every column that carries a PostgreSQL enum, by enum: its accepted_values must list the enum's
# labels in the enum's order.
ENUM_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "public.lead_status": [
        ("stg_crm__leads", "lead_status"),
        ("fct_leads", "lead_status"),
        ("snap_crm__lead_status", "lead_status"),
    ],
    "public.project_stage": [
        ("stg_crm__projects", "stage"),
        ("fct_opportunities", "stage"),
        ("snap_crm__project_stage", "stage"),
        ("stage_probabilities", "stage"),
    ],
    "public.delivery_status": [
        ("stg_crm__projects", "delivery_status"),
        ("fct_opportunities", "delivery_status"),
    ],
    # stg_crm__activities is not tested by dbt: public.activities' enum columns guard it
    # (test_activity_staging_relies_on_constraints_that_exist); fct_activities lists the labels
    # in CHECK constraints.
    "public.activity_type": [("fct_activities", "activity_type")],
    "public.activity_direction": [("fct_activities", "direction")],
    "public.activity_status": [("fct_activities", "activity_status")],
    "ingest.batch_status": [("stg_crm__import_batches", "batch_status")],
}


def schema_enums() -> dict[str, list[str]]:
    """The enums `schema.sql` creates, with their labels in order."""
    text = db.SCHEMA_FILE.read_text(encoding="utf-8")
    found = re.findall(r"create type ([a-z_]+\.[a-z_]+) as enum \(([^)]*)\)", text)
    return {name: re.findall(r"'([^']*)'", labels) for name, labels in found}


def yaml_nodes() -> Iterator[dict[str, Any]]:
    """Every model, seed and snapshot entry of the project's YAML files."""
    for folder in ("models", "seeds", "snapshots"):
        for path in sorted((ROOT / folder).rglob("*.yml")):
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for key in ("models", "seeds", "snapshots"):
                yield from document.get(key, [])


def accepted_values(node_name: str, column_name: str) -> list[str]:
    """The values a column may hold: its accepted_values test, or its `col in (...)` CHECK."""
    for node in yaml_nodes():
        if node["name"] != node_name:
            continue
        for column in node.get("columns", []):
            if column["name"] != column_name:
                continue
            for test in column.get("data_tests", []):
                if isinstance(test, dict) and "accepted_values" in test:
                    return [str(value) for value in test["accepted_values"]["arguments"]["values"]]
            for constraint in column.get("constraints", []):
                listed = re.fullmatch(
                    rf"{column_name} in \(([^)]*)\)", constraint.get("expression", "")
                )
                if constraint["type"] == "check" and listed:
                    return re.findall(r"'([^']*)'", listed.group(1))
    raise AssertionError(f"{node_name}.{column_name} has no accepted_values test or IN check")


def test_every_enum_is_mirrored() -> None:
    enums = schema_enums()
    assert set(enums) == set(ENUM_COLUMNS), "an enum was added or removed in schema.sql"
    for enum, columns in ENUM_COLUMNS.items():
        for node_name, column_name in columns:
            assert accepted_values(node_name, column_name) == enums[enum], (
                f"{node_name}.{column_name} no longer mirrors {enum}"
            )
    # The stage-history fact holds both kinds of stage.
    assert sorted(accepted_values("fct_stage_history", "stage")) == sorted(
        enums["public.project_stage"] + enums["public.lead_status"]
    )


def test_activity_staging_relies_on_constraints_that_exist(conn: psycopg.Connection) -> None:
    # stg_crm__activities has no data tests: each one it would need is a constraint of
    # public.activities, which PostgreSQL checks for every row whoever writes it.
    columns: dict[str, bool] = dict(
        conn.execute(
            "select column_name, is_nullable = 'NO' from information_schema.columns "
            "where table_schema = 'public' and table_name = 'activities'"
        ).fetchall()
    )
    assert all(columns[name] for name in ("activity_id", "activity_type", "status", "occurred_at"))
    types: dict[str, str] = dict(
        conn.execute(
            "select attname, atttypid::regtype::text from pg_attribute "
            "where attrelid = 'public.activities'::regclass and attnum > 0"
        ).fetchall()
    )
    assert types["activity_type"] == "activity_type"
    assert types["direction"] == "activity_direction"
    assert types["status"] == "activity_status"
    constraints = {
        name: definition
        for name, definition in conn.execute(
            "select conname, pg_get_constraintdef(oid) from pg_constraint "
            "where conrelid = 'public.activities'::regclass"
        ).fetchall()
    }
    assert constraints["activities_pkey"] == "PRIMARY KEY (activity_id)"
    assert (
        "num_nonnulls(lead_id, account_id, project_id) = 1" in constraints["activities_one_parent"]
    )
    for column, table in (
        ("lead_id", "leads"),
        ("account_id", "accounts"),
        ("project_id", "projects"),
        ("contact_id", "contacts"),
    ):
        assert constraints[f"activities_{column}_fkey"].startswith(
            f"FOREIGN KEY ({column}) REFERENCES {table}({column})"
        )


def test_stage_probabilities_seed_covers_every_stage() -> None:
    with (ROOT / "seeds" / "stage_probabilities.csv").open(newline="", encoding="utf-8") as file:
        seed = {row["stage"]: float(row["probability"]) for row in csv.DictReader(file)}
    assert list(seed) == schema_enums()["public.project_stage"]
    assert seed == {
        "qualification": 0.10,
        "proposal": 0.40,
        "negotiation": 0.70,
        "won": 1.00,
        "lost": 0.00,
    }


def test_docs_generate_and_everything_is_described(
    make_database: Callable[..., str],
    dbt_build: Callable[..., BuildResult],
    tmp_path: Path,
) -> None:
    conninfo = make_database()
    # Every node, the Salesforce models too (a default build leaves them out: selectors.yml).
    assert dbt_build(conninfo, "--select", "fqn:*").exit_code == ExitCode.OK
    env = dbt_environment(db.resolve_target({"DATABASE_URL": conninfo}), os.environ)
    completed = subprocess.run(
        [
            dbt_executable(),
            "docs",
            "generate",
            "--select",
            "fqn:*",
            "--project-dir",
            str(ROOT),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    undescribed: list[str] = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        if not node["description"].strip():
            undescribed.append(unique_id)
        documented = {name: column["description"] for name, column in node["columns"].items()}
        for column in catalog["nodes"][unique_id]["columns"]:
            if not documented.get(column, "").strip():
                undescribed.append(f"{unique_id}.{column}")
    assert undescribed == []


@pytest.mark.parametrize("folder", ["staging", "intermediate", "marts", "exports"])
def test_every_model_is_documented_in_its_folder_yaml(folder: str) -> None:
    sql_models = {path.stem for path in (ROOT / "models" / folder).rglob("*.sql")}
    documented = {
        node["name"]
        for path in (ROOT / "models" / folder).rglob("*.yml")
        for node in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", [])
    }
    assert sql_models == documented
