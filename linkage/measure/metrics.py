"""Household profiles and the count tables every published figure is derived from.

A household's profile is its segment bitset (the OR of its members' label bits) and its
viewing-intensity band (light, medium, heavy from its average daily viewing hours). Counting
households per profile first and only then expanding profiles into (segment, band) cells
keeps the large tables small: a household is counted once per quarter-hour and channel, and
belongs to exactly one profile, so the per-profile counts add up to distinct households.

Codes used in the working frames: ``seg`` 0 is "all", ``seg`` i + 1 is ``labels[i]``;
``band`` 0 is "all", then 1 light, 2 medium, 3 heavy; ``day`` is the day index in the
period, -1 for the row averaged over days; ``qod`` is the quarter-hour of the day (0..95).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from hashing.errors import InputError
from linkage.measure.config import MeasureConfig
from linkage.measure.crediting import QUARTER_HOURS_PER_DAY, Credited

BANDS: tuple[str, ...] = ("all", "light", "medium", "heavy")
AVERAGE_DAY = -1
MAX_LABELS = 64
#: Above this many possible cells, counts are hashed instead of bincounted.
DENSE_LIMIT = 1 << 26


@dataclass(frozen=True)
class Counts:
    """Distinct-household counts over the full grid of cells, bands 1..3 only.

    ``reach_day`` (seg, band, day, qod, ch, count): households tuned to ch on that day.
    ``reach_any`` (seg, band, qod, ch, count): households tuned to ch at qod on any day.
    ``tuned_day`` (seg, band, day, qod, count): households tuned to any channel.
    ``tuned_any`` (seg, band, qod, count): the same on any day.
    ``matched`` (seg, band, count): matched households.
    """

    reach_day: pl.DataFrame
    reach_any: pl.DataFrame
    tuned_day: pl.DataFrame
    tuned_any: pl.DataFrame
    matched: pl.DataFrame
    segments_partition: bool

    def tables(self) -> dict[str, pl.DataFrame]:
        return {
            "reach_day": self.reach_day,
            "reach_any": self.reach_any,
            "tuned_day": self.tuned_day,
            "tuned_any": self.tuned_any,
            "matched": self.matched,
        }


def household_bits(
    index: pl.DataFrame, members: pl.DataFrame, labels: list[str]
) -> tuple[pl.DataFrame, dict[str, int]]:
    """(hh, bits) for every matched household: the OR of its members' segment bitsets."""
    missing = {"household", "segments"} - set(members.columns)
    if missing:
        raise InputError(f"members frame lacks column(s) {sorted(missing)}")
    known = members.join(index, on="household", how="left")
    orphans = int(known["hh"].null_count())
    bits = (
        known.filter(pl.col("hh").is_not_null())
        .group_by("hh")
        .agg(pl.col("segments").cast(pl.UInt64).fill_null(0).bitwise_or().alias("bits"))
    )
    if len(labels) < MAX_LABELS:
        beyond = ((1 << MAX_LABELS) - 1) ^ ((1 << len(labels)) - 1)
        stray = bits.filter((pl.col("bits") & pl.lit(beyond, dtype=pl.UInt64)) != 0).height
        if stray:
            raise InputError(
                f"members frame: {stray} household(s) carry segment bits beyond the "
                f"{len(labels)} declared labels; the label list does not match the members"
            )
    full = (
        index.select("hh").join(bits, on="hh", how="left").with_columns(pl.col("bits").fill_null(0))
    )
    return full, {"members": members.height, "members_without_household": orphans}


def household_quarter_hours(credited: Credited) -> pl.Series:
    """The distinct (household, quarter-hour) pairs tuned to anything, as one Int64 key
    ``hh * n_quarter_hours + qh`` (one integer key hashes far faster than two columns)."""
    n_qh = credited.n_days * QUARTER_HOURS_PER_DAY
    key = credited.tuned["hh"].cast(pl.Int64) * n_qh + credited.tuned["qh"].cast(pl.Int64)
    return key.unique().alias("hq")


