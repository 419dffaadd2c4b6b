"""Sex / gender codes → M, F or null."""

from __future__ import annotations

import pytest
from hypothesis import given

from hashing.normalize.sex import normalize_sex
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
        ("M", "M"),
        ("male", "M"),
        ("Man", "M"),
        (" f ", "F"),
        ("Female", "F"),
        ("W", "F"),
        ("woman", "F"),
        ("F.", "F"),
        ("U", None),
        ("X", None),
        ("unknown", None),
        ("O", None),
        ("1", None),
        ("2", None),
        ("MF", None),
    ],
)
def test_sex(raw: str, expected: str | None) -> None:
    assert run(normalize_sex, [raw]) == [expected]


def test_blank_is_null() -> None:
    check_blank_is_null(normalize_sex)


@PROPERTY_SETTINGS
@given(values=value_lists())
def test_idempotent_and_total(values: list[str]) -> None:
    check_idempotent(normalize_sex, values)
    assert set(run(normalize_sex, values)) <= {"M", "F", None}


@PROPERTY_SETTINGS
@given(values=value_lists(case_safe_text), left=whitespace, right=whitespace)
def test_case_and_whitespace_insensitive(values: list[str], left: str, right: str) -> None:
    check_case_and_space_insensitive(normalize_sex, values, left, right)
