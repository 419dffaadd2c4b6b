"""Vectorized record noise: one typo is one edit."""

from __future__ import annotations

import jellyfish
import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from samples.textnoise import insert_dot, with_typos

names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ -'", min_size=0, max_size=20)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(names, min_size=1, max_size=30), seed=st.integers(0, 2**32))
def test_a_typo_is_at_most_one_edit(values: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    edited = with_typos(rng, pl.Series(values, dtype=pl.String), 1.0).to_list()
    for before, after in zip(values, edited, strict=True):
        assert after is not None
        assert jellyfish.damerau_levenshtein_distance(before, after) <= 1
        if len(before) < 3:
            assert after == before
        elif len(set(before)) == len(before):  # no repeated letter: the edit shows
            assert after != before


def test_no_typos_at_rate_zero_and_input_untouched() -> None:
    values = pl.Series(["SMITH", "JOHNSON", None], dtype=pl.String)
    assert with_typos(np.random.default_rng(1), values, 0.0).to_list() == values.to_list()
    with_typos(np.random.default_rng(1), values, 1.0)
    assert values.to_list() == ["SMITH", "JOHNSON", None]


def test_insert_dot_never_at_the_ends() -> None:
    frame = pl.DataFrame({"v": ["johnsmith", "ab", "x"], "u": [0.0, 0.999, 0.5]})
    out = frame.select(insert_dot(pl.col("v"), pl.lit(True), pl.col("u"))).to_series()
    assert out.to_list() == ["j.ohnsmith", "a.b", "x"]
