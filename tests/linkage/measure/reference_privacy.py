"""Complementary suppression written row by row with window expressions, as it was before
the tables became dense arrays: the reference the array version is checked against."""

from __future__ import annotations

import polars as pl

AVERAGE_DAY = -1


def reference_complementary(
    table: pl.DataFrame,
    keys: list[str],
    margins: list[str],
    k: int,
    n_days: int,
) -> pl.DataFrame:
    """Widen ``suppressed`` until no hidden cell can be recovered through one relation."""
    sup = pl.col("suppressed")
    count = pl.col("count")
    has_days = "day" in keys
    while True:
        before = int(table["suppressed"].sum())
        for dim in margins:
            group = [c for c in keys if c != dim]
            total = pl.col(dim) == 0
            part = ~total
            hidden_sum = pl.when(sup).then(count).otherwise(0).sum().over(group)
            hidden_parts = pl.when(sup & part).then(count).otherwise(0).sum().over(group)
            n_hidden = sup.cast(pl.Int32).sum().over(group)
            total_hidden = (sup & total).any().over(group)
            n_parts = part.cast(pl.Int32).sum().over(group)
            need = (n_parts > 0) & (
                ((n_hidden == 1) & (hidden_sum > 0))
                | (~total_hidden & (hidden_parts > 0) & (hidden_parts < k))
            )
            candidate = pl.when(part & ~sup).then(count * 256 + pl.col(dim).cast(pl.Int64))
            best = candidate.min().over(group)
            table = table.with_columns(
                (
                    sup
                    | (need & best.is_not_null() & (candidate == best).fill_null(False))
                    | (need & best.is_null() & total)
                ).alias("suppressed")
            )
        if has_days:
            series = [c for c in keys if c != "day"]
            is_day = pl.col("day") != AVERAGE_DAY
            spread = ((sup & is_day & (count > 0)) | (sup & ~is_day)).any().over(series)
            rule = sup | (is_day & spread)
            if n_days == 1:
                rule = rule | (sup & is_day).any().over(series)
            table = table.with_columns(rule.alias("suppressed"))
        if int(table["suppressed"].sum()) == before:
            return table
