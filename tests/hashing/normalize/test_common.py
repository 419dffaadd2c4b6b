"""The per-distinct-value machinery every normalizer runs on."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashing import _crypto
from hashing.normalize import _common
from hashing.normalize._common import (
    by_distinct,
    distinct_codes,
    on_distinct,
    on_rows,
    transliterate,
)
from tests.hashing.normalize._support import PROPERTY_SETTINGS


@PROPERTY_SETTINGS
@given(values=st.lists(st.one_of(st.none(), st.sampled_from("abc"), st.text(max_size=5))))
def test_distinct_codes_rebuild_the_column(values: list[str | None]) -> None:
    series = pl.Series(values, dtype=pl.String)
    codes, distinct = distinct_codes(series)
    assert distinct.gather(codes).to_list() == values
    assert distinct.len() == distinct.n_unique()


@PROPERTY_SETTINGS
@given(values=st.lists(st.one_of(st.none(), st.sampled_from("abc"), st.text(max_size=5))))
def test_distinct_codes_are_the_same_with_and_without_the_compiled_loop(
    values: list[str | None],
) -> None:
    series = pl.Series(values, dtype=pl.String)
    fast = distinct_codes(series)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_crypto, "_native", None)
        slow = distinct_codes(series)
    assert fast[0].to_list() == slow[0].to_list()  # codes in order of first appearance
    assert fast[1].to_list() == slow[1].to_list()


def test_distinct_codes_survive_a_hash_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    original = pl.Series.hash

    def colliding(self: pl.Series, seed: int = 0, **kwargs: int | None) -> pl.Series:
        if seed == _common._SEED:  # every value gets the same first hash
            return pl.zeros(self.len(), dtype=pl.UInt64, eager=True)
        return original(self, seed, **kwargs)

    monkeypatch.setattr(pl.Series, "hash", colliding)
    codes, distinct = distinct_codes(pl.Series(["a", "b", "a", None]))
    assert distinct.gather(codes).to_list() == ["a", "b", "a", None]
    assert distinct.to_list() == ["a", "b", None]


def test_func_runs_once_per_distinct_value() -> None:
    calls: list[int] = []

    def upper(s: pl.Series) -> pl.Series:
        calls.append(s.len())
        return s.str.to_uppercase()

    frame = pl.DataFrame({"x": ["a", "b", "a", "b", None, "a"]})
    out = frame.select(on_distinct(pl.col("x"), upper, pl.String)).to_series()
    assert out.to_list() == ["A", "B", "A", "B", None, "A"]
    assert calls == [3]
    assert by_distinct(frame.get_column("x"), upper).to_list() == out.to_list()


def test_on_distinct_handles_an_empty_column_and_keeps_the_name() -> None:
    frame = pl.DataFrame({"x": pl.Series([], dtype=pl.String)})
    out = frame.select(on_distinct(pl.col("x"), lambda s: s, pl.String))
    assert out.columns == ["x"]
    assert out.height == 0


def test_on_rows_touches_only_the_chosen_rows() -> None:
    frame = pl.DataFrame({"v": ["a", "b", "c"]})
    mask = pl.Series([True, False, None])
    out = on_rows(
        frame, mask, lambda f: f.select(pl.col("v").str.to_uppercase(), pl.lit("x").alias("n"))
    )
    assert out.to_dict(as_series=False) == {"v": ["A", "b", "c"], "n": ["x", None, None]}
    assert on_rows(frame, pl.Series([False] * 3), lambda f: f.select(pl.lit(1))).equals(frame)


def test_on_rows_writes_nested_columns_back() -> None:
    frame = pl.DataFrame({"v": ["a b", "c", None]})
    out = on_rows(
        frame,
        pl.Series([True, False, True]),
        lambda f: f.select(pl.col("v").str.split(" ").alias("parts")),
    )
    assert out["parts"].to_list() == [["a", "b"], None, None]


def test_transliterate_only_touches_non_ascii_values() -> None:
    series = pl.Series(["José", "plain", None, "Łódź", "123½", "\u00a0x"])
    assert transliterate(series).to_list() == ["Jose", "plain", None, "Lodz", "123 1/2 ", " x"]


def test_data_tables_are_package_resources() -> None:
    rows = _common.data_rows("states.csv")
    assert {"code", "name", "other_spellings"} <= set(rows[0])
    assert "MARY" in _common.data_lines("nickname_keep.txt")
