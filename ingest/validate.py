"""Vectorised validation: turn mapped text columns into typed values, or say exactly what is wrong.

Everything here works on whole pandas columns of text (one chunk of a file at a time). A value that
cannot be read becomes a rejection naming the file, row, column and value, and how to fix it; the
rest of the row is then not loaded. Values are kept as written wherever the target is text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from ingest.entities import ENUMS, Field
from ingest.errors import CrmError, ExitCode
from ingest.results import Rejection

# Mirrors of the CHECK constraints in schema.sql, so a bad value rejects one row instead of
# failing the whole file inside PostgreSQL.
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
DOMAIN_PATTERN = (
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "x", "ja", "oui", "checked"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "nein", "non", "unchecked"})


@dataclass
class ColumnSource:
    """Where a target column's values came from in the file (for messages)."""

    header: str
    value_map: dict[str, str] = field(default_factory=dict)


@dataclass
class ValidationContext:
    """Per-file settings and decisions that must hold for every chunk of the file."""

    file_name: str
    date_order: str | None = None  # DMY, MDY or YMD: from --date-format or the profile
    decimal_comma: bool = False  # a `;`-delimited file: `1,234` means 1.234
    inferred_orders: dict[str, str] = field(default_factory=dict)

    def where(self, row_number: int, header: str) -> str:
        return f'{self.file_name}, row {row_number}, column "{header}"'


@dataclass
class ColumnResult:
    values: pd.Series
    bad: pd.Series  # boolean mask of rows to reject
    reason: str = ""
    explain: Callable[[str], str] = lambda value: ""
    extra: dict[str, pd.Series] = field(default_factory=dict)


def blank_mask(values: pd.Series) -> pd.Series:
    return values.str.strip().eq("")


# --------------------------------------------------------------------------------------------
# Column readers. Each takes text (blank = "") and returns typed-as-text values (None = blank)
# plus a mask of values it could not read.
# --------------------------------------------------------------------------------------------
def _series(items: list[object], like: pd.Series) -> pd.Series:
    return pd.Series(items, index=like.index, dtype=object)


def _no_rejects(values: pd.Series) -> pd.Series:
    return pd.Series(False, index=values.index)


# Text, keys and emails are read with plain list comprehensions: on Python strings they are
# several times faster than pandas' `.str` methods, which make one pass per method.
def read_text(values: pd.Series) -> ColumnResult:
    texts = values.tolist()
    if all(map(str.strip, texts)):  # no blank cell (the common case): keep the column as it is
        return ColumnResult(_series(texts, values), _no_rejects(values))  # type: ignore[arg-type]
    kept = [value if value and not value.isspace() else None for value in texts]
    return ColumnResult(_series(kept, values), _no_rejects(values))


def read_key(values: pd.Series) -> ColumnResult:
    kept = [value.strip() or None for value in values.tolist()]
    return ColumnResult(_series(kept, values), _no_rejects(values))


_EMAIL = re.compile(EMAIL_PATTERN)


def read_email(values: pd.Series) -> ColumnResult:
    kept: list[object] = []
    bad: list[bool] = []
    for value in values.tolist():
        address = value.strip().removeprefix("mailto:")
        if not address:
            kept.append(None)
            bad.append(False)
        elif _EMAIL.fullmatch(address):
            kept.append(address)
            bad.append(False)
        else:
            kept.append(None)
            bad.append(True)
    return ColumnResult(
        _series(kept, values),
        pd.Series(bad, index=values.index),
        "invalid_email",
        lambda value: (
            f'"{value}" is not an email address; '
            "write it as name@example.com or leave the cell empty."
        ),
    )


_URL_PREFIX = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]*@)?(?:www\.)?", re.IGNORECASE)


def domain_of(values: pd.Series) -> pd.Series:
    """The host of a website or domain cell: no scheme, `www.`, port or path; lower-cased."""
    host = values.str.strip().str.replace(_URL_PREFIX, "", regex=True)
    return host.str.split(r"[/:?#]", n=1, regex=True).str[0].str.lower().str.rstrip(".")


