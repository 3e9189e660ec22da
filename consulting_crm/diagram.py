"""Draw the ER diagram from the live schema: Mermaid text (GitHub renders it) and a PNG."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import psycopg

from ingest.errors import CrmError

DIAGRAM_SCHEMAS = ("public", "ingest")
SKIPPED_TABLES = {"schema_version"}


@dataclass
class Column:
    name: str
    type_name: str
    nullable: bool
    is_primary_key: bool = False
    references: str | None = None  # the table a foreign key points at


@dataclass
class Relation:
    schema: str
    name: str
    columns: list[Column] = field(default_factory=list)


def read_model(conn: psycopg.Connection) -> list[Relation]:
    """Tables, columns, primary and foreign keys of the CRM schemas, in a stable order."""
    rows = conn.execute(
        """
        select n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
               not a.attnotnull,
               exists (select from pg_constraint p where p.conrelid = c.oid and p.contype = 'p'
                       and a.attnum = any (p.conkey)),
               (select f.confrelid::regclass::text from pg_constraint f
                where f.conrelid = c.oid and f.contype = 'f' and f.conkey = array[a.attnum]
                limit 1)
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where c.relkind = 'r' and n.nspname = any (%s)
        order by n.nspname desc, c.oid, a.attnum
        """,
        (list(DIAGRAM_SCHEMAS),),
    ).fetchall()
    relations: dict[tuple[str, str], Relation] = {}
    for schema, table, column, type_name, nullable, is_pk, references in rows:
        if table in SKIPPED_TABLES:
            continue
        relation = relations.setdefault((schema, table), Relation(schema, table))
        target = references.split(".")[-1] if references else None
        relation.columns.append(Column(column, type_name, nullable, is_pk, target))
    return list(relations.values())


def _short_type(type_name: str) -> str:
    """A Mermaid-safe type word: no spaces, brackets or commas."""
    word = type_name.split("(")[0].split(".")[-1].replace(" ", "_").replace("[]", "_array")
    return {"timestamp_with_time_zone": "timestamptz", "character_varying": "varchar"}.get(
        word, word
    )


def to_mermaid(relations: list[Relation]) -> str:
    lines = ["erDiagram"]
    for relation in relations:
        lines.append(f"    {relation.name} {{")
        for column in relation.columns:
            keys = ",".join(
                key
                for key, present in (("PK", column.is_primary_key), ("FK", column.references))
                if present
            )
            lines.append(f"        {_short_type(column.type_name)} {column.name} {keys}".rstrip())
        lines.append("    }")
    for relation in relations:
        for column in relation.columns:
            if column.references:
                parent_side = "|o" if column.nullable else "||"
                lines.append(
                    f'    {column.references} {parent_side}--o{{ {relation.name} : "{column.name}"'
                )
    return "\n".join(lines) + "\n"


def to_dot(relations: list[Relation]) -> str:
    lines = [
        "digraph crm {",
        '    graph [rankdir=LR, bgcolor="white", fontname="Helvetica", nodesep=0.4, ranksep=1.1,'
        ' label="Consulting CRM - operational schema (public) and audit trail (ingest)",'
        " labelloc=t, fontsize=18];",
        '    node [shape=plain, fontname="Helvetica", fontsize=11];',
        '    edge [color="#5b6b7f", arrowhead=crow, arrowtail=tee, dir=both, fontname="Helvetica",'
        " fontsize=9];",
    ]
    for relation in relations:
        header_colour = "#1f4e79" if relation.schema == "public" else "#6b4e16"
        cells = [
            '<table border="0" cellborder="1" cellspacing="0" cellpadding="4">',
            f'<tr><td bgcolor="{header_colour}" colspan="2"><font color="white"><b>'
            f"{escape(relation.schema)}.{escape(relation.name)}</b></font></td></tr>",
        ]
        for column in relation.columns:
            marker = "PK " if column.is_primary_key else ("FK " if column.references else "")
            name = escape(column.name)
            if column.is_primary_key:
                name = f"<b>{name}</b>"
            elif column.nullable:
                name = f"<i>{name}</i>"
            cells.append(
                f'<tr><td align="left" port="{escape(column.name)}">{marker}{name}</td>'
                f'<td align="left"><font color="#555555">{escape(column.type_name)}</font>'
                "</td></tr>"
            )
        cells.append("</table>")
        lines.append(f"    {relation.name} [label=<{''.join(cells)}>];")
    primary_keys = {
        relation.name: next((c.name for c in relation.columns if c.is_primary_key), None)
        for relation in relations
    }
    for relation in relations:
        for column in relation.columns:
            if column.references:
                parent_key = primary_keys.get(column.references)
                tail = f"{column.references}:{parent_key}" if parent_key else column.references
                style = ', style="dashed"' if column.nullable else ""
                # The audit-trail links are many and secondary: draw them light.
                colour = ', color="#c9c9c9"' if column.name == "import_batch_id" else ""
                lines.append(
                    f"    {tail} -> {relation.name}:{column.name}"
                    f' [tooltip="{relation.name}.{column.name}"{style}{colour}];'
                )
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_diagram(conn: psycopg.Connection, directory: Path) -> list[Path]:
    """Write er-diagram.mmd, er-diagram.dot and er-diagram.png into ``directory``."""
    relations = read_model(conn)
    directory.mkdir(parents=True, exist_ok=True)
    mermaid = directory / "er-diagram.mmd"
    mermaid.write_text(to_mermaid(relations), encoding="utf-8")
    dot_file = directory / "er-diagram.dot"
    dot_file.write_text(to_dot(relations), encoding="utf-8")
    dot = shutil.which("dot")
    if dot is None:
        raise CrmError(
            f"wrote {mermaid} but cannot draw the PNG: Graphviz's `dot` is not installed "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)."
        )
    png = directory / "er-diagram.png"
    subprocess.run([dot, "-Tpng", "-Gdpi=110", str(dot_file), "-o", str(png)], check=True)
    return [mermaid, dot_file, png]
