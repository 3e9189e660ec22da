"""Amounts of money: `1,234.56`, `1.234,56 €`, `$1,234`, `EUR 99`, and their currencies."""

from __future__ import annotations

import re

import pandas as pd

from ingest.values.column import ColumnResult, ValidationContext, series

CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
_MONEY_NOISE = re.compile(r"[\s\u00a0\u202f']")
_SYMBOL = "[A-Z]{3}|[€$£¥₹]"
_CURRENCY = re.compile(rf"^(?P<pre>{_SYMBOL})?(?P<number>[-+]?[\d.,]+)(?P<post>{_SYMBOL})?$")
_PLAIN_NUMBER = r"[-+]?\d+(\.\d+)?"


def parse_amount(text: str, *, decimal_comma: bool) -> tuple[str, str | None] | None:
    """`1,234.56`, `1.234,56 €`, `$1,234`, `EUR 99` → ("1234.56", "EUR"); None if unreadable."""
    compact = _MONEY_NOISE.sub("", text)
    negative = compact.startswith("-") or (compact.startswith("(") and compact.endswith(")"))
    compact = compact.strip("()").lstrip("-")
    match = _CURRENCY.match(compact.upper())
    if not match:
        return None
    symbol = match.group("pre") or match.group("post")
    number = match.group("number")
    if number.startswith(("-", "+")):
        negative = negative or number.startswith("-")
        number = number[1:]
    if not re.fullmatch(r"\d[\d.,]*", number) or number.endswith((".", ",")):
        return None
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        decimal = "." if number.rfind(".") > number.rfind(",") else ","
    elif commas or dots:
        mark = "," if commas else "."
        groups = number.split(mark)
        thousands_like = all(len(group) == 3 for group in groups[1:]) and len(groups[0]) <= 3
        if len(groups) > 2:
            if not thousands_like:
                return None
            decimal = "," if mark == "." else "."
        elif thousands_like and (mark == ",") != decimal_comma:
            decimal = "," if mark == "." else "."
        else:
            decimal = mark
    else:
        decimal = "."
    thousands = "," if decimal == "." else "."
    integer, _, fraction = number.partition(decimal)
    if thousands in fraction:
        return None
    if thousands in integer:
        groups = integer.split(thousands)
        if len(groups[0]) > 3 or any(len(group) != 3 for group in groups[1:]):
            return None
        integer = "".join(groups)
    value = integer + ("." + fraction if fraction else "")
    currency = CURRENCY_SYMBOLS.get(symbol, symbol) if symbol else None
    return ("-" if negative else "") + value, currency


_PLAIN = re.compile(_PLAIN_NUMBER)


def read_money(values: pd.Series, context: ValidationContext) -> ColumnResult:
    texts = [text.strip() for text in values.tolist()]
    plain_number = _PLAIN.fullmatch
    plain_values = [text if text and plain_number(text) else None for text in texts]
    stripped = series(texts, values)  # type: ignore[arg-type]
    blank = pd.Series([not text for text in texts], index=values.index, dtype=bool)
    out = series(plain_values, values)  # type: ignore[arg-type]
    currency = pd.Series(None, index=values.index, dtype=object)
    slow = out.isna() & ~blank
    if slow.any():
        parsed = stripped[slow].map(
            lambda text: parse_amount(text, decimal_comma=context.decimal_comma)
        )
        out.loc[slow] = parsed.map(lambda pair: pair[0] if pair else None)
        currency.loc[slow] = parsed.map(lambda pair: pair[1] if pair else None)
    unreadable = ~blank & out.isna()
    numeric = pd.to_numeric(out, errors="coerce")
    negative = numeric.lt(0).fillna(False)
    too_big = numeric.abs().ge(10**12).fillna(False)
    bad = unreadable | negative | too_big
    result = ColumnResult(
        out.where(~bad, None),
        bad,
        "invalid_amount",
        lambda value: (
            f'"{value}" is not an amount of zero or more; write it like 1234.56, '
            "1,234.56 or 1.234,56 (a currency symbol is fine)."
        ),
    )
    result.extra["currency"] = currency
    return result