def read_domain(values: pd.Series) -> ColumnResult:
    blank = blank_mask(values)
    host = domain_of(values)
    bad = ~blank & ~host.str.fullmatch(DOMAIN_PATTERN)
    return ColumnResult(
        host.where(~blank, None),
        bad,
        "invalid_domain",
        lambda value: (
            f'"{value}" is not a domain or website; '
            "write it as example.com or https://www.example.com."
        ),
    )


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
    stripped = _series(texts, values)  # type: ignore[arg-type]
    blank = pd.Series([not text for text in texts], index=values.index, dtype=bool)
    out = _series(plain_values, values)  # type: ignore[arg-type]
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


def read_percent(values: pd.Series) -> ColumnResult:
    stripped = values.str.strip()
    blank = stripped.eq("")
    has_percent = stripped.str.endswith("%")
    number = pd.to_numeric(
        stripped.str.rstrip("%").str.strip().str.replace(",", ".", regex=False), errors="coerce"
    )
    fraction = number.where(~(has_percent | number.gt(1)), number / 100)
    bad = ~blank & (fraction.isna() | fraction.lt(0) | fraction.gt(1))
    text = fraction.round(4).map(lambda value: None if pd.isna(value) else f"{value:.4f}")
    return ColumnResult(
        text.where(~blank & ~bad, None),
        bad,
        "invalid_percent",
        lambda value: (
            f'"{value}" is not a probability; write it as 0 to 100 (e.g. 75 or 75%) '
            "or as a fraction 0 to 1."
        ),
    )


def read_integer(values: pd.Series) -> ColumnResult:
    stripped = values.str.strip().str.replace(r"[\s,.'\u00a0](?=\d{3}\b)", "", regex=True)
    blank = stripped.eq("")
    good = stripped.str.fullmatch(r"\+?\d{1,9}")
    bad = ~blank & ~good
    return ColumnResult(
        stripped.str.lstrip("+").where(~blank & good, None),
        bad,
        "invalid_integer",
        lambda value: f'"{value}" is not a whole number of zero or more; write it like 1200.',
    )


def read_boolean(values: pd.Series) -> ColumnResult:
    word = values.str.strip().str.lower()
    blank = word.eq("")
    true = word.isin(TRUE_WORDS)
    false = word.isin(FALSE_WORDS)
    out = pd.Series(None, index=values.index, dtype=object)
    out[true] = "true"
    out[false] = "false"
    return ColumnResult(
        out,
        ~blank & ~true & ~false,
        "invalid_boolean",
        lambda value: f'"{value}" is not yes or no; write TRUE/FALSE, yes/no or 1/0.',
    )


def read_enum(values: pd.Series, enum: str, value_map: dict[str, str]) -> ColumnResult:
    from ingest.readers import normalise_header

    allowed = ENUMS[enum]
    lookup = {normalise_header(name): name for name in allowed}
    lookup.update({normalise_header(source): target for source, target in value_map.items()})
    # A column holds a handful of distinct values: read each once, then map the column.
    texts = values.tolist()
    read = {text: lookup.get(normalise_header(text)) for text in set(texts)}
    mapped = [read[text] for text in texts]
    bad = [value is None and bool(text.strip()) for value, text in zip(mapped, texts, strict=True)]
    return ColumnResult(
        _series(mapped, values),  # type: ignore[arg-type]
        pd.Series(bad, index=values.index, dtype=bool),
        "invalid_value",
        lambda value: (
            f'"{value}" is not a known value; use one of: {", ".join(allowed)} '
            "(or add it to the profile's value map)."
        ),
    )


# ---- dates ---------------------------------------------------------------------------------
_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_NUMERIC = re.compile(
    r"^(?P<a>\d{1,4})[./-](?P<b>\d{1,2})[./-](?P<c>\d{1,4})"
    r"(?:,?[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?$"
)
EMPTY_DATES = frozenset({"0/0/00", "00/00/0000", "0000-00-00", "1/0/00"})


def _assemble(parts: pd.DataFrame) -> pd.Series:
    """Datetimes from year/month/day/hour/minute/second columns; NaT where impossible."""
    frame = parts[["year", "month", "day", "hour", "minute", "second"]].apply(
        pd.to_numeric, errors="coerce"
    )
    frame = frame.fillna({"hour": 0, "minute": 0, "second": 0})
    return pd.to_datetime(frame, errors="coerce")


