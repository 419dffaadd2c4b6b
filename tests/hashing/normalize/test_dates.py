"""Dates of birth: formats, US order, impossible dates, placeholders, plausibility."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given

from hashing.normalize.dates import normalize_date
from tests.hashing.normalize._support import (
    PROPERTY_SETTINGS,
    case_safe_text,
    check_blank_is_null,
    check_case_and_space_insensitive,
    run,
    value_lists,
    whitespace,
)

TODAY = dt.date(2026, 6, 1)
JAN5 = dt.date(1980, 1, 5)


def auto(e: pl.Expr) -> pl.Expr:
    return normalize_date(e, today=TODAY)


def us_format(e: pl.Expr) -> pl.Expr:
    return normalize_date(e, "%m/%d/%Y", today=TODAY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1980-01-05", JAN5),
        ("1980/1/5", JAN5),
        ("1980-01-05T00:00:00", JAN5),
        ("1980-01-05 13:45:00", JAN5),
        ("01/05/1980", JAN5),
        ("1/5/1980", JAN5),
        ("1-5-1980", JAN5),
        ("1.5.1980", JAN5),
        (" 01/05/1980 ", JAN5),
        ("1/5/80", JAN5),
        ("19800105", JAN5),
        ("01051980", JAN5),
        ("Jan 5 1980", JAN5),
        ("January 5, 1980", JAN5),
        ("jan 5th 1980", JAN5),
        ("5 Jan 1980", JAN5),
        ("05-JAN-1980", JAN5),
        ("05-JAN-80", JAN5),
        ("1980-Jan-05", JAN5),
        ("Sept 5 1980", dt.date(1980, 9, 5)),
        ("31/12/1980", dt.date(1980, 12, 31)),
        ("1/5/15", dt.date(2015, 1, 5)),
        ("1/5/30", dt.date(1930, 1, 5)),
        ("02/29/1980", dt.date(1980, 2, 29)),
        ("02/29/1981", None),
        ("02/30/1980", None),
        ("13/13/1980", None),
        ("1900-01-01", None),
        ("1901-01-01", None),
        ("0000-00-00", None),
        ("00/00/0000", None),
        ("9999-12-31", None),
        ("2026-06-02", None),
        ("1905-01-01", None),
        ("1906-06-01", dt.date(1906, 6, 1)),
        ("garbage", None),
        ("", None),
    ],
)
def test_auto_formats(raw: str, expected: dt.date | None) -> None:
    assert run(auto, [raw]) == [expected]


def test_declared_format_with_fallback_to_other_shapes() -> None:
    values = ["01/05/1980", "1/5/1980", "1980-01-05", "1/5/80", "bad"]
    assert run(us_format, values) == [JAN5, JAN5, JAN5, JAN5, None]
    day_first = run(lambda e: normalize_date(e, "%d/%m/%Y", today=TODAY), ["05/01/1980"])
    assert day_first == [JAN5]


def test_dates_and_integers_are_accepted() -> None:
    assert run(auto, [JAN5, None, dt.date(2099, 1, 1)], dtype=pl.Date) == [JAN5, None, None]
    assert run(auto, [19800105, 0], dtype=pl.Int64) == [JAN5, None]
    stamp = dt.datetime(1980, 1, 5, 13, 45)
    assert run(auto, [stamp], dtype=pl.Datetime("us")) == [JAN5]


def test_output_is_a_date_column() -> None:
    frame = pl.DataFrame({"x": ["01/05/1980"]}).select(auto(pl.col("x")))
    assert frame.schema["x"] == pl.Date


def test_today_defaults_to_the_current_date() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert run(normalize_date, [tomorrow.isoformat(), "1980-01-05"]) == [None, JAN5]


def test_blank_is_null() -> None:
    check_blank_is_null(auto)
    check_blank_is_null(us_format)


@PROPERTY_SETTINGS
@given(values=value_lists())
def test_idempotent_and_total(values: list[str]) -> None:
    for normalize in (auto, us_format):
        once = run(normalize, values)
        assert run(normalize, once, dtype=pl.Date) == once
        assert run(normalize, [None if d is None else d.isoformat() for d in once]) == once


@PROPERTY_SETTINGS
@given(values=value_lists(case_safe_text), left=whitespace, right=whitespace)
def test_case_and_whitespace_insensitive(values: list[str], left: str, right: str) -> None:
    check_case_and_space_insensitive(auto, values, left, right)