def profiles(
    credited: Credited, bits: pl.DataFrame, hq: pl.Series, config: MeasureConfig
) -> pl.DataFrame:
    """(hh, pid, band, bits), sorted by hh: each household's band and profile id.

    The band comes from the household's average daily viewing: the quarter-hours in which
    it was tuned to anything, a quarter of an hour each, over the days of the period.
    """
    n_qh = credited.n_days * QUARTER_HOURS_PER_DAY
    per_household = (hq // n_qh).cast(pl.UInt32).value_counts(name="n").rename({"hq": "hh"})
    hours = pl.col("n").fill_null(0) * 0.25 / credited.n_days
    banded = bits.join(per_household, on="hh", how="left").with_columns(
        pl.when(hours < config.light_hours)
        .then(1)
        .when(hours >= config.heavy_hours)
        .then(3)
        .otherwise(2)
        .cast(pl.Int8)
        .alias("band")
    )
    pids = banded.select("bits", "band").unique().sort("bits", "band").with_row_index("pid")
    return banded.join(pids, on=["bits", "band"]).select("hh", "pid", "band", "bits").sort("hh")


def _expansion(profile: pl.DataFrame, n_labels: int) -> pl.DataFrame:
    """(pid, seg, band): the cells each profile counts in (segment "all" and its labels)."""
    per_profile = profile.select("pid", "band", "bits").unique("pid")
    segs = [pl.lit(0, dtype=pl.Int8)] + [
        pl.when((pl.col("bits") & pl.lit(1 << i, dtype=pl.UInt64)) != 0).then(
            pl.lit(i + 1, dtype=pl.Int8)
        )
        for i in range(n_labels)
    ]
    return (
        per_profile.with_columns(pl.concat_list(segs).list.drop_nulls().alias("seg"))
        .explode("seg")
        .select("pid", "seg", "band")
    )


def bound_channels(tuned: pl.DataFrame, max_channels: int) -> tuple[pl.DataFrame, int]:
    """Keep at most ``max_channels`` channels per household and quarter-hour (for DP).

    Which ones stay is decided by a fixed hash of (household, quarter-hour, channel), so the
    cut favours no channel. Returns the bounded rows and how many were cut.
    """
    order = pl.struct("hh", "qh", "ch").hash(seed=0x5EED)
    kept = tuned.filter(order.rank("ordinal").over("hh", "qh") <= max_channels)
    return kept, tuned.height - kept.height


def _grid(n_segs: int, n_days: int | None, n_channels: int | None) -> pl.DataFrame:
    parts = [
        pl.DataFrame({"seg": pl.int_range(0, n_segs, eager=True).cast(pl.Int8)}),
        pl.DataFrame({"band": pl.Series([1, 2, 3], dtype=pl.Int8)}),
    ]
    if n_days is not None:
        parts.append(pl.DataFrame({"day": pl.int_range(0, n_days, eager=True).cast(pl.Int32)}))
    parts.append(
        pl.DataFrame({"qod": pl.int_range(0, QUARTER_HOURS_PER_DAY, eager=True).cast(pl.Int16)})
    )
    if n_channels is not None:
        parts.append(pl.DataFrame({"ch": pl.int_range(0, n_channels, eager=True).cast(pl.UInt16)}))
    grid = parts[0]
    for part in parts[1:]:
        grid = grid.join(part, how="cross")
    return grid


def _cells(
    key: pl.Series, radix: list[int], names: list[str], dtypes: list[pl.DataType]
) -> pl.DataFrame:
    """Count equal keys and decode them into columns (mixed radix, last name fastest)."""
    size = math.prod(radix)
    if size <= DENSE_LIMIT:
        # Keys are dense and bounded: a bincount is ~20x faster than hashing them.
        tally = np.bincount(key.to_numpy(), minlength=size)
        present = np.flatnonzero(tally)
        counted = pl.DataFrame({key.name: present, "count": tally[present]})
    else:
        counted = key.value_counts(name="count")
    cols: dict[str, pl.Series] = {}
    rest = counted[key.name]
    for name, base, dtype in zip(reversed(names), reversed(radix), reversed(dtypes), strict=True):
        cols[name] = (rest % base).cast(dtype).alias(name)
        rest = rest // base
    return pl.DataFrame([cols[n] for n in names]).with_columns(counted["count"].cast(pl.Int64))


def _lay_out(
    per_profile: pl.DataFrame, expansion: pl.DataFrame, by: list[str], grid: pl.DataFrame
) -> pl.DataFrame:
    """Expand profile counts into (segment, band) cells and lay them on the full grid."""
    keys = ["seg", "band", *by]
    cells = (
        per_profile.join(expansion, on="pid")
        .group_by(keys)
        .agg(pl.col("count").sum().cast(pl.Int64))
    )
    return (
        grid.join(cells, on=keys, how="left").with_columns(pl.col("count").fill_null(0)).sort(keys)
    )


def count_cells(credited: Credited, profile: pl.DataFrame, hq: pl.Series, n_labels: int) -> Counts:
    """All count tables, on the full grid (zero cells included) of bands 1..3.

    Distinct households per cell are counted per profile with one integer key each, then
    expanded: ``pid`` is looked up by position (households are numbered densely).
    """
    n_segs = n_labels + 1
    n_days = credited.n_days
    n_ch = len(credited.channels)
    n_qh = n_days * QUARTER_HOURS_PER_DAY
    qpd = QUARTER_HOURS_PER_DAY
    pid_of = profile["pid"]  # position = hh
    n_pid = max(1, pid_of.n_unique())  # pids are dense from 0
    expansion = _expansion(profile, n_labels)
    i64 = pl.Int64
    hh = credited.tuned["hh"]
    qh = credited.tuned["qh"].cast(i64)
    ch = credited.tuned["ch"].cast(i64)
    pid = pid_of.gather(hh).cast(i64)
    dims = {
        "day": pl.Int32(),
        "qod": pl.Int16(),
        "ch": pl.UInt16(),
        "pid": pl.UInt32(),
    }

    def tally(key: pl.Series, names: list[str], radix: list[int]) -> pl.DataFrame:
        return _cells(key.alias("key"), radix, names, [dims[n] for n in names])

    day_cells = tally(
        (qh * n_ch + ch) * n_pid + pid,
        ["day", "qod", "ch", "pid"],
        [n_days, qpd, n_ch, n_pid],
    )
    reach_day = _lay_out(day_cells, expansion, ["day", "qod", "ch"], _grid(n_segs, n_days, n_ch))
    if n_days == 1:
        reach_any = reach_day.drop("day")
    else:
        seen = ((hh.cast(i64) * qpd + qh % qpd) * n_ch + ch).unique()
        any_hh = seen // (qpd * n_ch)
        any_cells = tally(
            (seen % (qpd * n_ch)) * n_pid + pid_of.gather(any_hh).cast(i64),
            ["qod", "ch", "pid"],
            [qpd, n_ch, n_pid],
        )
        reach_any = _lay_out(any_cells, expansion, ["qod", "ch"], _grid(n_segs, None, n_ch))
    hq_hh = hq // n_qh
    hq_pid = pid_of.gather(hq_hh).cast(i64)
    tuned_cells = tally((hq % n_qh) * n_pid + hq_pid, ["day", "qod", "pid"], [n_days, qpd, n_pid])
    tuned_day = _lay_out(tuned_cells, expansion, ["day", "qod"], _grid(n_segs, n_days, None))
    if n_days == 1:
        tuned_any = tuned_day.drop("day")
    else:
        seen_q = (hq_hh * qpd + hq % qpd).unique()
        tuned_any_cells = tally(
            (seen_q % qpd) * n_pid + pid_of.gather(seen_q // qpd).cast(i64),
            ["qod", "pid"],
            [qpd, n_pid],
        )
        tuned_any = _lay_out(tuned_any_cells, expansion, ["qod"], _grid(n_segs, None, None))
    profile_sizes = profile.group_by("pid").len("count").with_columns(pl.col("count").cast(i64))
    matched = _lay_out(
        profile_sizes, expansion, [], _grid(n_segs, None, None).select("seg", "band").unique()
    )
    popcount = profile["bits"].bitwise_count_ones()
    partition = n_labels >= 2 and profile.height > 0 and bool((popcount == 1).all())
    return Counts(reach_day, reach_any, tuned_day, tuned_any, matched, partition)


def l2_sensitivity_squared(n_labels: int, n_days: int, n_channels: int, max_channels: int) -> int:
    """The most one household can change the count vector, squared L2 norm.

    A household adds 1 to each cell it counts in. It is in at most ``n_labels + 1``
    segments and one band; per segment it counts in at most ``n_days * 96 * max_channels``
    day reach cells, ``96 * min(n_channels, n_days * max_channels)`` any-day reach cells,
    ``n_days * 96`` day tuned cells, 96 any-day tuned cells, and one matched cell.
    """
    per_segment = (
        n_days * QUARTER_HOURS_PER_DAY * max_channels
        + QUARTER_HOURS_PER_DAY * min(n_channels, n_days * max_channels)
        + n_days * QUARTER_HOURS_PER_DAY
        + QUARTER_HOURS_PER_DAY
        + 1
    )
    return (n_labels + 1) * per_segment