def read_dates(
    values: pd.Series,
    *,
    header: str,
    with_time: bool,
    context: ValidationContext,
    key: str,
) -> ColumnResult:
    texts = [text.strip() for text in values.tolist()]
    stripped = _series(texts, values)  # type: ignore[arg-type]
    blank = pd.Series(
        [not text or text in EMPTY_DATES for text in texts], index=values.index, dtype=bool
    )
    fast = _read_iso_dates(stripped, blank, with_time=with_time)
    if fast is not None:
        return fast
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    zone = pd.Series(None, index=values.index, dtype=object)

    iso = stripped.str.extract(_ISO)
    is_iso = iso["y"].notna() & ~blank
    if is_iso.any():
        names = {"y": "year", "m": "month", "d": "day", "H": "hour", "M": "minute", "S": "second"}
        parts = iso[is_iso].rename(columns=names)
        parsed[is_iso] = _assemble(parts)
        zone[is_iso] = iso.loc[is_iso, "tz"].where(iso.loc[is_iso, "tz"].notna(), None)

    numeric = stripped.str.extract(_NUMERIC)
    is_numeric = numeric["a"].notna() & ~blank & ~is_iso
    if is_numeric.any():
        parts = numeric[is_numeric]
        order = _date_order(parts, header=header, context=context, key=key)
        first, second, third = parts["a"], parts["b"], parts["c"]
        if order == "YMD":
            year, month, day = first, second, third
        elif order == "MDY":
            month, day, year = first, second, third
        else:
            day, month, year = first, second, third
        year_number = pd.to_numeric(year, errors="coerce")
        year_number = year_number.where(year.str.len() != 2, 2000 + year_number)
        year_number = year_number.where(~year_number.between(2070, 2099), year_number - 100)
        hour = pd.to_numeric(parts["H"], errors="coerce").fillna(0)
        pm = parts["ampm"].str.lower().eq("pm").fillna(False)
        am = parts["ampm"].str.lower().eq("am").fillna(False)
        hour = hour.where(~(pm & hour.lt(12)), hour + 12).where(~(am & hour.eq(12)), 0)
        frame = pd.DataFrame(
            {
                "year": year_number,
                "month": month,
                "day": day,
                "hour": hour,
                "minute": parts["M"],
                "second": parts["S"],
            }
        )
        parsed[is_numeric] = _assemble(frame)

    wordy = ~blank & ~is_iso & ~is_numeric & stripped.str.contains(r"[A-Za-z]{3}", regex=True)
    if wordy.any():
        parsed[wordy] = pd.to_datetime(stripped[wordy], errors="coerce", format="mixed").map(
            lambda value: value.tz_localize(None) if getattr(value, "tzinfo", None) else value
        )

    bad = ~blank & parsed.isna()
    if with_time:
        text = parsed.dt.strftime("%Y-%m-%d %H:%M:%S") + zone.fillna("")
    else:
        text = parsed.dt.strftime("%Y-%m-%d")
    order_hint = context.date_order or context.inferred_orders.get(key)
    fix = (
        f"write it as YYYY-MM-DD or in {order_hint} order"
        if order_hint
        else "write it as YYYY-MM-DD"
    )
    return ColumnResult(
        text.where(~bad & ~blank, None),
        bad,
        "invalid_date",
        lambda value: f'"{value}" is not a date; {fix}, or leave the cell empty.',
    )


_ISO_START = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"


_ISO_VALUE = re.compile(_ISO_START)


