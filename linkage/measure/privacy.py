"""Output privacy: the k-minimum, complementary suppression and differential privacy.

Primary suppression hides every cell that counts fewer than ``k_min`` households.

Complementary suppression stops a hidden cell from being worked out of published ones.
Three kinds of published relation make that possible here:

* bands: a band-"all" cell is the sum of its light, medium and heavy cells (the bands
  split the households), for every segment, day, quarter-hour and channel;
* segments: when every matched household carries exactly one label, the labels split
  the households too and segment "all" is the sum of the label cells;
* days: the averaged row's audience is the mean of the day cells of its series.

For each band or segment relation (a total and its parts): a relation with exactly one
hidden cell gives that cell away, so one more is hidden (the published part with the
fewest households, else the total); and when the total is published, the hidden parts
together must count zero or at least ``k_min`` households, else one more part is hidden.
The parts of a band or segment relation are disjoint sets of households, so their sum is
a count of distinct households and the k rule applies to it as to any cell.

Day cells of one household overlap from day to day, so a sum of hidden day cells does not
count distinct households. The day relation is therefore handled whole: a series (segment,
band, quarter-hour, channel) publishes all its day cells or none. Hiding all of them
reveals only their sum, which is the averaged row, whose own count (distinct households on
any day) is at least ``k_min`` when it is published; a hidden averaged row hides its day
cells too, since their mean would give it back. Over a one-day period the day and the
averaged row are the same cell, and are hidden together.

The rules are applied until nothing changes. They stop exact recovery through any one
relation; they do not bound what an adversary could infer by combining many relations as a
linear program. That is what differential privacy is for.

With ``dp_epsilon > 0`` every count (the full grid, zero cells included) gets Gaussian noise
from OpenDP; the k rule is then applied to the noisy counts and everything published is
computed from noisy counts only, so the whole release is differentially private and no
complementary suppression is needed (a difference of noisy cells is noisy).
"""

from __future__ import annotations

import math

import polars as pl

from linkage.measure.metrics import AVERAGE_DAY, Counts

#: The noise of one cell: (epsilon, delta) spent by the whole release, and the Gaussian scale.
DPCost = tuple[float, float, float]


def noisy_counts(
    counts: Counts, sensitivity_squared: int, epsilon: float, delta: float
) -> tuple[Counts, DPCost]:
    """Add OpenDP Gaussian noise to every count of every table, for (epsilon, delta)-DP.

    One Gaussian mechanism releases the concatenation of all tables, with the L2
    sensitivity bound ``sqrt(sensitivity_squared)`` (rounded up, as OpenDP's integer
    metric needs). OpenDP picks the scale that meets ``epsilon`` at ``delta`` and reports
    the epsilon actually spent. Noisy counts below zero are set to zero (post-processing).
    """
    import opendp.prelude as dp

    dp.enable_features("contrib")
    d_in = math.isqrt(sensitivity_squared - 1) + 1 if sensitivity_squared > 1 else 1
    domain = dp.vector_domain(dp.atom_domain(T=int))
    metric = dp.l2_distance(T=int)

    def release(scale: float) -> dp.Measurement:
        gaussian = dp.m.make_gaussian(domain, metric, scale=scale)
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian), delta)

    scale = dp.binary_search_param(release, d_in=d_in, d_out=(epsilon, delta))
    measurement = release(scale)
    spent_epsilon, spent_delta = measurement.map(d_in)
    tables = counts.tables()
    sizes = [t.height for t in tables.values()]
    flat: list[int] = []
    for table in tables.values():
        flat.extend(table["count"].to_list())
    noisy = pl.Series("count", measurement(flat), dtype=pl.Int64).clip(lower_bound=0)
    out: dict[str, pl.DataFrame] = {}
    offset = 0
    for (name, table), size in zip(tables.items(), sizes, strict=True):
        out[name] = table.with_columns(noisy.slice(offset, size))
        offset += size
    released = Counts(**out, segments_partition=counts.segments_partition)
    return released, (float(spent_epsilon), float(spent_delta), float(scale))


def with_all_band(table: pl.DataFrame, value_columns: list[str]) -> pl.DataFrame:
    """Add band 0 ("all") as the sum of bands 1..3 for every other key."""
    keys = [c for c in table.columns if c not in value_columns and c != "band"]
    total = (
        table.group_by(keys)
        .agg(pl.col(c).sum() for c in value_columns)
        .with_columns(pl.lit(0, dtype=table.schema["band"]).alias("band"))
        .select(table.columns)
    )
    return pl.concat([total, table]).sort([*keys, "band"])


def primary(table: pl.DataFrame, k: int) -> pl.DataFrame:
    """Mark ``suppressed`` where the count is under ``k``."""
    return table.with_columns((pl.col("count") < k).alias("suppressed"))


def complementary(
    table: pl.DataFrame,
    keys: list[str],
    margins: list[str],
    k: int,
    n_days: int,
) -> pl.DataFrame:
    """Widen ``suppressed`` until no hidden cell can be recovered through one relation.

    ``margins`` names the code columns (``band``, ``seg``) whose code 0 is the total of the
    others; a ``day`` key, when present, is the day relation (code -1 = averaged row).
    """
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
