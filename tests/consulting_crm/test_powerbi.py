"""`crm powerbi`: the project's structure, its determinism and its guard against overwriting.

These tests read the manifest of `dbt parse` (no database). The figures the measures compute are
checked on the demo data in tests/consulting_crm/demo/test_powerbi_project.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from consulting_crm.cli import main
from consulting_crm.dbt_runner import parse_manifest
from consulting_crm.powerbi.measures import (
    MEASURE_TABLE,
    MEASURES,
    RELATIONSHIPS,
    dax_listing,
    format_string,
)
from consulting_crm.powerbi.model import analytics_tables, build_model, tabular_type
from consulting_crm.powerbi.project import (
    STAMP,
    Connection,
    base_currency,
    current_connection,
    project_files,
    write_project,
)
from consulting_crm.powerbi.report import bound_fields, report_files
from ingest.errors import CrmError, ExitCode

CONNECTION = Connection("db.example:5433", "crm")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = parse_manifest(tmp_path_factory.mktemp("parse") / "target", environ={"HOME": "/tmp"})
    content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return content


@pytest.fixture(scope="module")
def model(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return build_model(manifest, server=CONNECTION.server, database=CONNECTION.database)


def _columns(model: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Table -> column -> data type, measures included (as type "measure")."""
    tables: dict[str, dict[str, str]] = {}
    for table in model["model"]["tables"]:
        columns = {column["name"]: column["dataType"] for column in table["columns"]}
        columns.update({item["name"]: "measure" for item in table.get("measures", [])})
        tables[table["name"]] = columns
    return tables


def test_one_table_per_analytics_model_with_the_contract_types(
    manifest: Mapping[str, Any], model: Mapping[str, Any]
) -> None:
    analytics = sorted(
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "analytics"
    )
    tables = {table["name"]: table for table in model["model"]["tables"]}
    assert sorted(tables) == sorted([*analytics, MEASURE_TABLE])
    opportunities = {column["name"]: column for column in tables["fct_opportunities"]["columns"]}
    assert opportunities["amount"]["dataType"] == "decimal"
    assert opportunities["probability"]["dataType"] == "decimal"
    assert opportunities["is_open"]["dataType"] == "boolean"
    assert opportunities["close_date"]["dataType"] == "dateTime"
    assert opportunities["days_to_close"]["dataType"] == "int64"
    assert opportunities["project_id"] == {
        **opportunities["project_id"],
        "dataType": "string",
        "isHidden": True,
    }
    assert "description" in tables["fct_opportunities"]
    assert opportunities["amount"]["description"].startswith("Deal value")
    shares = {column["name"]: column for column in tables["revenue_concentration"]["columns"]}
    assert shares["top1_share"]["dataType"] == "double"  # scale 6 does not fit a fixed decimal


def test_every_key_is_hidden_and_the_date_table_is_marked(model: Mapping[str, Any]) -> None:
    for table in model["model"]["tables"]:
        for column in table["columns"]:
            if column["name"].endswith("_id"):
                assert column.get("isHidden") is True, (table["name"], column["name"])
    date = next(table for table in model["model"]["tables"] if table["name"] == "dim_date")
    assert date["dataCategory"] == "Time"
    assert [column["name"] for column in date["columns"] if column.get("isKey")] == ["date_day"]


def test_partitions_read_analytics_through_the_two_parameters(model: Mapping[str, Any]) -> None:
    parameters = {item["name"]: item["expression"] for item in model["model"]["expressions"]}
    assert parameters["Server"].startswith('"db.example:5433" meta [IsParameterQuery=true')
    assert parameters["Database"].startswith('"crm" meta')
    for table in model["model"]["tables"]:
        if table["name"] == MEASURE_TABLE:
            continue
        (partition,) = table["partitions"]
        assert partition["mode"] == "import"
        source = "\n".join(partition["source"]["expression"])
        assert "PostgreSQL.Database(Server, Database)" in source
        assert f'[Schema = "analytics", Item = "{table["name"]}"]' in source


def test_relationships_are_those_of_the_guide(model: Mapping[str, Any]) -> None:
    relationships = model["model"]["relationships"]
    assert len(relationships) == len(RELATIONSHIPS) == 14
    inactive = [rel for rel in relationships if rel.get("isActive") is False]
    assert [(rel["fromTable"], rel["fromColumn"]) for rel in inactive] == [
        ("fct_opportunities", "created_date"),
        ("fct_activity_relations", "account_id"),
        ("fct_activity_relations", "contact_id"),
    ]
    tables = _columns(model)
    for rel in relationships:
        many, one = tables[rel["fromTable"]], tables[rel["toTable"]]
        assert many[rel["fromColumn"]] == one[rel["toColumn"]]
    guide = (ROOT / "docs" / "power-bi.md").read_text(encoding="utf-8")
    for rel in RELATIONSHIPS:
        assert f"`{rel.from_table}.{rel.from_column}` | `{rel.to_table}.{rel.to_column}`" in guide


