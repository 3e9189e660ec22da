"""Numbers as people write them: one decimal mark per column, probabilities, whole numbers.

Every number-like column (amounts, probabilities, whole numbers) is read here, so that one rule
decides what `1.234` means: the decimal mark is decided once per column, from what the user told
us (``--decimal-separator`` or the ``import.decimal_separator`` setting), else from a value in the
column that can only be read one way (`1,5`, `1.234,56` → decimal comma; `1.5`, `1,234.56` →
decimal point), else from the file's `;` delimiter (European Excel). A column whose values could
all be read either way, with no such hint, stops the file and asks for the flag; nothing is ever
read on a guess. Plain digits (`1200`) and numeric spreadsheet cells are the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import pandas as pd

from ingest.errors import CrmError, ExitCode
from ingest.readers.xlsx import NumberText
from ingest.values.column import ColumnResult, ValidationContext

_DIGITS = re.compile(r"\d+").fullmatch
_NUMBER = re.compile(r"[\d.,]*\d[\d.,]*").fullmatch
_NOISE = re.compile(r"[\s\u00a0\u202f']")
POSTGRES_INTEGER_MAX = 2_147_483_647
MARK_NAMES = {".": "decimal point", ",": "decimal comma"}


def reading(number: str, decimal: str) -> str | None:
    """``number`` (digits, dots and commas) read with ``decimal`` as the decimal mark and the
    other mark as the thousands separator: `1.234,5` with "," → "1234.5"; None if impossible."""
    thousands = "," if decimal == "." else "."
    integer, mark, fraction = number.partition(decimal)
    if mark and (not fraction or decimal in fraction or thousands in fraction):
        return None
    if thousands in integer:
        groups = integer.split(thousands)
        first = groups[0]
        if not 1 <= len(first) <= 3 or first[0] == "0" or any(len(g) != 3 for g in groups[1:]):
            return None
        integer = "".join(groups)
    if not integer:
        integer = "0"
    return integer + "." + fraction if fraction else integer


def plain(value: str) -> str:
    """A decimal's text without trailing zeros after the mark: 12.500 → 12.5, 20.00 → 20."""
    return value.rstrip("0").rstrip(".") if "." in value else value


def cell_value(text: str) -> str | None:
    """A numeric spreadsheet cell's text (Python's float or int text) as a plain decimal.

    Excel keeps 15 significant digits; the float's 17 (`0.30000000000000004`) are noise.
    """
    try:
        number = Decimal(format(float(text), ".15g"))
    except (ValueError, InvalidOperation):
        return None
    if not number.is_finite():
        return None
    return format(number.normalize(), "f") if number else "0"