def _read_iso_dates(
    stripped: pd.Series, blank: pd.Series, *, with_time: bool
) -> ColumnResult | None:
    """The common case, fast: every value is an ISO date or time, checked by pandas' C parser.

    The text is passed on as written (PostgreSQL reads ISO itself); None when any value needs the
    slower, general reader.
    """
    texts = stripped.tolist()
    blanks = blank.tolist()
    iso = _ISO_VALUE.fullmatch
    present = [text for text, empty in zip(texts, blanks, strict=True) if not empty]
    if not present or not all(iso(text) for text in present):
        return None
    parsed = pd.to_datetime(
        pd.Series(present, dtype=object), format="ISO8601", errors="coerce", utc=True
    )
    if bool(parsed.isna().any()):
        return None
    kept = [
        None if empty else (text if with_time else text[:10])
        for text, empty in zip(texts, blanks, strict=True)
    ]
    return ColumnResult(_series(kept, stripped), _no_rejects(stripped))  # type: ignore[arg-type]


def _date_order(parts: pd.DataFrame, *, header: str, context: ValidationContext, key: str) -> str:
    if parts["a"].str.len().eq(4).all():
        return "YMD"
    if context.date_order:
        return context.date_order
    if key in context.inferred_orders:
        return context.inferred_orders[key]
    first = pd.to_numeric(parts["a"], errors="coerce")
    second = pd.to_numeric(parts["b"], errors="coerce")
    day_first = bool(first.gt(12).any())
    month_first = bool(second.gt(12).any())
    if day_first and month_first:
        raise CrmError(
            f'{context.file_name}: column "{header}" mixes day/month and month/day dates. '
            "Make the column use one order, then rerun with --date-format DMY or MDY.",
            exit_code=ExitCode.FILE_FAILED,
        )
    if not (day_first or month_first):
        sample = f"{parts['a'].iloc[0]}/{parts['b'].iloc[0]}/{parts['c'].iloc[0]}"
        raise CrmError(
            f'{context.file_name}: column "{header}" has dates like {sample} that could be '
            "day/month or month/day. Rerun with --date-format DMY (day first) or "
            "--date-format MDY (month first).",
            exit_code=ExitCode.FILE_FAILED,
        )
    order = "DMY" if day_first else "MDY"
    context.inferred_orders[key] = order
    return order


def read_column(
    values: pd.Series, spec: Field, source: ColumnSource, context: ValidationContext
) -> ColumnResult:
    """Read one mapped column according to its target field."""
    if spec.kind == "email":
        return read_email(values)
    if spec.kind == "domain":
        return read_domain(values)
    if spec.kind == "key":
        return read_key(values)
    if spec.kind == "money":
        return read_money(values, context)
    if spec.kind == "percent":
        return read_percent(values)
    if spec.kind == "integer":
        return read_integer(values)
    if spec.kind == "boolean":
        return read_boolean(values)
    if spec.kind == "enum":
        assert spec.enum is not None
        return read_enum(values, spec.enum, source.value_map)
    if spec.kind in ("date", "timestamp"):
        return read_dates(
            values,
            header=source.header,
            with_time=spec.kind == "timestamp",
            context=context,
            key=spec.name,
        )
    return read_text(values)


def validate_frame(
    raw: pd.DataFrame,
    fields: dict[str, Field],
    sources: dict[str, ColumnSource],
    context: ValidationContext,
    row_numbers: pd.Series,
) -> tuple[pd.DataFrame, list[Rejection]]:
    """Read every mapped column of a chunk; return the typed frame and the rejected rows.

    `raw` holds one text column per target field (named by field) and is indexed like
    `row_numbers`. A row with any unreadable value is rejected once per bad value and left out.
    """
    typed: dict[str, pd.Series] = {}
    rejected = pd.Series(False, index=raw.index)
    rejections: list[Rejection] = []
    for name, values in raw.items():
        spec = fields[str(name)]
        source = sources[str(name)]
        result = read_column(values, spec, source, context)
        typed[str(name)] = result.values
        for key, extra in result.extra.items():
            typed[f"{name}__{key}"] = extra
        if result.bad.any():
            rejected |= result.bad
            for index in result.bad[result.bad].index:
                value = str(values.at[index])
                rejections.append(
                    Rejection(
                        row_number=int(row_numbers.at[index]),
                        reason_code=result.reason,
                        message=f"{context.where(int(row_numbers.at[index]), source.header)}: "
                        + result.explain(value),
                        column=source.header,
                        value=value,
                    )
                )
    frame = pd.DataFrame(typed, index=raw.index)
    return frame[~rejected], rejections
