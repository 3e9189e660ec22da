"""Numbers end to end: what a real import stores for amounts and probabilities, and refuses."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.factories.imports import counts, run_import
from tests.factories.spreadsheets import DATA, write_xlsx

FLAG = "Rerun with --decimal-separator . (decimal point) or --decimal-separator , (decimal comma)."


def projects(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "select name, amount::text, currency_code, probability::text from projects order by name"
    ).fetchall()


def rejected(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "select row_number, reason_code, message from ingest.rejected_rows "
        "order by row_number, rejected_row_id"
    ).fetchall()


def test_german_semicolon_file_stores_every_amount_as_meant(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "first_name;email;estimated_amount\n"
        "Anna;anna@example.de;20.000\n"
        "Ben;ben@example.de;1.234\n"
        "Cem;cem@example.de;20.000 €\n",
        encoding="utf-8",
    )
    result = run_import(fresh, path, tmp_path)
    assert result.status == "loaded"
    assert fresh.execute(
        "select email, estimated_amount::text from leads order by email"
    ).fetchall() == [
        ("anna@example.de", "20000.00"),
        ("ben@example.de", "1234.00"),
        ("cem@example.de", "20000.00"),
    ]
    assert (result.message or "").endswith(
        'amounts in "estimated_amount" read with a decimal comma (the file is separated by '
        "semicolons, as European Excel writes it), so 20.000 on row 2 is 20000"
    )


def test_xlsx_text_amount_follows_the_column_rule_and_number_cells_are_numbers(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    run_import(fresh, DATA / "generic_accounts.csv", tmp_path)
    path = write_xlsx(
        tmp_path / "projects.xlsx",
        {
            "Projects": [
                ["name", "account_name", "amount", "currency_code"],
                ["Audit", "Kessler Bau GmbH", "£12.500", "GBP"],
                ["Build", "Kessler Bau GmbH", 1234.5, None],
                ["Care", "Kessler Bau GmbH", 20000, None],
            ]
        },
    )
    failed = run_import(fresh, path, tmp_path)
    assert failed.status == "failed"
    assert failed.message == (
        'projects.xlsx: column "amount" has amounts like £12.500 on row 2 that could be 12.500 '
        f"(decimal point) or 12500 (decimal comma). {FLAG}"
    )
    assert projects(fresh) == []
    loaded = run_import(fresh, path, tmp_path, decimal_separator=",")
    assert loaded.status == "loaded"
    assert projects(fresh) == [
        ("Audit", "12500.00", "GBP", None),
        ("Build", "1234.50", "EUR", None),
        ("Care", "20000.00", "EUR", None),
    ]


def test_ambiguous_comma_file_fails_until_the_flag_says_which(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text('first_name,email,estimated_amount\nAda,ada@example.com,"1,234"\n')
    failed = run_import(fresh, path, tmp_path)
    assert failed.status == "failed"
    assert failed.message == (
        'leads.csv: column "estimated_amount" has amounts like 1,234 on row 2 that could be 1234 '
        f"(decimal point) or 1.234 (decimal comma). {FLAG}"
    )
    loaded = run_import(fresh, path, tmp_path, decimal_separator=".")
    assert loaded.status == "loaded"
    assert fresh.execute("select estimated_amount::text from leads").fetchall() == [("1234.00",)]


def test_decimals_currency_and_overflow_are_rejected_per_row(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    run_import(fresh, DATA / "generic_accounts.csv", tmp_path)
    path = tmp_path / "projects.csv"
    path.write_text(
        "name,account_name,amount,currency\n"
        "Too precise,Kessler Bau GmbH,1234.567,EUR\n"
        "Wrong currency,Kessler Bau GmbH,$1200.00,EUR\n"
        "Too large,Kessler Bau GmbH,1000000000000,\n"
        "Fine,Kessler Bau GmbH,¥1200,\n"
        "Also fine,Kessler Bau GmbH,12.50 USD,usd\n"
    )
    result = run_import(fresh, path, tmp_path)
    assert counts(result) == (2, 0, 0, 3)
    assert projects(fresh) == [
        ("Also fine", "12.50", "USD", None),
        ("Fine", "1200.00", "JPY", None),
    ]
    where = 'projects.csv, row {}, column "amount": '
    assert rejected(fresh) == [
        (
            2,
            "too_many_decimals",
            where.format(2) + '"1234.567" has 3 decimals; EUR amounts have at most 2. Correct '
            "the amount (it is never rounded).",
        ),
        (
            3,
            "currency_mismatch",
            where.format(3) + '"$1200.00" is in USD, but the row\'s currency ("currency") is EUR; '
            "correct the amount or the currency.",
        ),
        (
            4,
            "amount_too_large",
            where.format(4) + '"1000000000000" is too large: an amount here must be below '
            "1,000,000,000,000 (10^12).",
        ),
    ]


def test_probability_column_has_one_reading(fresh: psycopg.Connection, tmp_path: Path) -> None:
    run_import(fresh, DATA / "generic_accounts.csv", tmp_path)
    percent = tmp_path / "percent.csv"
    percent.write_text(
        "name,account_name,probability\nOne,Kessler Bau GmbH,1\nTwo,Kessler Bau GmbH,2\n"
    )
    result = run_import(fresh, percent, tmp_path)
    assert (result.message or "").endswith(
        'probabilities in "probability" read on the 0–100 scale (2 on row 3 is above 1), so 1 on '
        "row 2 is 1 %"
    )
    fraction = tmp_path / "fraction.csv"
    fraction.write_text(
        "name,account_name,probability\nHalf,Kessler Bau GmbH,0.5\nSure,Kessler Bau GmbH,1\n"
    )
    run_import(fresh, fraction, tmp_path)
    assert [(name, probability) for name, _, _, probability in projects(fresh)] == [
        ("Half", "0.5000"),
        ("One", "0.0100"),
        ("Sure", "1.0000"),
        ("Two", "0.0200"),
    ]