class ColumnNumbers:
    """The numbers of one column chunk, read with the column's decimal mark.

    ``numbers`` holds, per cell, the number part as written (no sign, symbol or spaces), or
    None where the cell is blank or not a number at all. After :meth:`read`, ``values`` holds the
    plain decimal text (`1234.5`) or None, and ``problems`` the positions whose number can only be
    read with the other mark, with the message saying so.
    """

    def __init__(
        self,
        numbers: Sequence[str | None],
        cells: Sequence[bool],
        *,
        key: str,
        header: str,
        noun: str,
        context: ValidationContext,
        rows: Sequence[int] | None,
        written: Sequence[str] | None = None,
        whole: bool = False,
    ) -> None:
        self.numbers = numbers
        self.written = written
        self.cells = cells
        self.key = key
        self.header = header
        self.noun = noun
        self.context = context
        self.rows = rows
        self.whole = whole
        self.values: list[str | None] = []
        self.problems: dict[int, str] = {}

    def example(self, position: int) -> str:
        """The value at ``position`` as written, and its row when known: `20.000 € on row 7`."""
        text = self.written[position] if self.written is not None else self.numbers[position]
        return f"{text}{self.row(position)}"

    def row(self, position: int) -> str:
        return f" on row {self.rows[position]}" if self.rows is not None else ""

    def read(self) -> None:
        context = self.context
        told = context.decimal_separator
        values: list[str | None] = [None] * len(self.numbers)
        # position -> (read with ".", read with ","), for numbers with a mark in them
        marked: dict[int, tuple[str | None, str | None]] = {}
        for position, (number, cell) in enumerate(zip(self.numbers, self.cells, strict=True)):
            if number is None:
                continue
            if cell:
                values[position] = cell_value(number)
            elif _DIGITS(number):
                values[position] = number
            else:
                dot, comma = reading(number, "."), reading(number, ",")
                if dot is None and comma is None:
                    continue
                marked[position] = (dot, comma)
        self.values = values
        if not marked:
            return
        if told is not None:
            mark, why = told, "told by --decimal-separator or the import.decimal_separator setting"
        elif self.whole:  # a whole number has no decimals: `1.200` and `1,200` are 1200
            for position, readings in marked.items():
                whole = {value for value in readings if value is not None and "." not in value}
                values[position] = whole.pop() if len(whole) == 1 else None
            return
        else:
            mark, why = self._decide(marked)
        ambiguous: int | None = None
        for position, (dot, comma) in marked.items():
            value = dot if mark == "." else comma
            if value is None:
                self.problems[position] = (
                    f"can only be read with a {MARK_NAMES['.' if mark == ',' else ',']}, but "
                    f"the {self.noun} in this column are read with a {MARK_NAMES[mark]} ({why})"
                )
            elif (dot is not None and comma is not None) and ambiguous is None:
                ambiguous = position
            values[position] = value
        note = f"decimal mark {self.key}"
        if ambiguous is not None and told is None and note not in context.notes:
            context.notes[note] = (
                f'{self.noun} in "{self.header}" read with a {MARK_NAMES[mark]} ({why}), so '
                f"{self.example(ambiguous)} is {plain(values[ambiguous] or '')}"
            )

    def _decide(self, marked: dict[int, tuple[str | None, str | None]]) -> tuple[str, str]:
        """The column's decimal mark: decided before, else on evidence, else the delimiter."""
        context = self.context
        if self.key in context.decimal_marks:
            return context.decimal_marks[self.key]
        dot_only = next((p for p, (dot, comma) in marked.items() if comma is None), None)
        comma_only = next((p for p, (dot, comma) in marked.items() if dot is None), None)
        if dot_only is not None and comma_only is not None:
            raise CrmError(
                f'{context.file_name}: column "{self.header}" mixes decimal marks: '
                f"{self.example(dot_only)} has a decimal point and "
                f"{self.example(comma_only)} a decimal comma. Make the "
                "column use one of them, then import again (--decimal-separator . or , says "
                "which one the file uses).",
                exit_code=ExitCode.FILE_FAILED,
            )
        evidence = dot_only if dot_only is not None else comma_only
        if evidence is not None:
            mark = "." if evidence == dot_only else ","
            decision = (mark, self.example(evidence))
        elif context.decimal_comma:
            decision = (",", "the file is separated by semicolons, as European Excel writes it")
        else:
            position = next(iter(marked))
            dot, comma = marked[position]
            raise CrmError(
                f'{context.file_name}: column "{self.header}" has {self.noun} like '
                f"{self.example(position)} that could be {dot} (decimal point) or {comma} "
                "(decimal comma). Rerun with --decimal-separator . (decimal point) or "
                "--decimal-separator , (decimal comma).",
                exit_code=ExitCode.FILE_FAILED,
            )
        context.decimal_marks[self.key] = decision
        return decision


def cells_of(values: pd.Series) -> tuple[list[str], list[bool]]:
    """The cells as stripped text, and which of them were numeric spreadsheet cells."""
    items = values.tolist()
    return [str(item).strip() for item in items], [type(item) is NumberText for item in items]


def read_percent(
    values: pd.Series,
    context: ValidationContext,
    *,
    key: str = "probability",
    header: str = "Probability",
    rows: Sequence[int] | None = None,
) -> ColumnResult:
    """Probabilities as fractions 0 to 1 (`0.7500`): `75%` is always percent; a bare number is
    on the 0-100 scale if any bare number of the column is above 1, else a fraction."""
    texts, cells = cells_of(values)
    percent = [text.endswith("%") for text in texts]
    numbers: list[str | None] = []
    signs: list[bool] = []
    for text, has_percent in zip(texts, percent, strict=True):
        body = _NOISE.sub("", text[:-1] if has_percent else text)
        negative = body.startswith("-")
        body = body.lstrip("+-")
        signs.append(negative)
        numbers.append(body if body and _NUMBER(body) else None)
    reader = ColumnNumbers(
        numbers,
        cells,
        key=key,
        header=header,
        noun="probabilities",
        context=context,
        rows=rows,
        written=texts,
    )
    reader.read()
    problems: dict[int, tuple[str, str]] = {
        position: ("invalid_percent", f'"{{value}}" {message}; {{fix}}.')
        for position, message in reader.problems.items()
    }
    numbers_read = [
        None if value is None else Decimal(value) * (-1 if negative else 1)
        for value, negative in zip(reader.values, signs, strict=True)
    ]
    bare = [
        position
        for position, (number, has_percent) in enumerate(zip(numbers_read, percent, strict=True))
        if number is not None and not has_percent and position not in problems
    ]
    scale = _scale(numbers_read, bare, key=key, header=header, context=context, rows=rows)
    out: list[str | None] = []
    for position, (text, number) in enumerate(zip(texts, numbers_read, strict=True)):
        if not text or position in problems:
            out.append(None)
            continue
        if number is None:
            problems[position] = ("invalid_percent", '"{value}" is not a probability; {fix}.')
            out.append(None)
            continue
        on_percent_scale = percent[position] or scale == "percent"
        if scale == "fraction" and not percent[position] and number > 1:
            problems[position] = (
                "invalid_percent",
                '"{value}" is above 1, but the probabilities in this column are fractions from '
                f"0 to 1 ({context.percent_scales[key][1]}); write the whole column on one "
                "scale (e.g. 75 or 75%).",
            )
            out.append(None)
            continue
        limit = 100 if on_percent_scale else 1
        if number < 0 or number > limit:
            problems[position] = (
                "invalid_percent",
                '"{value}" is not between 0 and 100 %; a probability is 0 to 100 (e.g. 75 or 75%) '
                "or a fraction 0 to 1.",
            )
            out.append(None)
            continue
        fraction = number / 100 if on_percent_scale else number
        if fraction != fraction.quantize(Decimal("0.0001")):
            problems[position] = (
                "invalid_percent",
                '"{value}" has more decimals than a probability keeps (steps of 0.01 %); '
                "round it yourself.",
            )
            out.append(None)
            continue
        out.append(f"{fraction:.4f}")
    fix = "write it as 0 to 100 (e.g. 75 or 75%) or as a fraction 0 to 1"
    return column_result(values, out, problems, fix=fix, reason="invalid_percent")


