"""Shared helpers and hypothesis strategies for the normalizer tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

Normalizer = Callable[[pl.Expr], pl.Expr]

# Each example is a whole list of values run through polars at once: many values per
# example keep the property tests fast and still cover the per-value behaviour.
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_LATIN = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýĀāĒēĪīŌōŪūŁłŃńŚśŹźŻż"
#: Text whose case mapping is one-to-one (ASCII and common accented Latin letters).
case_safe_text = st.text(
    alphabet=st.sampled_from([chr(c) for c in range(32, 127)] + list(_LATIN)), max_size=30
)

ADDRESSY = st.from_regex(r"[0-9A-Za-z #,./'&()-]{0,40}", fullmatch=True)

REALISTIC = st.sampled_from(
    [
        "123 N Main St Apt 4",
        "123 North Main Street, Unit 4",
        "PO BOX 12",
        "Twenty First St",
        "Smith, John A",
        "Dr. Jane van der Berg",
        "DE LA CRUZ",
        "O'Brien",
        "(202) 555-0143",
        "+44 20 7946 0958",
        "a.b+c@gmail.com",
        "01/05/1980",
        "Jan 5 1980",
        "19800105",
        "APT 4B",
        "02134-1234",
        "Mass.",
        "St. Louis",
        "male",
        "unknown",
        "",
        "   ",
    ]
)


def value_lists(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[list[str]]:
    """Lists of strings mixing arbitrary text, address-like text and realistic values."""
    pieces = st.one_of(text if text is not None else st.text(max_size=40), ADDRESSY, REALISTIC)
    return st.lists(pieces, min_size=1, max_size=40)


whitespace = st.sampled_from([" ", "  ", "\t", " \t ", "\n", "\u00a0"])


def run(normalize: Normalizer, values: Sequence[Any], dtype: Any = pl.String) -> list[Any]:
    """``normalize`` applied to ``values`` (as one column), as a Python list."""
    frame = pl.DataFrame({"x": pl.Series(list(values), dtype=dtype)})
    return frame.select(normalize(pl.col("x")).alias("out")).to_series().to_list()


def check_idempotent(normalize: Normalizer, values: Sequence[str]) -> None:
    once = run(normalize, values)
    twice = run(normalize, once)
    for value, first, second in zip(values, once, twice, strict=True):
        assert first == second, (value, first, second)


def check_case_and_space_insensitive(
    normalize: Normalizer, values: Sequence[str], left: str, right: str
) -> None:
    base = run(normalize, values)
    upper = run(normalize, [v.upper() for v in values])
    lower = run(normalize, [v.lower() for v in values])
    padded = run(normalize, [left + v + right for v in values])
    for value, *outs in zip(values, base, upper, lower, padded, strict=True):
        assert outs.count(outs[0]) == 4, (value, outs)


def check_blank_is_null(normalize: Normalizer) -> None:
    assert run(normalize, ["", " ", "\t", "  \n ", None]) == [None] * 5
