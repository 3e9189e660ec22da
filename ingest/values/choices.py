"""Values from a fixed set: yes/no, and the labels of an enum type (with a profile's value map)."""

from __future__ import annotations

import pandas as pd

from ingest.entities import ENUMS
from ingest.readers import normalise_header
from ingest.values.column import ColumnResult, series

TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "x", "ja", "oui", "checked"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "nein", "non", "unchecked"})


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
    allowed = ENUMS[enum]
    lookup = {normalise_header(name): name for name in allowed}
    lookup.update({normalise_header(source): target for source, target in value_map.items()})
    # A column holds a handful of distinct values: read each once, then map the column.
    texts = values.tolist()
    read = {text: lookup.get(normalise_header(text)) for text in set(texts)}
    mapped = [read[text] for text in texts]
    bad = [value is None and bool(text.strip()) for value, text in zip(mapped, texts, strict=True)]
    return ColumnResult(
        series(mapped, values),  # type: ignore[arg-type]
        pd.Series(bad, index=values.index, dtype=bool),
        "invalid_value",
        lambda value: (
            f'"{value}" is not a known value; use one of: {", ".join(allowed)} '
            "(or add it to the profile's value map)."
        ),
    )
