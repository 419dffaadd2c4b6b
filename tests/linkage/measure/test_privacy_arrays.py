"""Complementary suppression on dense arrays hides exactly the cells the row-by-row
reference hides, on random grids of every shape the pipeline builds."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.measure.privacy import complementary, primary

from .reference_privacy import reference_complementary


def _grid(rng: np.random.Generator, n_segs: int, n_days: int | None, cells: int, k: int):
    """A full grid over (seg, band[, day], cell) with band 0 the sum of bands 1..3, segment 0
    the sum of the others, and (when days are kept) day -1 at least the largest day."""
    days = [None] if n_days is None else list(range(n_days))
    parts = rng.choice([0, 0, 1, 2, k // 2, k - 1, k, 2 * k], size=(n_segs, 3, len(days), cells))
    parts[0] = parts[1:].sum(axis=0) if n_segs > 1 else parts[0]
    counts = np.concatenate([parts.sum(axis=1, keepdims=True), parts], axis=1)
    rows = []
    for seg, band, d, cell in itertools.product(
        range(n_segs), range(4), range(len(days)), range(cells)
    ):
        rows.append((seg, band, days[d], cell, int(counts[seg, band, d, cell])))
    if n_days is not None:
        for seg, band, cell in itertools.product(range(n_segs), range(4), range(cells)):
            top = int(counts[seg, band, :, cell].max())
            rows.append((seg, band, -1, cell, top + int(rng.integers(0, 3))))
    table = pl.DataFrame(
        rows,
        schema={
            "seg": pl.Int8,
            "band": pl.Int8,
            "day": pl.Int32,
            "cell": pl.Int16,
            "count": pl.Int64,
        },
        orient="row",
    )
    if n_days is None:
        table = table.drop("day")
    return table.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 30)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=1 << 30),
    n_segs=st.integers(min_value=1, max_value=4),
    n_days=st.sampled_from([None, 1, 2, 3]),
    cells=st.integers(min_value=1, max_value=4),
    k=st.sampled_from([10, 25, 50]),
    partition=st.booleans(),
)
def test_array_suppression_equals_the_reference(
    seed: int, n_segs: int, n_days: int | None, cells: int, k: int, partition: bool
) -> None:
    table = primary(_grid(np.random.default_rng(seed), n_segs, n_days, cells, k), k)
    keys = ["seg", "band", "cell"] if n_days is None else ["seg", "band", "day", "cell"]
    margins = ["band", "seg"] if partition else ["band"]
    days = n_days or 1
    got = complementary(table, keys, margins, k, days)
    expected = reference_complementary(table, keys, margins, k, days)
    assert got.columns == table.columns
    assert got["suppressed"].to_list() == expected["suppressed"].to_list()


def test_a_table_that_is_not_a_full_grid_is_refused() -> None:
    table = primary(pl.DataFrame({"seg": [0, 0, 0], "band": [0, 1, 1], "count": [5, 3, 2]}), 10)
    with pytest.raises(ValueError, match="one row per combination"):
        complementary(table, ["seg", "band"], ["band"], 10, 1)
