"""The ER diagram is drawn from the live schema and the committed copy is current."""

from __future__ import annotations

from pathlib import Path

import psycopg

from consulting_crm.diagram import read_model, to_mermaid, write_diagram
from tests import ROOT


def test_mermaid_names_every_table_and_relationship(conn: psycopg.Connection) -> None:
    mermaid = to_mermaid(read_model(conn))
    for table in ("accounts", "contacts", "leads", "projects", "activities", "import_batches"):
        assert f"    {table} {{" in mermaid
    assert '    accounts ||--o{ contacts : "account_id"' in mermaid
    assert '    accounts |o--o{ activities : "account_id"' in mermaid
    assert "        uuid project_id PK" in mermaid


def test_committed_diagram_matches_the_schema(conn: psycopg.Connection) -> None:
    committed = (ROOT / "architecture" / "er-diagram.mmd").read_text(encoding="utf-8")
    assert committed == to_mermaid(read_model(conn)), (
        "architecture/er-diagram.mmd is out of date: run `./crm db diagram` and commit the result"
    )


def test_png_is_drawn(conn: psycopg.Connection, tmp_path: Path) -> None:
    written = write_diagram(conn, tmp_path)
    png = tmp_path / "er-diagram.png"
    assert png in written
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
