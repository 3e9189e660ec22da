"""Text and encodings that never change what the user meant (issue 13): one encoding per file,
invisible characters out of keys, NULs removed and counted, long values rejected per row, headers
of any length. Value readers on their own, then whole imports into a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
import pytest

from ingest.characters import strip_invisible
from ingest.entities import ENTITY_FIELDS
from ingest.validate import ColumnSource, ValidationContext, validate_frame
from ingest.values.text import read_domain, read_email, read_key
from tests.factories.imports import counts, run_import, snapshot

INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u202a", "\u202b",
    "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u00ad",
]  # fmt: skip


@pytest.mark.parametrize("character", INVISIBLE)
def test_keys_lose_invisible_characters(character: str) -> None:
    values = pd.Series([f"ada{character}@x.com", f" A-{character}7 ", f"www.x{character}.com", ""])
    assert read_email(values[:1]).values.tolist() == ["ada@x.com"]
    assert read_key(values[1:2]).values.tolist() == ["A-7"]
    domain = read_domain(values[2:])
    assert domain.values.tolist() == ["x.com", None]
    assert not domain.bad.any()


def test_names_keep_what_was_written_and_ascii_is_untouched() -> None:
    assert strip_invisible("Zoë\u200d") == "Zoë"
    plain = "ada@x.com"
    assert strip_invisible(plain) is plain


def context() -> ValidationContext:
    return ValidationContext(file_name="accounts.csv")


def test_a_value_over_its_field_limit_rejects_the_row_naming_length_and_limit() -> None:
    fields = ENTITY_FIELDS["accounts"]
    raw = pd.DataFrame(
        {
            "name": ["Acme", "N" * 4000, "Beta"],
            "phone": ["+49 30 1", "+49 30 2", "1" * 41],
            "description": ["x" * 100_000, "", ""],
        }
    )
    sources = {
        "name": ColumnSource("Account Name"),
        "phone": ColumnSource("Phone"),
        "description": ColumnSource("Notes"),
    }
    typed, rejections = validate_frame(
        raw, fields, sources, context(), pd.Series([2, 3, 4], index=raw.index)
    )
    assert typed["name"].tolist() == ["Acme"]
    assert [(r.row_number, r.reason_code, r.column, r.message) for r in rejections] == [
        (
            3,
            "too_long",
            "Account Name",
            'accounts.csv, row 3, column "Account Name": the value is 4000 characters; at most '
            "255 are allowed. Shorten it and import again.",
        ),
        (
            4,
            "too_long",
            "Phone",
            'accounts.csv, row 4, column "Phone": the value is 41 characters; at most 40 are '
            "allowed. Shorten it and import again.",
        ),
    ]
    assert rejections[0].value == "N" * 4000


def test_the_limit_counts_what_is_stored_not_what_was_written() -> None:
    fields = ENTITY_FIELDS["accounts"]
    host = "a" * 60 + ".example"
    raw = pd.DataFrame({"domain": [f"https://www.{host}/{'p' * 300}"], "external_id": ["  A-1  "]})
    sources = {"domain": ColumnSource("Website"), "external_id": ColumnSource("Id")}
    typed, rejections = validate_frame(
        raw, fields, sources, context(), pd.Series([2], index=raw.index)
    )
    assert rejections == []
    assert typed["domain"].tolist() == [host]


# ---------------------------------------------------------------------------------------------
# Whole imports
# ---------------------------------------------------------------------------------------------


def names(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute("select external_id, name, city from accounts order by 1").fetchall()


def test_utf8_file_with_one_stray_byte_fails_naming_the_row_and_keeps_stored_names(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    first = tmp_path / "accounts.csv"
    first.write_text(
        "external_id,name,city\nA-1,Müller GmbH,Köln\nA-2,Jäger AG,München\n", encoding="utf-8"
    )
    assert run_import(fresh, first, tmp_path, entity="accounts").status == "loaded"
    before = snapshot(fresh)
    second = tmp_path / "accounts-update.csv"
    second.write_bytes(
        "external_id,name,city\nA-1,Müller GmbH,Köln\nA-2,Jäger AG,München\n".encode()
        + b"A-3,Sch\xfctz KG,Bonn\n"
    )
    result = run_import(fresh, second, tmp_path, entity="accounts")
    assert result.status == "failed"
    assert result.message == (
        "accounts-update.csv: the file holds UTF-8 text with bytes that are not UTF-8 (reading "
        "it all as Windows-1252 would garble its correct characters): row 4 (byte 0xFC); "
        'nothing was loaded. Correct those rows, or save the file again as "CSV UTF-8" and '
        "import that; --encoding NAME reads the whole file in the encoding you name."
    )
    assert snapshot(fresh) == before
    assert names(fresh) == [("A-1", "Müller GmbH", "Köln"), ("A-2", "Jäger AG", "München")]


def test_a_real_windows_1252_file_loads_and_says_so(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("external_id,name,city\nA-1,Müller € GmbH,Köln\n".encode("cp1252"))
    result = run_import(fresh, path, tmp_path, entity="accounts")
    assert result.status == "loaded", result.message
    assert "encoding windows-1252: the file is not UTF-8 and has no UTF-8 characters" in (
        result.message or ""
    )
    assert names(fresh) == [("A-1", "Müller € GmbH", "Köln")]


def test_encoding_flag_reads_the_file_in_that_encoding(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("external_id,name,city\nA-1,Müller GmbH,Köln\n".encode("latin-1"))
    result = run_import(fresh, path, tmp_path, entity="accounts", encoding="latin-1")
    assert result.status == "loaded", result.message
    assert "windows-1252" not in (result.message or "")
    assert names(fresh) == [("A-1", "Müller GmbH", "Köln")]
    stray = tmp_path / "stray.csv"
    stray.write_bytes(b"external_id,name,city\nA-2,Ada,Bonn\nA-3,J\xe4ger,Essen\n")
    failed = run_import(fresh, stray, tmp_path, entity="accounts", encoding="utf-8")
    assert failed.status == "failed"
    assert failed.message == (
        "stray.csv: the file holds bytes that are not utf-8: row 3 (byte 0xE4); nothing was "
        "loaded. Check that the file really is utf-8, or import it without --encoding to let "
        "the importer decide."
    )


def test_a_70_kb_header_is_read_whole(fresh: psycopg.Connection, tmp_path: Path) -> None:
    extra = [f"Custom field {n:04d} {'x' * 60}" for n in range(1000)]
    header = ",".join(["external_id", *extra, "name"])
    assert len(header) > 70_000
    path = tmp_path / "wide.csv"
    path.write_text(
        header + "\n" + ",".join(["A-1", *("" for _ in extra), "Acme"]) + "\n", encoding="utf-8"
    )
    result = run_import(fresh, path, tmp_path, entity="accounts")
    assert result.status == "loaded", result.message
    assert counts(result) == (1, 0, 0, 0)
    assert names(fresh) == [("A-1", "Acme", None)]


def test_nul_bytes_in_cells_are_removed_and_counted(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(
        b"external_id,name,city\nA-1,Acme,Bonn\nA-2,Be\x00ta,K\x00\xc3\xb6ln\nA-3,Gamma,Essen\n"
        b"A-4,Delta\x00,Ulm\n"
    )
    result = run_import(fresh, path, tmp_path, entity="accounts")
    assert result.status == "loaded", result.message
    assert counts(result) == (4, 0, 0, 0)
    assert (result.message or "").endswith("; removed 3 NUL byte(s) (rows 3, 5)")
    assert names(fresh)[1] == ("A-2", "Beta", "Köln")


def test_an_invisible_character_in_an_email_matches_the_stored_person(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    first = tmp_path / "leads.csv"
    first.write_text("first_name,last_name,email\nAda,Lovelace,ada@x.com\n", encoding="utf-8")
    assert run_import(fresh, first, tmp_path, entity="leads").status == "loaded"
    second = tmp_path / "leads-again.csv"
    second.write_text(
        "first_name,last_name,email,city\nAda,Lovelace,ada\u200b@x.com,London\n", encoding="utf-8"
    )
    result = run_import(fresh, second, tmp_path, entity="leads")
    assert result.status == "loaded", result.message
    assert fresh.execute("select email, city from leads").fetchall() == [("ada@x.com", "London")]


def test_a_4000_character_account_name_rejects_that_row_and_loads_the_others(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        f"external_id,name,city\nA-1,Acme,Bonn\nA-2,{'N' * 4000},Köln\nA-3,Beta,Ulm\n",
        encoding="utf-8",
    )
    result = run_import(fresh, path, tmp_path, entity="accounts")
    assert result.status == "loaded", result.message
    assert counts(result) == (2, 0, 0, 1)
    assert [row[0] for row in names(fresh)] == ["A-1", "A-3"]
    assert fresh.execute(
        "select row_number, reason_code, column_name, message from ingest.rejected_rows"
    ).fetchall() == [
        (
            3,
            "too_long",
            "name",
            'accounts.csv, row 3, column "name": the value is 4000 characters; at most 255 are '
            "allowed. Shorten it and import again.",
        )
    ]


def test_a_cell_over_the_csv_module_limit_is_one_rejected_row(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        f'external_id,name,description\nA-1,"{"N" * 200_000}",x\nA-2,Beta,"{"d" * 200_000}"\n',
        encoding="utf-8",
    )
    result = run_import(fresh, path, tmp_path, entity="accounts")
    assert result.status == "loaded", result.message
    assert counts(result) == (1, 0, 0, 1)
    row = fresh.execute("select name, length(description) from accounts").fetchone()
    assert row == ("Beta", 200_000)
