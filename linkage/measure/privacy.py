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

The tables are dense arrays over their whole grid, one axis per key, so every relation is a
reduction along one axis. ``complementary`` applies the same rules to a frame that holds a
full grid.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from linkage.measure.metrics import AVERAGE_DAY, Counts

#: The noise of one cell: (epsilon, delta) spent by the whole release, and the Gaussian scale.
DPCost = tuple[float, float, float]
#: A margin: the axis of a relation and the code of each position on it (0 = the total).
Margin = tuple[int, np.ndarray]
_NONE = np.iinfo(np.int64).max


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
    flat = np.concatenate([table.ravel() for table in tables.values()])
    noisy = np.clip(np.asarray(measurement(flat.tolist()), dtype=np.int64), 0, None)
    out: dict[str, np.ndarray] = {}
    offset = 0
    for name, table in tables.items():
        out[name] = noisy[offset : offset + table.size].reshape(table.shape)
        offset += table.size
    released = Counts(**out, segments_partition=counts.segments_partition)
    return released, (float(spent_epsilon), float(spent_delta), float(scale))


def add_all_band(parts: np.ndarray) -> np.ndarray:
    """Bands 1..3 (axis 1) to bands 0..3, band 0 ("all") being their sum."""
    shape = list(parts.shape)
    shape[1] = 4
    out = np.empty(shape, dtype=parts.dtype)
    out[:, 1:] = parts
    out[:, 0] = parts[:, 0] + parts[:, 1] + parts[:, 2]
    return out


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


def _along(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """``values`` shaped to broadcast along ``axis`` of an ``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def suppress(
    count: np.ndarray,
    hidden: np.ndarray,
    margins: list[Margin],
    days: tuple[int, np.ndarray] | None,
    k: int,
    n_days: int,
) -> np.ndarray:
    """Complementary suppression on a dense table: widen ``hidden`` until no hidden cell can
    be recovered through one relation (see the module docstring).

    ``margins`` are the band and segment relations, in the order they are applied: the
    axis and the code of each position (code 0 is the total of the others). ``days`` is
    the day axis and which positions on it are day rows (the others: the averaged row).
    """
    ndim = count.ndim
    sup = hidden.copy()
    while True:
        before = int(np.count_nonzero(sup))
        for axis, codes in margins:
            code = _along(codes.astype(np.int64), axis, ndim)
            total = code == 0
            part = ~total
            if not part.any():
                continue
            hidden_count = np.where(sup, count, 0)
            hidden_sum = hidden_count.sum(axis=axis, keepdims=True)
            hidden_parts = np.where(part, hidden_count, 0).sum(axis=axis, keepdims=True)
            n_hidden = sup.sum(axis=axis, keepdims=True)
            total_hidden = (sup & total).any(axis=axis, keepdims=True)
            need = ((n_hidden == 1) & (hidden_sum > 0)) | (
                ~total_hidden & (hidden_parts > 0) & (hidden_parts < k)
            )
            candidate = np.where(part & ~sup, count * 256 + code, _NONE)
            best = candidate.min(axis=axis, keepdims=True)
            found = best != _NONE
            sup = sup | (need & found & (candidate == best)) | (need & ~found & total)
        if days is not None:
            axis, day_rows = days
            is_day = _along(day_rows, axis, ndim)
            spread = ((sup & is_day & (count > 0)) | (sup & ~is_day)).any(axis=axis, keepdims=True)
            rule = sup | (is_day & spread)
            if n_days == 1:
                rule = rule | (sup & is_day).any(axis=axis, keepdims=True)
            sup = rule
        if int(np.count_nonzero(sup)) == before:
            return sup


def complementary(
    table: pl.DataFrame,
    keys: list[str],
    margins: list[str],
    k: int,
    n_days: int,
) -> pl.DataFrame:
    """Widen ``suppressed`` until no hidden cell can be recovered through one relation.

    ``table`` holds a full grid: one row per combination of its ``keys``' values.
    ``margins`` names the code columns (``band``, ``seg``) whose code 0 is the total of the
    others; a ``day`` key, when present, is the day relation (code -1 = averaged row).
    """
    ordered = table.with_row_index("_row").sort(keys)
    values = [ordered[key].unique(maintain_order=True).to_numpy() for key in keys]
    shape = tuple(v.size for v in values)
    if math.prod(shape) != ordered.height or ordered.select(keys).is_duplicated().any():
        raise ValueError(f"complementary needs one row per combination of {keys}")
    count = ordered["count"].to_numpy().reshape(shape)
    hidden = ordered["suppressed"].to_numpy().reshape(shape)
    days = None
    if "day" in keys:
        axis = keys.index("day")
        days = (axis, values[axis] != AVERAGE_DAY)
    sup = suppress(
        count, hidden, [(keys.index(m), values[keys.index(m)]) for m in margins], days, k, n_days
    )
    return ordered.with_columns(pl.Series("suppressed", sup.ravel())).sort("_row").drop("_row")