def test_every_visual_field_exists_in_the_model(model: Mapping[str, Any]) -> None:
    tables = _columns(model)
    for field in bound_fields():
        kind = tables[field.table][field.name]
        assert (kind == "measure") == (field.kind == "measure"), field
        if field.kind == "sum":
            assert kind in {"int64", "decimal", "double"}, field


_COLUMN_REFERENCE = re.compile(r"(?<![\w\]])'?([A-Za-z_][\w ]*?)'?\[([^\]]+)\]")
_MEASURE_REFERENCE = re.compile(r"(?<![\w'])\[([^\]]+)\]")


def dax_references(expression: str) -> tuple[set[tuple[str, str]], set[str]]:
    """The ``table[column]`` and the bare ``[measure]`` references of a DAX expression."""
    without_strings = re.sub(r'"(?:[^"]|"")*"', '""', expression)
    columns = {(table, column) for table, column in _COLUMN_REFERENCE.findall(without_strings)}
    bare = _COLUMN_REFERENCE.sub("", without_strings)
    return columns, set(_MEASURE_REFERENCE.findall(bare))


def test_the_dax_reference_reader_sees_tables_columns_and_measures() -> None:
    columns, measures = dax_references(
        "CALCULATE ( SUM ( fct_x[amount] ), 'My Table'[a b] = \"[not]\" ) + [Other Measure]"
    )
    assert columns == {("fct_x", "amount"), ("My Table", "a b")}
    assert measures == {"Other Measure"}


def test_measures_name_only_existing_tables_columns_and_measures(
    model: Mapping[str, Any],
) -> None:
    tables = _columns(model)
    names = [item.name for item in MEASURES]
    assert len(names) == len(set(names))
    local_columns = {"rev"}  # ADDCOLUMNS names inside a measure
    for item in MEASURES:
        columns, measures = dax_references(item.expression)
        assert columns or measures, item.name
        for table, column in columns:
            assert tables.get(table, {}).get(column) not in (None, "measure"), (item.name, column)
        for name in measures:
            assert name in names or name in local_columns, (item.name, name)
        assert item.expression.count("(") == item.expression.count(")"), item.name
    measure_table = next(t for t in model["model"]["tables"] if t["name"] == MEASURE_TABLE)
    assert [entry["name"] for entry in measure_table["measures"]] == names
    assert all(entry["formatString"] for entry in measure_table["measures"])


def test_the_guide_lists_the_measures_of_the_model() -> None:
    guide = (ROOT / "docs" / "power-bi.md").read_text(encoding="utf-8")
    assert dax_listing() in guide


def test_format_strings_follow_the_base_currency() -> None:
    assert format_string("currency") == '"€"#,0.00;-"€"#,0.00;"€"#,0.00'
    assert format_string("currency", "USD").startswith('"$"#,0.00')
    assert format_string("currency", "SEK").startswith('"SEK "#,0.00')
    assert format_string("percent") == "0.0%"


def test_types_without_a_power_bi_type_are_refused() -> None:
    with pytest.raises(CrmError, match=r"column type 'jsonb' has no Power BI type"):
        tabular_type("jsonb")
    assert tabular_type("numeric(14,2)") == "decimal"
    assert tabular_type("numeric(9,6)") == "double"


def test_a_model_without_an_enforced_contract_is_refused(manifest: Mapping[str, Any]) -> None:
    nodes = json.loads(json.dumps(manifest["nodes"]))
    nodes["model.consulting_crm.dim_date"]["config"]["contract"]["enforced"] = False
    with pytest.raises(CrmError, match="model dim_date in schema analytics has no enforced"):
        analytics_tables({"nodes": nodes})


def test_the_project_is_byte_identical_when_generated_twice(
    manifest: Mapping[str, Any], tmp_path: Path
) -> None:
    files = project_files(manifest, CONNECTION)
    assert project_files(json.loads(json.dumps(manifest)), CONNECTION) == files
    write_project(tmp_path / "a", files)
    write_project(tmp_path / "a", project_files(manifest, CONNECTION))
    write_project(tmp_path / "b", files)

    def tree(root: Path) -> dict[str, bytes]:
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert {"ConsultingCRM.pbip", "ConsultingCRM.SemanticModel/model.bim", STAMP} <= set(
        tree(tmp_path / "a")
    )


def test_hand_edits_are_kept_unless_forced(manifest: Mapping[str, Any], tmp_path: Path) -> None:
    files = project_files(manifest, CONNECTION)
    write_project(tmp_path, files)
    model_file = tmp_path / "ConsultingCRM.SemanticModel" / "model.bim"
    model_file.write_text(model_file.read_text(encoding="utf-8") + " ", encoding="utf-8")
    # Power BI Desktop's local cache is not a hand edit.
    (tmp_path / "ConsultingCRM.SemanticModel" / ".pbi").mkdir()
    (tmp_path / "ConsultingCRM.SemanticModel" / ".pbi" / "cache.abf").write_bytes(b"x")
    with pytest.raises(CrmError, match=r"ConsultingCRM.SemanticModel/model.bim\)\. Save your"):
        write_project(tmp_path, files)
    write_project(tmp_path, files, force=True)
    assert model_file.read_bytes() == files["ConsultingCRM.SemanticModel/model.bim"]
    write_project(tmp_path, files)  # unchanged since: no complaint


