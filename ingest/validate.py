"""Vectorised validation: turn mapped text columns into typed values, or say exactly what is wrong.

Everything here works on whole pandas columns of text (one chunk of a file at a time). Each column
is read by the value reader its field's kind calls for (:mod:`ingest.values`); a value that cannot
be read becomes a rejection naming the file, row, column and value, and how to fix it; the rest of
the row is then not loaded. Values are kept as written wherever the target is text. The fields
themselves come from the entity registry (:data:`ingest.entities.ENTITY_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ingest.entities import Field
from ingest.results import Rejection
from ingest.values.choices import read_boolean, read_enum
from ingest.values.column import ColumnResult, ValidationContext
from ingest.values.dates import read_dates
from ingest.values.money import read_money
from ingest.values.numbers import read_integer, read_percent
from ingest.values.text import read_domain, read_email, read_key, read_text

__all__ = ["ColumnSource", "ValidationContext", "read_column", "validate_frame"]


@dataclass
class ColumnSource:
    """Where a target column's values came from in the file (for messages)."""

    header: str
    value_map: dict[str, str] = field(default_factory=dict)


def read_column(
    values: pd.Series,
    spec: Field,
    source: ColumnSource,
    context: ValidationContext,
    *,
    rows: Sequence[int] | None = None,
    row_currency: tuple[pd.Series, str] | None = None,
) -> ColumnResult:
    """Read one mapped column according to its target field.

    ``rows`` are the file's row numbers of ``values`` (for the notes); ``row_currency`` is the
    row's currency column and its header, which an amount's symbol must agree with.
    """
    if spec.kind == "email":
        return read_email(values)
    if spec.kind == "domain":
        return read_domain(values)
    if spec.kind == "key":
        return read_key(values)
    if spec.kind == "money":
        return read_money(
            values,
            context,
            key=spec.name,
            header=source.header,
            rows=rows,
            row_currency=row_currency,
        )
    if spec.kind == "percent":
        return read_percent(values, context, key=spec.name, header=source.header, rows=rows)
    if spec.kind == "integer":
        return read_integer(values, context, key=spec.name, header=source.header, rows=rows)
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


def _too_long(raw: pd.Series, values: pd.Series, limit: int) -> pd.Series | None:
    """The rows whose read value has more than ``limit`` characters (None when no row has).

    A value read from a cell is never longer than the cell (readers trim, drop `mailto:` or
    reduce a website to its host), so when no raw cell is over the limit, which is the common
    case, one pass in C over the raw text answers it without building a mask.
    """
    if max(map(len, raw.to_numpy()), default=0) <= limit:
        return None
    return pd.Series(
        [isinstance(text, str) and len(text) > limit for text in values.tolist()],
        index=values.index,
    )


def _length_rejection(
    value: str,
    length: int,
    row_number: int,
    source: ColumnSource,
    context: ValidationContext,
    limit: int,
) -> Rejection:
    return Rejection(
        row_number=row_number,
        reason_code="too_long",
        message=f"{context.where(row_number, source.header)}: the value is {length} characters; "
        f"at most {limit} are allowed. Shorten it and import again.",
        column=source.header,
        value=value,
    )


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
    rows = row_numbers.tolist()
    currency = raw.get("currency_code")
    row_currency = (currency, sources["currency_code"].header) if currency is not None else None
    for name, values in raw.items():
        spec = fields[str(name)]
        source = sources[str(name)]
        result = read_column(values, spec, source, context, rows=rows, row_currency=row_currency)
        typed[str(name)] = result.values
        for key, extra in result.extra.items():
            typed[f"{name}__{key}"] = extra
        limit = spec.length_limit
        if limit is not None:
            long = _too_long(values, result.values, limit)
            if long is not None:
                rejected |= long
                rejections.extend(
                    _length_rejection(
                        str(values.at[index]),
                        len(result.values.at[index]),
                        int(row_numbers.at[index]),
                        source,
                        context,
                        limit,
                    )
                    for index in long[long].index
                )
        if result.bad.any():
            rejected |= result.bad
            for index in result.bad[result.bad].index:
                value = str(values.at[index])
                reason, explained = result.messages.get(index) or (
                    result.reason,
                    result.explain(value),
                )
                rejections.append(
                    Rejection(
                        row_number=int(row_numbers.at[index]),
                        reason_code=reason,
                        message=f"{context.where(int(row_numbers.at[index]), source.header)}: "
                        + explained,
                        column=source.header,
                        value=value,
                    )
                )
    frame = pd.DataFrame(typed, index=raw.index)
    return frame[~rejected], rejections
