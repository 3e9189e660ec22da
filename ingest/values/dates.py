"""Dates and times: ISO, day/month/year or month/day/year (told or inferred per column), words."""

from __future__ import annotations

import re

import pandas as pd

from ingest.errors import CrmError, ExitCode
from ingest.values.column import ColumnResult, ValidationContext, no_rejects, series

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


_YEAR_TOKEN = re.compile(r"(?<!\d)\d{3,4}(?!\d)")


def _assemble(parts: pd.DataFrame, years: tuple[int, int]) -> tuple[pd.Series, pd.Series]:
    """Datetimes from year/month/day/hour/minute/second columns (NaT where impossible), and a
    mask of the rows whose year lies outside ``years``.

    Such rows are left out before pandas sees them: its timestamps end in 1677 and 2262, and a
    year like 0025 or 9999 would otherwise stop the whole file with an overflow error.
    """
    frame = parts[["year", "month", "day", "hour", "minute", "second"]].apply(
        pd.to_numeric, errors="coerce"
    )
    frame = frame.fillna({"hour": 0, "minute": 0, "second": 0})
    outside = ~frame["year"].between(*years) & frame["year"].notna()
    frame.loc[outside, "year"] = float("nan")
    return pd.to_datetime(frame, errors="coerce"), outside


def read_dates(
    values: pd.Series,
    *,
    header: str,
    with_time: bool,
    context: ValidationContext,
    key: str,
) -> ColumnResult:
    texts = [text.strip() for text in values.tolist()]
    stripped = series(texts, values)  # type: ignore[arg-type]
    blank = pd.Series(
        [not text or text in EMPTY_DATES for text in texts], index=values.index, dtype=bool
    )
    fast = _read_iso_dates(stripped, blank, with_time=with_time, years=context.years)
    if fast is not None:
        return fast
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    zone = pd.Series(None, index=values.index, dtype=object)
    implausible: dict[str, str] = {}  # value as written -> its year, when outside context.years

    iso = stripped.str.extract(_ISO)
    is_iso = iso["y"].notna() & ~blank
    if is_iso.any():
        names = {"y": "year", "m": "month", "d": "day", "H": "hour", "M": "minute", "S": "second"}
        parts = iso[is_iso].rename(columns=names)
        parsed[is_iso], outside = _assemble(parts, context.years)
        implausible.update(_named(stripped[is_iso], iso.loc[is_iso, "y"], outside))
        zone[is_iso] = iso.loc[is_iso, "tz"].where(iso.loc[is_iso, "tz"].notna(), None)

    numeric = stripped.str.extract(_NUMERIC)
    is_numeric = numeric["a"].notna() & ~blank & ~is_iso
    if is_numeric.any():
        parts = numeric[is_numeric]
        # A date whose year is written out and impossible (01/02/0025) is rejected for its year
        # whatever the order; it must not make the column's order look undecidable.
        lo, hi = context.years
        third = pd.to_numeric(parts["c"], errors="coerce")
        typo = parts["c"].str.len().eq(4) & ~third.between(lo, hi)
        order = (
            _date_order(parts[~typo], header=header, context=context, key=key)
            if bool((~typo).any())
            else context.date_order or context.default_date_order or "DMY"
        )
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
        parsed[is_numeric], outside = _assemble(frame, context.years)
        implausible.update(_named(stripped[is_numeric], year, outside))

    wordy = ~blank & ~is_iso & ~is_numeric & stripped.str.contains(r"[A-Za-z]{3}", regex=True)
    if wordy.any():
        # A year written out ("Jan 5 0025") must be the year read: the parser would take 0025 for
        # 2025, and overflow on 9999. Such values are rejected before it sees them.
        lo, hi = context.years
        for index, text in stripped[wordy].items():
            tokens = [token for token in _YEAR_TOKEN.findall(text) if not lo <= int(token) <= hi]
            if tokens:
                implausible[text] = tokens[0]
                wordy[index] = False
        parsed[wordy] = pd.to_datetime(stripped[wordy], errors="coerce", format="mixed").map(
            lambda value: value.tz_localize(None) if getattr(value, "tzinfo", None) else value
        )
        parsed[wordy] = parsed[wordy].where(parsed[wordy].dt.year.between(lo, hi))

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
    lo, hi = context.years

    def explain(value: str) -> str:
        year = implausible.get(value.strip())
        if year is not None:
            return (
                f'"{value}" has the year {year}, outside {lo}–{hi} (a typo?); correct the '
                "year, or leave the cell empty."
            )
        return f'"{value}" is not a date; {fix}, or leave the cell empty.'

    return ColumnResult(text.where(~bad & ~blank, None), bad, "invalid_date", explain)


def _named(texts: pd.Series, years: pd.Series, outside: pd.Series) -> dict[str, str]:
    """Value as written -> its year as written, for the rows in ``outside``."""
    return {str(texts[index]): str(years[index]) for index in outside[outside].index}


_ISO_START = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"


_ISO_VALUE = re.compile(_ISO_START)


def _read_iso_dates(
    stripped: pd.Series, blank: pd.Series, *, with_time: bool, years: tuple[int, int]
) -> ColumnResult | None:
    """The common case, fast: every value is an ISO date or time in ``years``, checked by pandas'
    C parser.

    The text is passed on as written (PostgreSQL reads ISO itself); None when any value needs the
    slower, general reader (which also explains years outside the range).
    """
    texts = stripped.tolist()
    blanks = blank.tolist()
    iso = _ISO_VALUE.fullmatch
    lo, hi = years
    present = [text for text, empty in zip(texts, blanks, strict=True) if not empty]
    if not present or not all(iso(text) and lo <= int(text[:4]) <= hi for text in present):
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
    return ColumnResult(series(kept, stripped), no_rejects(stripped))  # type: ignore[arg-type]


def _date_order(parts: pd.DataFrame, *, header: str, context: ValidationContext, key: str) -> str:
    if parts["a"].str.len().eq(4).all():
        return "YMD"
    if context.date_order:  # --date-format, else the profile's documented order
        return context.date_order
    if key in context.inferred_orders:
        return context.inferred_orders[key]
    first = pd.to_numeric(parts["a"], errors="coerce")
    second = pd.to_numeric(parts["b"], errors="coerce")
    ambiguous = first.le(12) & second.le(12) & first.ne(second)
    if context.default_date_order:  # the import.date_format setting
        order = context.default_date_order
        context.inferred_orders[key] = order
        if ambiguous.any():
            example = _written(parts[ambiguous].iloc[0])
            context.notes[f"date order {key}"] = (
                f'dates in "{header}" such as {example} read as {order} '
                "(the import.date_format setting)"
            )
        return order
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
    evidence = parts[first.gt(12) if day_first else second.gt(12)].iloc[0]
    if ambiguous.any():
        context.notes[f"date order {key}"] = (
            f'dates in "{header}" read as {order}: {_written(evidence)} can only be '
            f"{'day' if day_first else 'month'} first (use --date-format to say otherwise)"
        )
    return order


def _written(parts: pd.Series) -> str:
    """A numeric date's day, month and year parts as they were written, e.g. 13/02/2025."""
    return f"{parts['a']}/{parts['b']}/{parts['c']}"
