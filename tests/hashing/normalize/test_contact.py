"""Phone numbers (E.164) and email addresses (UID2 rules)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given

from hashing.normalize import contact
from hashing.normalize.contact import normalize_email, normalize_phone
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
        ("(202) 555-0143", "+12025550143"),
        ("202-555-0143", "+12025550143"),
        ("202.555.0143", "+12025550143"),
        ("2025550143", "+12025550143"),
        ("12025550143", "+12025550143"),
        ("1-202-555-0143", "+12025550143"),
        ("+1 202 555 0143", "+12025550143"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("202-555-0143 x123", "+12025550143"),
        ("202-555-0143 ext. 5", "+12025550143"),
        ("1-800-FLOWERS", "+18003569377"),
        ("+44 20 7946 0958", "+442079460958"),
        ("011 44 20 7946 0958", "+442079460958"),
        ("555-0143", None),
        ("(123) 555-0143", None),
        ("(202) 155-0143", None),
        ("911-555-0143", None),
        ("0000000000", None),
        ("5555555555", None),
        ("1234567890", None),
        ("2222222222", None),
        ("+3312345678", None),
        ("garbage", None),
    ],
)
def test_phone(raw: str, expected: str | None) -> None:
    assert run(normalize_phone, [raw]) == [expected]


def test_phone_from_integers() -> None:
    assert run(normalize_phone, [2025550143, None], dtype=pl.Int64) == ["+12025550143", None]


def test_phonenumbers_sees_distinct_unusual_values_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = contact._phone_by_library

    def spy(value: str) -> str | None:
        seen.append(value)
        return original(value)

    monkeypatch.setattr(contact, "_phone_by_library", spy)
    values = ["(202) 555-0143"] * 10 + ["+44 20 7946 0958"] * 10 + ["202-555-0143 x1"] * 3
    out = run(normalize_phone, values)
    assert seen == ["+44 20 7946 0958"]
    assert out == ["+12025550143"] * 10 + ["+442079460958"] * 10 + ["+12025550143"] * 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John.Smith@Example.com ", "john.smith@example.com"),
        ("j.o.h.n+spam@gmail.com", "john@gmail.com"),
        ("John.Smith+tv@GoogleMail.com", "johnsmith@gmail.com"),
        ("john.smith+tv@yahoo.com", "john.smith+tv@yahoo.com"),
        ("o'brien@aol.com", "o'brien@aol.com"),
        ("+tag@gmail.com", None),
        ("none@none.com", None),
        ("noemail@example.com", None),
        ("x@noemail.com", None),
        ("bad@", None),
        ("@example.com", None),
        ("no at sign", None),
        ("a@b.c", None),
        ("a..b@example.com", None),
        ("a@-example.com", None),
        ("ünï@example.com", None),
        ("a@b@c.com", None),
    ],
)
def test_email(raw: str, expected: str | None) -> None:
    assert run(normalize_email, [raw]) == [expected]


@pytest.mark.parametrize("normalize", [normalize_phone, normalize_email])
def test_blank_is_null(normalize: object) -> None:
    check_blank_is_null(normalize)  # type: ignore[arg-type]


@pytest.mark.parametrize("normalize", [normalize_phone, normalize_email])
@PROPERTY_SETTINGS
@given(values=value_lists())
def test_idempotent_and_total(normalize: object, values: list[str]) -> None:
    check_idempotent(normalize, values)  # type: ignore[arg-type]


@pytest.mark.parametrize("normalize", [normalize_phone, normalize_email])
@PROPERTY_SETTINGS
@given(values=value_lists(case_safe_text), left=whitespace, right=whitespace)
def test_case_and_whitespace_insensitive(
    normalize: object, values: list[str], left: str, right: str
) -> None:
    check_case_and_space_insensitive(normalize, values, left, right)  # type: ignore[arg-type]
