"""Amounts of money: `1,234.56`, `1.234,56 €`, `$1,234`, `EUR 99`, and their currencies.

The number is read with the column's decimal mark (:mod:`ingest.values.numbers`); a currency
symbol or ISO code before or after it is kept per row (``<name>__currency``) and must agree with
the row's currency column when there is one. An amount is never rounded: more decimals than its
currency has is a rejection, and so is an amount beyond what the column stores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from ingest.values.column import ColumnResult, ValidationContext
from ingest.values.numbers import ColumnNumbers, cells_of, column_result

CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR"}
# Minor units (ISO 4217) of the currencies that do not have 2; storage keeps at most 2.
CURRENCY_DECIMALS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "VND": 0,
    "XOF": 0,
    "XAF": 0,
    "PYG": 0,
    "UGX": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "LYD": 3,
    "IQD": 3,
}
STORED_DECIMALS = 2  # numeric(14,2)
AMOUNT_LIMIT_DIGITS = 12  # numeric(14,2): below 10^12
_NOISE = re.compile(r"[\s\u00a0\u202f']")
_SYMBOL = "[A-Z]{3}|[€$£¥₹]"
_AMOUNT = re.compile(
    rf"(?P<pre>{_SYMBOL})?(?P<sign>[-+])?(?P<number>[\d.,]*\d[\d.,]*)(?P<post>{_SYMBOL})?"
).fullmatch
_DIGITS = re.compile(r"\d+").fullmatch
# Amounts that need no decision (they can only be read with a decimal point, fit the column and
# have at most 2 decimals), as a bench or a CRM export writes them: 1234 or 1234.56.
_SIMPLE = re.compile(r"\d{1,12}(?:\.\d{1,2})?").fullmatch
_FIX = "write it like 1234.56, 1,234.56 or 1.234,56 (a currency symbol is fine)"


def split_amount(text: str) -> tuple[str, bool, str | None] | None:
    """`-€1.234,56`, `(1,234.56 USD)` → (number as written, negative, currency); None if it is
    not an amount. The number keeps its marks: the column decides what they mean."""
    compact = _NOISE.sub("", text).upper()
    negative = compact.startswith("-") or (compact.startswith("(") and compact.endswith(")"))
    if compact.startswith("("):
        compact = compact[1:-1] if compact.endswith(")") else compact
    compact = compact.removeprefix("-")
    match = _AMOUNT(compact)
    if not match or (match.group("pre") and match.group("post")):
        return None
    negative = negative or match.group("sign") == "-"
    symbol = match.group("pre") or match.group("post")
    currency = CURRENCY_SYMBOLS.get(symbol, symbol) if symbol else None
    return match.group("number"), negative, currency


def _read_simple(
    texts: list[str],
    cells: list[bool],
    *,
    key: str,
    context: ValidationContext,
    rows: Sequence[int] | None,
    own: tuple[pd.Series, str] | None,
) -> list[str | None] | None:
    """The common case, fast: every amount is `1234` or `1234.56` (no symbol, no thousands mark,
    nothing ambiguous) and the column is not read with a decimal comma; None otherwise.

    A `1234.56` written as text is evidence of the decimal point, recorded as the general reader
    would; a row currency (JPY has no decimals) needs the general reader.
    """
    if context.decimal_separator == "," or context.decimal_marks.get(key, (".", ""))[0] != ".":
        return None
    if own is not None and own[0].astype(bool).any():
        return None
    simple = _SIMPLE
    if not all(simple(text) for text in texts if text):
        return None
    if context.decimal_separator is None and key not in context.decimal_marks:
        evidence = next((p for p, text in enumerate(texts) if "." in text and not cells[p]), None)
        if evidence is not None:
            where = f" on row {rows[evidence]}" if rows is not None else ""
            context.decimal_marks[key] = (".", f"{texts[evidence]}{where}")
    return [text or None for text in texts]


def read_money(
    values: pd.Series,
    context: ValidationContext,
    *,
    key: str = "amount",
    header: str = "Amount",
    rows: Sequence[int] | None = None,
    row_currency: tuple[pd.Series, str] | None = None,
) -> ColumnResult:
    """Amounts of zero or more as plain decimals, with the currency each was written in.

    ``row_currency`` is the row's own currency column and its header, when the file has one.
    """
    texts, cells = cells_of(values)
    fast = _read_simple(texts, cells, key=key, context=context, rows=rows, own=row_currency)
    if fast is not None:
        result = column_result(values, fast, {}, fix=_FIX, reason="invalid_amount")
        result.extra["currency"] = pd.Series(None, index=values.index, dtype=object)
        return result
    numbers: list[str | None] = []
    negative: list[bool] = []
    currencies: list[str | None] = []
    for text, cell in zip(texts, cells, strict=True):
        if not text or cell or _DIGITS(text):  # the common case: plain digits (no mark to decide)
            numbers.append(text or None)
            negative.append(False)
            currencies.append(None)
            continue
        parts = split_amount(text)
        numbers.append(parts[0] if parts else None)
        negative.append(parts[1] if parts else False)
        currencies.append(parts[2] if parts else None)
    reader = ColumnNumbers(
        numbers,
        cells,
        key=key,
        header=header,
        noun="amounts",
        context=context,
        rows=rows,
        written=texts,
    )
    reader.read()
    problems: dict[int, tuple[str, str]] = {
        position: ("invalid_amount", f'"{{value}}" {message}; {{fix}}.')
        for position, message in reader.problems.items()
    }
    own: list[str | None] = [None] * len(texts)
    own_header = ""
    if row_currency is not None:
        column, own_header = row_currency
        own = [
            str(code).strip().upper() or None if isinstance(code, str) else None
            for code in column.tolist()
        ]
    out: list[str | None] = []
    for position, (text, value) in enumerate(zip(texts, reader.values, strict=True)):
        if not text or position in problems:
            out.append(None)
            continue
        if value is None or negative[position]:
            problems[position] = (
                "invalid_amount",
                '"{value}" is not an amount of zero or more; {fix}.',
            )
            out.append(None)
            continue
        written, row_code = currencies[position], own[position]
        if written and row_code and written != row_code:
            problems[position] = (
                "currency_mismatch",
                f'"{{value}}" is in {written}, but the row\'s currency ("{own_header}") is '
                f"{row_code}; correct the amount or the currency.",
            )
            out.append(None)
            continue
        integer, _, fraction = value.partition(".")
        fraction = fraction.rstrip("0")
        currency = written or row_code
        allowed = min(CURRENCY_DECIMALS.get(currency or "", STORED_DECIMALS), STORED_DECIMALS)
        if len(fraction) > allowed:
            whose = f"{currency} amounts" if currency else "amounts without a currency"
            problems[position] = (
                "too_many_decimals",
                f'"{{value}}" has {len(fraction)} decimals; {whose} have at most {allowed}. '
                "Correct the amount (it is never rounded).",
            )
            out.append(None)
            continue
        if len(integer.lstrip("0")) > AMOUNT_LIMIT_DIGITS:
            problems[position] = (
                "amount_too_large",
                '"{value}" is too large: an amount here must be below 1,000,000,000,000 (10^12).',
            )
            out.append(None)
            continue
        out.append(value)  # trailing zeros (12.500) change nothing
    result = column_result(values, out, problems, fix=_FIX, reason="invalid_amount")
    result.extra["currency"] = pd.Series(
        [None if position in problems else code for position, code in enumerate(currencies)],
        index=values.index,
        dtype=object,
    )
    return result
