"""National identifiers: digits only, placeholders and blanks null."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashing.normalize.ids import MAX_DIGITS, MIN_DIGITS, normalize_national_id
from tests.hashing.normalize._support import (
    PROPERTY_SETTINGS,
    case_safe_text,
    check_blank_is_null,
    check_case_and_space_insensitive,
    check_idempotent,
    run,
    value_lists,
    whitespace,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("078-05-1121", "078051121"),
        ("078 05 1121", "078051121"),
        ("078.05.1121", "078051121"),
        ("078/05/1121", "078051121"),
        ("078051121", "078051121"),
        (" 078-05-1121 ", "078051121"),
        ("7364009", "7364009"),
        ("7364009.0", "7364009"),
        ("31 415 926 535 897", "31415926535897"),
        ("12 345 678 901 234", None),
        ("000-00-0000", None),
        ("999999999", None),
        ("1111111", None),
        ("123-45-6789", None),
        ("123456789", None),
        ("0123456789", None),
        ("987654321", None),
        ("078-05-1120", None),
        ("219-09-9999", None),
        ("123456", None),
        ("1" + "0" * MAX_DIGITS, None),
        ("A1234567", None),
        ("123-45-678X", None),
        ("SSN 078-05-1121", None),
        ("٠٧٨٠٥١١٢١", None),
        ("N/A", None),
        ("unknown", None),
    ],
)
def test_national_id(raw: str, expected: str | None) -> None:
    assert run(normalize_national_id, [raw]) == [expected]


def test_national_id_from_integers() -> None:
    values = [7364009, 123456789, None, 42]
    assert run(normalize_national_id, values, dtype=pl.Int64) == ["7364009", None, None, None]


def test_blank_is_null() -> None:
    check_blank_is_null(normalize_national_id)


ids = st.from_regex(r"[0-9]{3}[- .]?[0-9]{2}[- .]?[0-9]{2,12}", fullmatch=True)


@PROPERTY_SETTINGS
@given(values=value_lists(st.one_of(ids, st.text(max_size=30))))
def test_idempotent_and_total(values: list[str]) -> None:
    check_idempotent(normalize_national_id, values)
    out = run(normalize_national_id, values)
    assert all(v is None or (v.isascii() and v.isdigit()) for v in out)
    assert all(v is None or MIN_DIGITS <= len(v) <= MAX_DIGITS for v in out)


@PROPERTY_SETTINGS
@given(values=value_lists(st.one_of(ids, case_safe_text)), left=whitespace, right=whitespace)
def test_case_and_whitespace_insensitive(values: list[str], left: str, right: str) -> None:
    check_case_and_space_insensitive(normalize_national_id, values, left, right)


@PROPERTY_SETTINGS
@given(value=ids, cut=st.integers(0, 20), space=whitespace)
def test_whitespace_inside_the_number_is_ignored(value: str, cut: int, space: str) -> None:
    spaced = value[:cut] + space + value[cut:]
    assert run(normalize_national_id, [spaced]) == run(normalize_national_id, [value])