def test_a_folder_crm_did_not_write_is_refused(manifest: Mapping[str, Any], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(CrmError, match=r"\(notes\.txt\)"):
        write_project(tmp_path, project_files(manifest, CONNECTION))


def test_a_file_the_previous_run_wrote_and_this_one_does_not_is_removed(
    manifest: Mapping[str, Any], tmp_path: Path
) -> None:
    files = project_files(manifest, CONNECTION)
    old = "ConsultingCRM.Report/definition/pages/old/page.json"
    write_project(tmp_path, {**files, old: b"{}\n"})
    write_project(tmp_path, files)
    assert not (tmp_path / "ConsultingCRM.Report/definition/pages/old").exists()
    assert (tmp_path / "ConsultingCRM.Report/definition/pages").is_dir()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"DATABASE_URL": "postgresql://u:p@db.example:6543/sales"}, ("db.example:6543", "sales")),
        ({"DATABASE_URL": "postgresql://u@db.example/crm"}, ("db.example", "crm")),
        ({"PGHOST": "pg.local", "PGDATABASE": "crmdb"}, ("pg.local", "crmdb")),
    ],
)
def test_the_parameters_name_the_current_server(
    environ: dict[str, str], expected: tuple[str, str]
) -> None:
    connection = current_connection(environ)
    assert (connection.server, connection.database) == expected


def test_the_embedded_server_is_named_by_where_crm_db_serve_listens(tmp_path: Path) -> None:
    environ = {"CRM_HOME": str(tmp_path)}
    assert current_connection(environ) == Connection("127.0.0.1:5433", "crm")
    (tmp_path / "config.toml").write_text(
        '[serve]\nlisten = "10.0.0.5"\nport = 6000\n', encoding="utf-8"
    )
    assert current_connection(environ) == Connection("10.0.0.5:6000", "crm")


def test_the_base_currency_setting_formats_every_amount_measure(
    manifest: Mapping[str, Any], tmp_path: Path
) -> None:
    environ = {"CRM_HOME": str(tmp_path)}
    assert base_currency(environ) == "EUR"
    (tmp_path / "config.toml").write_text('[currency]\nbase = "gbp"\n', encoding="utf-8")
    assert base_currency(environ) == "GBP"
    files = project_files(manifest, CONNECTION, base_currency(environ))
    model = json.loads(files["ConsultingCRM.SemanticModel/model.bim"])
    (table,) = [table for table in model["model"]["tables"] if table["name"] == MEASURE_TABLE]
    formats = {item["name"]: item["formatString"] for item in table["measures"]}
    assert formats["Open Pipeline"].startswith('"£"#,0.00')
    assert not any("€" in text for text in formats.values())


def test_crm_powerbi_writes_the_project_and_refuses_to_overwrite_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://reader@db.example:5432/crm")
    out = tmp_path / "pbi"
    assert main(["powerbi", str(out)]) == 0
    assert (out / "ConsultingCRM.pbip").is_file()
    assert "Its parameters: Server db.example, Database crm" in capsys.readouterr().out
    (out / "ConsultingCRM.pbip").write_text("{}", encoding="utf-8")
    assert main(["powerbi", str(out)]) == ExitCode.USER_ERROR
    assert "did not write or that changed since it wrote them (ConsultingCRM.pbip)" in " ".join(
        capsys.readouterr().err.split()
    )
    assert main(["powerbi", str(out), "--force"]) == 0
    model = json.loads((out / "ConsultingCRM.SemanticModel" / "model.bim").read_text("utf-8"))
    assert model["model"]["expressions"][0]["expression"].startswith('"db.example"')


def test_every_page_has_a_date_range_slicer_and_the_headline_page_the_cards() -> None:
    files = report_files()
    pages = files["pages/pages.json"]["pageOrder"]
    assert len(pages) == 4
    for page in pages:
        visuals = [
            content["visual"]
            for path, content in files.items()
            if path.startswith(f"pages/{page}/visuals/")
        ]
        slicers = [visual for visual in visuals if visual["visualType"] == "slicer"]
        assert len(slicers) == 1, page
        (projection,) = slicers[0]["query"]["queryState"]["Values"]["projections"]
        assert projection["queryRef"] == "dim_date.date_day"
        assert "'Between'" in json.dumps(slicers[0]["objects"])
    headline = files[f"pages/{pages[0]}/page.json"]
    assert headline["displayName"] == "Headline"
    cards = {
        content["visual"]["query"]["queryState"]["Values"]["projections"][0]["nativeQueryRef"]
        for path, content in files.items()
        if path.startswith(f"pages/{pages[0]}/")
        and content.get("visual", {}).get("visualType") == "card"
    }
    assert {
        "Open Pipeline",
        "Weighted Pipeline",
        "Win Rate TTM",
        "Pipeline Velocity",
        "Revenue TTM",
        "Top Client Share TTM",
        "HHI TTM",
    } <= cards
