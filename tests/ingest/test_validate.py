"""Validation rules, one at a time, with the exact message a user sees."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.entities import ENTITY_FIELDS
from ingest.errors import CrmError
from ingest.validate import ColumnSource, ValidationContext, validate_frame


def run(
    column: str,
    values: list[str],
    *,
    entity: str = "leads",
    header: str = "Value",
    value_map: dict[str, str] | None = None,
    **context: object,
) -> tuple[list[object], list[str]]:
    raw = pd.DataFrame({column: pd.Series(values, dtype="str")})
    rows = pd.Series(range(2, len(values) + 2))
    typed, rejections = validate_frame(
        raw,
        ENTITY_FIELDS[entity],
        {column: ColumnSource(header, value_map or {})},
        ValidationContext(file_name="f.csv", **context),  # type: ignore[arg-type]
        rows,
    )
    kept = [None if pd.isna(value) else value for value in typed[column]]
    return kept, [rejection.message for rejection in rejections]


def test_email_syntax() -> None:
    kept, messages = run("email", ["ada@example.com", " bob@example.org ", "", "x@y"], header="E")
    assert kept == ["ada@example.com", "bob@example.org", None]
    assert messages == [
        'f.csv, row 5, column "E": "x@y" is not an email address; write it as name@example.com '
        "or leave the cell empty."
    ]


def test_money_column_rejects_negative_and_unreadable_amounts() -> None:
    kept, messages = run("estimated_amount", ["4,500.00", "-12", "lots"], header="Amount")
    assert kept == ["4500.00"]
    assert messages == [
        'f.csv, row 3, column "Amount": "-12" is not an amount of zero or more; write it like '
        "1234.56, 1,234.56 or 1.234,56 (a currency symbol is fine).",
        'f.csv, row 4, column "Amount": "lots" is not an amount of zero or more; write it like '
        "1234.56, 1,234.56 or 1.234,56 (a currency symbol is fine).",
    ]


def test_iso_dates_and_timestamps() -> None:
    kept, messages = run(
        "created_at", ["2025-03-04", "2024-03-12 09:14", "2023-02-01T09:30:00.000Z", ""]
    )
    # ISO text is passed on as written; PostgreSQL reads it.
    assert kept == ["2025-03-04", "2024-03-12 09:14", "2023-02-01T09:30:00.000Z", None]
    assert messages == []


@pytest.mark.parametrize(("order", "expected"), [("DMY", "2025-04-03"), ("MDY", "2025-03-04")])
def test_date_format_decides_day_month_order(order: str, expected: str) -> None:
    kept, _ = run("converted_date", ["03/04/2025"], date_order=order)
    assert kept == [expected]


def test_day_month_order_is_inferred_when_a_value_proves_it() -> None:
    kept, _ = run("converted_date", ["03/04/2025", "25/12/2024", "12.03.2025"])
    assert kept == ["2025-04-03", "2024-12-25", "2025-03-12"]


def test_ambiguous_date_column_without_a_format_is_an_error() -> None:
    with pytest.raises(CrmError) as caught:
        run("converted_date", ["03/04/2025", "05/06/2025"], header="Converted")
    assert str(caught.value) == (
        'f.csv: column "Converted" has dates like 03/04/2025 that could be day/month or '
        "month/day. Rerun with --date-format DMY (day first) or --date-format MDY (month first)."
    )


def test_us_times_month_names_and_outlook_empty_dates() -> None:
    kept, messages = run(
        "created_at",
        ["3/15/2024 2:30 PM", "07 Dec 2025", "0/0/00", "31/02/2025"],
        date_order="MDY",
        header="Created",
    )
    assert kept == ["2024-03-15 14:30:00", "2025-12-07 00:00:00", None]
    assert messages == [
        'f.csv, row 5, column "Created": "31/02/2025" is not a date; write it as YYYY-MM-DD or '
        "in MDY order, or leave the cell empty."
    ]


def test_implausible_years_are_rejected_per_row_and_never_stop_the_file() -> None:
    # A year outside 1900-2100 is a typo; pandas' timestamps end in 1677 and 2262, so 0025 and
    # 9999 used to stop the whole file with an overflow error, and "Jan 5 0025" became 2025.
    kept, messages = run(
        "created_at",
        ["2025-03-04", "0025-03-04", "13/02/0025", "31/12/9999", "Jan 5 0025", "13/02/1899", ""],
        header="Created",
    )
    assert kept == ["2025-03-04 00:00:00", None]
    where = 'f.csv, row {}, column "Created": '
    fix = "(a typo?); correct the year, or leave the cell empty."
    assert messages == [
        where.format(3) + f'"0025-03-04" has the year 0025, outside 1900–2100 {fix}',
        where.format(4) + f'"13/02/0025" has the year 0025, outside 1900–2100 {fix}',
        where.format(5) + f'"31/12/9999" has the year 9999, outside 1900–2100 {fix}',
        where.format(6) + f'"Jan 5 0025" has the year 0025, outside 1900–2100 {fix}',
        where.format(7) + f'"13/02/1899" has the year 1899, outside 1900–2100 {fix}',
    ]


def test_the_year_range_is_the_files_choice() -> None:
    kept, messages = run("converted_date", ["1850-06-01", "13/02/1850"], years=(1800, 2100))
    assert kept == ["1850-06-01", "1850-02-13"]
    assert messages == []
    kept, messages = run("converted_date", ["2030-01-01"], years=(1900, 2025), header="C")
    assert kept == []  # the row is rejected
    assert messages == [
        'f.csv, row 2, column "C": "2030-01-01" has the year 2030, outside 1900–2025 (a typo?); '
        "correct the year, or leave the cell empty."
    ]


def test_booleans() -> None:
    kept, messages = run(
        "has_opted_out_of_email",
        ["TRUE", "true", "1", "yes", "no", "0", "", "maybe"],
        entity="contacts",
        header="Opt out",
    )
    assert kept == ["true", "true", "true", "true", "false", "false", None]
    assert messages == [
        'f.csv, row 9, column "Opt out": "maybe" is not yes or no; write TRUE/FALSE, yes/no or 1/0.'
    ]


def test_enums_through_the_profile_value_map() -> None:
    kept, messages = run(
        "status",
        ["Open - Not Contacted", "open - not contacted", "qualified", "Hot"],
        header="Lead Status",
        value_map={"Open - Not Contacted": "new"},
    )
    assert kept == ["new", "new", "qualified"]
    assert messages == [
        'f.csv, row 5, column "Lead Status": "Hot" is not a known value; use one of: new, '
        "contacted, qualified, unqualified, converted (or add it to the profile's value map)."
    ]


def test_probability_as_percent_or_fraction() -> None:
    # One reading per column: 150 is above 1, so the bare 0.6 is 0.6 % like 75 is 75 %.
    kept, messages = run("probability", ["75", "75%", "0.6", "150"], entity="projects")
    assert kept == ["0.7500", "0.7500", "0.0060"]
    assert messages[0].endswith(
        '"150" is not between 0 and 100 %; a probability is 0 to 100 (e.g. 75 or 75%) or a '
        "fraction 0 to 1."
    )


def test_domain_from_a_website() -> None:
    kept, messages = run(
        "domain",
        ["https://www.Kessler-Bau.de/kontakt", "brightwater.io", "not a domain"],
        entity="accounts",
        header="Website",
    )
    assert kept == ["kessler-bau.de", "brightwater.io"]
    assert messages == [
        'f.csv, row 4, column "Website": "not a domain" is not a domain or website; write it as '
        "example.com or https://www.example.com."
    ]


def test_whole_numbers() -> None:
    kept, messages = run("employee_count", ["1,200", "85", "12.5"], entity="accounts")
    assert kept == ["1200", "85"]
    assert messages == [
        'f.csv, row 4, column "Value": "12.5" is not a whole number of zero or more; write it '
        "like 1200."
    ]


def test_text_is_kept_as_written() -> None:
    kept, _ = run("description", ["NA", "null", "-12", "+49 30 1234", "=SUM(A1)", "  "])
    assert kept == ["NA", "null", "-12", "+49 30 1234", "=SUM(A1)", None]
