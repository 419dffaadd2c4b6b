"""Complementary suppression on hand-made tables."""

from __future__ import annotations

import polars as pl

from linkage.measure.privacy import complementary, primary, with_all_band

K = 10


def _bands(counts: list[int], days: list[int] | None = None) -> pl.DataFrame:
    """Bands 1..3 with these counts (one cell each), plus band 0 as their sum."""
    table = pl.DataFrame(
        {"seg": [0, 0, 0], "band": [1, 2, 3], "count": counts},
        schema={"seg": pl.Int8, "band": pl.Int8, "count": pl.Int64},
    )
    return with_all_band(table, ["count"])


def _hidden(table: pl.DataFrame) -> dict[int, bool]:
    return dict(zip(table["band"].to_list(), table["suppressed"].to_list(), strict=True))


def _run(table: pl.DataFrame, keys: list[str], n_days: int = 2) -> pl.DataFrame:
    return complementary(primary(table, K), keys, ["band"], K, n_days)


def test_a_lone_small_band_hides_the_next_smallest() -> None:
    out = _run(_bands([3, 40, 25]), ["seg", "band"])
    assert _hidden(out) == {0: False, 1: True, 2: False, 3: True}


def test_hidden_parts_that_sum_under_k_hide_one_more() -> None:
    out = _run(_bands([3, 4, 25]), ["seg", "band"])
    assert _hidden(out) == {0: False, 1: True, 2: True, 3: True}


def test_hidden_parts_that_sum_to_k_are_enough() -> None:
    out = _run(_bands([4, 6, 25]), ["seg", "band"])
    assert _hidden(out) == {0: False, 1: True, 2: True, 3: False}


def test_a_lone_empty_cell_stays_alone() -> None:
    out = _run(_bands([0, 40, 25]), ["seg", "band"])
    assert _hidden(out) == {0: False, 1: True, 2: False, 3: False}


def test_a_small_total_hides_everything() -> None:
    out = _run(_bands([1, 2, 3]), ["seg", "band"])
    assert all(_hidden(out).values())


def _series(day_counts: list[list[int]], distinct: list[int]) -> pl.DataFrame:
    """One series per band: day rows (day 0..n-1) and the averaged row (day -1)."""
    rows = []
    for band, (per_day, any_day) in enumerate(zip(day_counts, distinct, strict=True), start=1):
        rows += [(0, band, day, c) for day, c in enumerate(per_day)] + [(0, band, -1, any_day)]
    table = pl.DataFrame(
        rows,
        schema={"seg": pl.Int8, "band": pl.Int8, "day": pl.Int32, "count": pl.Int64},
        orient="row",
    )
    return with_all_band(table, ["count"])


def test_one_small_day_hides_every_day_of_its_series_but_not_the_average() -> None:
    table = _series([[30, 5, 40], [50, 50, 50], [60, 60, 60]], [45, 70, 80])
    out = _run(table, ["seg", "band", "day"], n_days=3)
    light = out.filter(pl.col("band") == 1)
    assert light.filter(pl.col("day") >= 0)["suppressed"].all()
    assert not light.filter(pl.col("day") == -1)["suppressed"].item()
    # the small day also needed a partner in its band relation, whose series goes too
    medium_days = out.filter((pl.col("band") == 2) & (pl.col("day") >= 0))
    assert medium_days["suppressed"].all()


def test_over_one_day_the_day_and_average_rows_go_together() -> None:
    table = _series([[5], [50], [60]], [5, 50, 60])
    out = _run(table, ["seg", "band", "day"], n_days=1)
    for band in (1, 2):
        assert out.filter(pl.col("band") == band)["suppressed"].all()
    assert not out.filter(pl.col("band") == 3)["suppressed"].any()
