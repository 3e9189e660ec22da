"""Numbers, amounts and probabilities: one decimal mark per column, nothing rounded or guessed."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.entities import ENTITY_FIELDS
from ingest.errors import CrmError, ExitCode
from ingest.readers.xlsx import NumberText, cell_text
from ingest.validate import ColumnSource, ValidationContext, read_column, validate_frame

FIX = "write it like 1234.56, 1,234.56 or 1.234,56 (a currency symbol is fine)."


def run(
    column: str,
    values: list[str],
    *,
    context: ValidationContext | None = None,
    entity: str = "projects",
    header: str = "Value",
    first_row: int = 2,
    extra: dict[str, list[str]] | None = None,
) -> tuple[list[object], list[str], ValidationContext]:
    """Validate one chunk of one column (plus ``extra`` columns) with a context that may be
    shared between chunks, as the importer does."""
    context = context or ValidationContext(file_name="f.csv")
    raw = pd.DataFrame({column: pd.Series(values, dtype=object)})
    sources = {column: ColumnSource(header)}
    for name, cells in (extra or {}).items():
        raw[name] = pd.Series(cells, dtype=object)
        sources[name] = ColumnSource(name.title())
    rows = pd.Series(range(first_row, first_row + len(values)))
    typed, rejections = validate_frame(raw, ENTITY_FIELDS[entity], sources, context, rows)
    kept = [None if pd.isna(value) else value for value in typed[column]]
    return kept, [rejection.message for rejection in rejections], context


def where(row: int, header: str = "Value") -> str:
    return f'f.csv, row {row}, column "{header}": '


def test_semicolon_file_reads_every_amount_with_the_decimal_comma() -> None:
    # The issue: 20.000 was 20.00 and 1.234 was 1.23, while 20.000 € was 20000.
    kept, messages, context = run(
        "amount",
        ["20.000", "1.234", "20.000 €"],
        context=ValidationContext("f.csv", decimal_comma=True),
    )
    assert kept == ["20000", "1234", "20000"]
    assert messages == []
    assert context.notes == {
        "decimal mark amount": 'amounts in "Value" read with a decimal comma (the file is '
        "separated by semicolons, as European Excel writes it), so 20.000 on row 2 is 20000"
    }


def test_evidence_in_the_column_beats_the_delimiter() -> None:
    kept, messages, context = run(
        "amount",
        ["1.234", "1,234.56", "12.50"],
        context=ValidationContext("f.csv", decimal_comma=True),
    )
    assert kept == ["1234.56", "12.50"]
    assert messages == [
        where(2) + '"1.234" has 3 decimals; amounts without a currency have at most 2. Correct '
        "the amount (it is never rounded)."
    ]
    assert context.notes["decimal mark amount"] == (
        'amounts in "Value" read with a decimal point (1,234.56 on row 3), so 1.234 on row 2 is '
        "1.234"
    )


def test_decimal_comma_evidence_reads_the_ambiguous_values() -> None:
    kept, messages, context = run("amount", ["1.234", "12,50 €", "1.234,56"])
    assert kept == ["1234", "12.50", "1234.56"]
    assert messages == []
    assert context.notes["decimal mark amount"] == (
        'amounts in "Value" read with a decimal comma (12,50 € on row 3), so 1.234 on row 2 is 1234'
    )


def test_a_column_with_only_ambiguous_amounts_and_no_hint_stops_the_file() -> None:
    with pytest.raises(CrmError) as caught:
        run("amount", ["1200", "1,234"], header="Amount")
    assert caught.value.exit_code == ExitCode.FILE_FAILED
    assert str(caught.value) == (
        'f.csv: column "Amount" has amounts like 1,234 on row 3 that could be 1234 (decimal '
        "point) or 1.234 (decimal comma). Rerun with --decimal-separator . (decimal point) or "
        "--decimal-separator , (decimal comma)."
    )


def test_plain_whole_numbers_need_no_decision() -> None:
    kept, messages, context = run("amount", ["1200", "", "0075"])
    assert kept == ["1200", None, "0075"]
    assert (messages, context.notes, context.decimal_marks) == ([], {}, {})


@pytest.mark.parametrize(
    ("told", "values", "expected"),
    [(".", ["20,000", "1,234"], ["20000", "1234"]), (",", ["20,000", "1,25"], ["20.000", "1.25"])],
)
def test_the_flag_decides_and_is_not_a_note(
    told: str, values: list[str], expected: list[str]
) -> None:
    kept, messages, context = run(
        "annual_revenue",
        values,
        entity="accounts",
        context=ValidationContext("f.csv", decimal_separator=told),
    )
    assert (kept, messages, context.notes) == (expected, [], {})


def test_told_separator_rejects_values_that_read_only_the_other_way() -> None:
    kept, messages, _ = run(
        "amount",
        ["1.5", "1,5"],
        context=ValidationContext("f.csv", decimal_separator=","),
    )
    assert kept == ["1.5"]
    assert messages == [
        where(2) + '"1.5" can only be read with a decimal point, but the amounts in this column '
        "are read with a decimal comma (told by --decimal-separator or the "
        f"import.decimal_separator setting); {FIX}"
    ]


def test_a_column_that_contradicts_itself_stops_the_file_naming_both() -> None:
    with pytest.raises(CrmError) as caught:
        run("amount", ["1,5", "7", "1.5"], header="Amount")
    assert str(caught.value) == (
        'f.csv: column "Amount" mixes decimal marks: 1.5 on row 4 has a decimal point and 1,5 on '
        "row 2 a decimal comma. Make the column use one of them, then import again "
        "(--decimal-separator . or , says which one the file uses)."
    )


def test_the_decision_of_the_first_chunk_holds_for_later_chunks() -> None:
    context = ValidationContext("f.csv")
    run("amount", ["1,5"], context=context)
    kept, messages, _ = run("amount", ["1.234", "2.5"], context=context, first_row=20002)
    assert kept == ["1234"]
    assert messages == [
        where(20003) + '"2.5" can only be read with a decimal point, but the amounts in this '
        f"column are read with a decimal comma (1,5 on row 2); {FIX}"
    ]
    assert context.notes["decimal mark amount"] == (
        'amounts in "Value" read with a decimal comma (1,5 on row 2), so 1.234 on row 20002 is 1234'
    )


def test_a_delimiter_decision_also_holds_for_later_chunks() -> None:
    context = ValidationContext("f.csv", decimal_comma=True)
    run("amount", ["20.000"], context=context)
    kept, messages, _ = run("amount", ["12.5"], context=context, first_row=9)
    assert kept == []
    assert messages == [
        where(9) + '"12.5" can only be read with a decimal point, but the amounts in this column '
        "are read with a decimal comma (the file is separated by semicolons, as European Excel "
        f"writes it); {FIX}"
    ]


def test_currency_symbols_and_codes_before_or_after() -> None:
    kept, messages, context = run(
        "amount", ["€1.234,56", "EUR 99", "99 USD", "CHF 1'234,50", "£12", "¥1200", "(5)", "-€3"]
    )
    assert kept == ["1234.56", "99", "99", "1234.50", "12", "1200"]
    typed, _ = validate_frame(
        pd.DataFrame({"amount": pd.Series(["€1.234,56", "99 usd", "7"], dtype=object)}),
        ENTITY_FIELDS["projects"],
        {"amount": ColumnSource("Value")},
        ValidationContext("f.csv"),
        pd.Series([2, 3, 4]),
    )
    assert typed["amount__currency"].tolist() == ["EUR", "USD", None]
    assert messages == [
        where(8) + f'"(5)" is not an amount of zero or more; {FIX}',
        where(9) + f'"-€3" is not an amount of zero or more; {FIX}',
    ]
    assert context.notes == {}  # no value in it could be read both ways


def test_a_symbol_that_contradicts_the_rows_currency_is_rejected() -> None:
    kept, messages, _ = run(
        "amount",
        ["$1,200.00", "€5", "$7"],
        extra={"currency_code": ["EUR", "eur", "USD"]},
    )
    assert kept == ["5", "7"]
    assert messages == [
        where(2) + '"$1,200.00" is in USD, but the row\'s currency ("Currency_Code") is EUR; '
        "correct the amount or the currency."
    ]


def test_more_decimals_than_the_currency_has_is_rejected_never_rounded() -> None:
    kept, messages, _ = run(
        "amount",
        ["1234.567", "¥1200.5", "12.500", "99.99"],
        extra={"currency_code": ["EUR", "", "", "JPY"]},
    )
    assert kept == ["12.500"]
    assert messages == [
        where(2) + '"1234.567" has 3 decimals; EUR amounts have at most 2. Correct the amount '
        "(it is never rounded).",
        where(3) + '"¥1200.5" has 1 decimals; JPY amounts have at most 0. Correct the amount '
        "(it is never rounded).",
        where(5) + '"99.99" has 2 decimals; JPY amounts have at most 0. Correct the amount (it '
        "is never rounded).",
    ]


def test_overflow_names_the_limit() -> None:
    kept, messages, _ = run(
        "estimated_amount", ["999999999999.99", "1000000000000"], entity="leads"
    )
    assert kept == ["999999999999.99"]
    assert messages == [
        where(3) + '"1000000000000" is too large: an amount here must be below '
        "1,000,000,000,000 (10^12)."
    ]
    kept, messages, _ = run("employee_count", ["2147483647", "2147483648"], entity="accounts")
    assert kept == ["2147483647"]
    assert messages == [
        where(3) + '"2147483648" is too large: a whole number here is at most 2,147,483,647.'
    ]


def test_whole_numbers_take_either_thousands_mark() -> None:
    kept, messages, context = run(
        "employee_count", ["1,200", "1.500", "1 800", "1,5"], entity="accounts"
    )
    assert kept == ["1200", "1500", "1800"]
    assert messages == [
        where(5) + '"1,5" is not a whole number of zero or more; write it like 1200.'
    ]
    assert context.decimal_marks == {}


def test_xlsx_numeric_cells_are_read_as_they_are() -> None:
    assert type(cell_text(1234.567)) is NumberText
    assert type(cell_text(12)) is NumberText
    assert type(cell_text(True)) is str
    assert type(cell_text("12")) is str
    cells = [cell_text(1234.5), cell_text(20000.0), "£12.500", cell_text(0.1 + 0.2)]
    # The number cells are numbers, never guessed about and no evidence either; the text cell
    # £12.500 follows the column rule, and an XLSX has no delimiter to hint at it.
    with pytest.raises(CrmError) as caught:
        run("amount", cells)  # type: ignore[arg-type]
    assert str(caught.value) == (
        'f.csv: column "Value" has amounts like £12.500 on row 4 that could be 12.500 (decimal '
        "point) or 12500 (decimal comma). Rerun with --decimal-separator . (decimal point) or "
        "--decimal-separator , (decimal comma)."
    )
    kept, messages, _ = run(
        "amount",
        cells,  # type: ignore[arg-type]
        context=ValidationContext("f.csv", decimal_separator=","),
    )
    assert (kept, messages) == (["1234.5", "20000", "12500", "0.3"], [])


def test_xlsx_numeric_cell_with_too_many_decimals_is_rejected() -> None:
    kept, messages, _ = run("amount", [cell_text(1.234), cell_text(1e-05)])  # type: ignore[list-item]
    assert kept == []
    assert messages == [
        where(2) + '"1.234" has 3 decimals; amounts without a currency have at most 2. Correct '
        "the amount (it is never rounded).",
        where(3) + '"1e-05" has 5 decimals; amounts without a currency have at most 2. Correct '
        "the amount (it is never rounded).",
    ]


def test_xlsx_text_cell_with_evidence_in_the_column() -> None:
    kept, messages, _ = run("amount", ["£12.500", "£1.5", cell_text(7.25)])  # type: ignore[list-item]
    assert kept == ["12.500", "1.5", "7.25"]
    assert messages == []


def test_probability_one_reading_per_column() -> None:
    kept, _, context = run("probability", ["1", "2"])
    assert kept == ["0.0100", "0.0200"]
    assert context.notes == {
        "percent scale probability": 'probabilities in "Value" read on the 0–100 scale (2 on '
        "row 3 is above 1), so 1 on row 2 is 1 %"
    }
    kept, _, context = run("probability", ["0.5", "1", "0"])
    assert kept == ["0.5000", "1.0000", "0.0000"]
    assert context.notes == {
        "percent scale probability": 'probabilities in "Value" read as fractions 0–1 (none is '
        "above 1), so 0.5 on row 2 is 50 %"
    }


def test_percent_sign_is_always_percent_and_range_is_checked() -> None:
    kept, messages, _ = run("probability", ["0.5%", "75.5 %", "150", "-1", "12.345%"])
    assert kept == ["0.0050", "0.7550"]
    assert messages == [
        where(4) + '"150" is not between 0 and 100 %; a probability is 0 to 100 (e.g. 75 or 75%) '
        "or a fraction 0 to 1.",
        where(5) + '"-1" is not between 0 and 100 %; a probability is 0 to 100 (e.g. 75 or 75%) '
        "or a fraction 0 to 1.",
        where(6) + '"12.345%" has more decimals than a probability keeps (steps of 0.01 %); '
        "round it yourself.",
    ]


def test_a_later_chunk_cannot_change_a_fraction_column_to_percent() -> None:
    context = ValidationContext("f.csv")
    run("probability", ["0.25", "1"], context=context)
    kept, messages, _ = run("probability", ["0.5", "50", "50%"], context=context, first_row=9)
    assert kept == ["0.5000", "0.5000"]
    assert messages == [
        where(10) + '"50" is above 1, but the probabilities in this column are fractions from 0 '
        "to 1 (no value in the rows before is above 1); write the whole column on one scale "
        "(e.g. 75 or 75%)."
    ]


def test_read_column_alone_uses_the_context_for_the_decimal_mark() -> None:
    context = ValidationContext("f.csv", decimal_separator=",")
    result = read_column(
        pd.Series(["1.234,5", "3"], dtype=object),
        ENTITY_FIELDS["leads"]["estimated_amount"],
        ColumnSource("Budget"),
        context,
    )
    assert result.values.tolist() == ["1234.5", "3"]
    assert not result.bad.any()


def test_simple_amounts_record_their_evidence_for_later_chunks() -> None:
    # 1234.56-style chunks take the fast path; it must decide the column like the general reader.
    context = ValidationContext("f.csv", decimal_comma=True)
    assert run("amount", ["12.50", "", "300"], context=context)[0] == ["12.50", None, "300"]
    kept, messages, _ = run("amount", ["1,234", "7,5"], context=context, first_row=5)
    assert kept == ["1234"]
    assert messages == [
        where(6) + '"7,5" can only be read with a decimal comma, but the amounts in this column '
        f"are read with a decimal point (12.50 on row 2); {FIX}"
    ]
    assert context.notes["decimal mark amount"] == (
        'amounts in "Value" read with a decimal point (12.50 on row 2), so 1,234 on row 5 is 1234'
    )


def test_simple_number_cells_are_no_evidence() -> None:
    context = ValidationContext("f.csv")
    assert run("amount", [cell_text(12.5)], context=context)[0] == ["12.5"]  # type: ignore[list-item]
    assert context.decimal_marks == {}
    with pytest.raises(CrmError):
        run("amount", ["1,234"], context=context)


def test_simple_amounts_in_a_decimal_comma_column_are_rejected() -> None:
    kept, messages, _ = run(
        "amount", ["12.50"], context=ValidationContext("f.csv", decimal_separator=",")
    )
    assert kept == []
    assert messages == [
        where(2) + '"12.50" can only be read with a decimal point, but the amounts in this column '
        "are read with a decimal comma (told by --decimal-separator or the "
        f"import.decimal_separator setting); {FIX}"
    ]