def _scale(
    numbers: list[Decimal | None],
    bare: list[int],
    *,
    key: str,
    header: str,
    context: ValidationContext,
    rows: Sequence[int] | None,
) -> str | None:
    """The column's scale for numbers without `%`: "percent" (0 to 100) or "fraction" (0 to 1)."""
    if not bare:
        return context.percent_scales.get(key, (None, ""))[0]
    if key not in context.percent_scales:
        above = next((p for p in bare if (numbers[p] or 0) > 1), None)
        if above is not None:
            where = f" on row {rows[above]}" if rows is not None else ""
            context.percent_scales[key] = ("percent", f"{numbers[above]}{where} is above 1")
        else:
            context.percent_scales[key] = ("fraction", "no value in the rows before is above 1")
    scale, why = context.percent_scales[key]
    note = f"percent scale {key}"
    between = next((p for p in bare if 0 < (numbers[p] or 0) <= 1), None)
    if between is not None and note not in context.notes:
        value = numbers[between]
        where = f" on row {rows[between]}" if rows is not None else ""
        if scale == "percent":
            context.notes[note] = (
                f'probabilities in "{header}" read on the 0–100 scale ({why}), so {value}{where} '
                f"is {value} %"
            )
        else:
            context.notes[note] = (
                f'probabilities in "{header}" read as fractions 0–1 (none is above 1), so '
                f"{value}{where} is {plain(str(Decimal(value or 0) * 100))} %"
            )
    return scale


def read_integer(
    values: pd.Series,
    context: ValidationContext,
    *,
    key: str = "employee_count",
    header: str = "Employees",
    rows: Sequence[int] | None = None,
) -> ColumnResult:
    """Whole numbers of zero or more, up to PostgreSQL's integer: `1200`, `1,200`, `1.200`."""
    texts, cells = cells_of(values)
    numbers = [
        body if body and _NUMBER(body) else None
        for body in (_NOISE.sub("", text).removeprefix("+") for text in texts)
    ]
    reader = ColumnNumbers(
        numbers,
        cells,
        key=key,
        header=header,
        noun="numbers",
        context=context,
        rows=rows,
        written=texts,
        whole=True,
    )
    reader.read()
    problems: dict[int, tuple[str, str]] = {
        position: ("invalid_integer", f'"{{value}}" {message}; {{fix}}.')
        for position, message in reader.problems.items()
    }
    out: list[str | None] = []
    for position, (text, value) in enumerate(zip(texts, reader.values, strict=True)):
        if not text or position in problems:
            out.append(None)
        elif value is None or "." in value:
            problems[position] = (
                "invalid_integer",
                '"{value}" is not a whole number of zero or more; {fix}.',
            )
            out.append(None)
        elif int(value) > POSTGRES_INTEGER_MAX:
            problems[position] = (
                "number_too_large",
                '"{value}" is too large: a whole number here is at most '
                f"{POSTGRES_INTEGER_MAX:,}.",
            )
            out.append(None)
        else:
            out.append(str(int(value)))
    return column_result(
        values,
        out,
        problems,
        fix="write it like 1200",
        reason="invalid_integer",
    )


def column_result(
    values: pd.Series,
    out: list[str | None],
    problems: dict[int, tuple[str, str]],
    *,
    fix: str,
    reason: str,
) -> ColumnResult:
    """A column result whose rejected rows each carry their own reason and message."""
    bad = pd.Series(False, index=values.index)
    messages: dict[object, tuple[str, str]] = {}
    if problems:
        index = values.index
        for position, (code, template) in problems.items():
            written = str(values.iloc[position])
            message = template.replace("{fix}", fix).replace("{value}", written)
            messages[index[position]] = (code, message)
        bad.loc[list(messages)] = True
    return ColumnResult(
        pd.Series(out, index=values.index, dtype=object), bad, reason, messages=messages
    )
