"""The formula guard both ways: what the exporter writes, the importer reads back unchanged."""

from __future__ import annotations

import pytest

from ingest.formulas import guard_formula, restore_formula


@pytest.mark.parametrize(
    "value",
    ["=SUM(A1:A2)", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx", "'=already quoted"],
)
def test_a_formula_is_guarded_and_restored(value: str) -> None:
    assert guard_formula(value) == "'" + value
    assert restore_formula(guard_formula(value)) == value


@pytest.mark.parametrize(
    "value", ["Acme", "+49 30 1234567", "-12.50", "(030) 123-456", "'quoted by the user", ""]
)
def test_plain_values_pass_both_ways_unchanged(value: str) -> None:
    assert guard_formula(value) == value
    assert restore_formula(value) == value
