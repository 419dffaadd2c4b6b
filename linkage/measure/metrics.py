"""Household profiles and the count tables every published figure is derived from.

A household's profile is its segment bitset (the OR of its members' label bits) and its
viewing-intensity band (light, medium, heavy from its average daily viewing hours). Counting
households per profile first and only then expanding profiles into (segment, band) cells
keeps the large tables small: a household is counted once per quarter-hour and channel, and
belongs to exactly one profile, so the per-profile counts add up to distinct households.

Codes used in the working arrays: ``seg`` 0 is "all", ``seg`` i + 1 is ``labels[i]``;
``band`` 0 is "all", then 1 light, 2 medium, 3 heavy; ``day`` is the day index in the
period; ``qod`` is the quarter-hour of the day (0..95); ``ch`` the channel index.

Every count table is dense: an array over the whole grid of its cells, zero cells
included, so the published grid never depends on which cells happen to be empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from hashing.errors import InputError
from linkage.measure.config import MeasureConfig
from linkage.measure.crediting import QUARTER_HOURS_PER_DAY, Credited, in_threads, threads

BANDS: tuple[str, ...] = ("all", "light", "medium", "heavy")
AVERAGE_DAY = -1
MAX_LABELS = 64
#: Above this many possible (cell, profile) pairs, counts are sorted instead of bincounted.
DENSE_LIMIT = 1 << 26
#: Tuned rows counted per slice: bounds the working arrays (about 100 bytes a row).
SLICE_ROWS = 1 << 21


@dataclass(frozen=True)
class Counts:
    """Distinct-household counts over the full grid of cells, bands 1..3 only (Int64).

    ``reach_day`` [seg, band, day, ch, qod]: households tuned to ch on that day.
    ``reach_any`` [seg, band, ch, qod]: households tuned to ch at qod on any day.
    ``tuned_day`` [seg, band, day, qod]: households tuned to any channel.
    ``tuned_any`` [seg, band, qod]: the same on any day.
    ``matched`` [seg, band]: matched households.
    Band index 0 here is band code 1 (light).
    """

    reach_day: np.ndarray
    reach_any: np.ndarray
    tuned_day: np.ndarray
    tuned_any: np.ndarray
    matched: np.ndarray
    segments_partition: bool

    def tables(self) -> dict[str, np.ndarray]:
        return {
            "reach_day": self.reach_day,
            "reach_any": self.reach_any,
            "tuned_day": self.tuned_day,
            "tuned_any": self.tuned_any,
            "matched": self.matched,
        }


@dataclass(frozen=True)
class Profiles:
    """Each household's profile id (``of_household``) and segment bits (``bits``), indexed
    by hh, and for each profile (indexed by pid) its band code (1..3) and the segment codes
    it counts in."""

    of_household: np.ndarray
    band: np.ndarray
    segments: list[np.ndarray]
    bits: pl.Series

    @property
    def n(self) -> int:
        return max(1, len(self.segments))


def household_bits(
    index: pl.DataFrame, members: pl.DataFrame, labels: list[str]
) -> tuple[np.ndarray, dict[str, int]]:
    """Every matched household's segment bits (indexed by hh): the OR of its members'
    segment bitsets."""
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
    full = np.zeros(index.height, dtype=np.uint64)
    full[bits["hh"].to_numpy()] = bits["bits"].to_numpy()
    return full, {"members": members.height, "members_without_household": orphans}


def _household_slices(hh: np.ndarray) -> Iterator[slice]:
    """Consecutive slices of about ``SLICE_ROWS`` rows that never split a household (hh
    is sorted)."""
    n, size = hh.size, SLICE_ROWS
    lo = 0
    while lo < n:
        hi = min(n, lo + size)
        if hi < n:
            hi = int(np.searchsorted(hh, hh[hi], side="left"))
            if hi <= lo:
                hi = int(np.searchsorted(hh, hh[lo], side="right"))
        yield slice(lo, hi)
        lo = hi


def _first_of_runs(*keys: np.ndarray) -> np.ndarray:
    """True where sorted rows differ from the row before in any of ``keys`` (the first row
    of each run of equal rows)."""
    first = np.ones(keys[0].size, dtype=bool)
    if first.size > 1:
        differs = keys[0][1:] != keys[0][:-1]
        for key in keys[1:]:
            differs |= key[1:] != key[:-1]
        first[1:] = differs
    return first


def household_quarter_hours(credited: Credited, n_households: int) -> np.ndarray:
    """Per household (indexed by hh), the quarter-hours in which it was tuned to anything."""
    hh_all = credited.tuned["hh"].to_numpy()
    qh_all = credited.tuned["qh"].to_numpy()

    def count(parts: list[slice]) -> np.ndarray:
        per_household = np.zeros(n_households, dtype=np.int64)
        for part in parts:
            hh = hh_all[part]
            first = _first_of_runs(hh, qh_all[part])
            per_household += np.bincount(hh[first], minlength=n_households)
        return per_household

    return sum(
        in_threads(count, _groups(_household_slices(hh_all))), np.zeros(n_households, np.int64)
    )


def _groups(slices: Iterator[slice]) -> list[list[slice]]:
    """Slices dealt round-robin into one group per thread."""
    every = list(slices)
    n = max(1, min(len(every), threads()))
    return [every[i::n] for i in range(n)]


def profiles(
    bits: np.ndarray, quarter_hours: np.ndarray, n_days: int, n_labels: int, config: MeasureConfig
) -> Profiles:
    """Each household's band and profile.

    The band comes from the household's average daily viewing: the quarter-hours in which
    it was tuned to anything, a quarter of an hour each, over the days of the period.
    """
    hours = quarter_hours * 0.25 / n_days
    band = np.where(hours < config.light_hours, 1, np.where(hours >= config.heavy_hours, 3, 2))
    banded = pl.DataFrame(
        [pl.Series("bits", bits, dtype=pl.UInt64), pl.Series("band", band, dtype=pl.Int8)]
    )
    pids = banded.select("bits", "band").unique().sort("bits", "band").with_row_index("pid")
    of_household = (
        banded.join(pids, on=["bits", "band"], how="left", maintain_order="left")
        .get_column("pid")
        .to_numpy()
        .astype(np.int64)
    )
    segments = []
    for value in pids["bits"].to_list():
        segments.append(
            np.array([0] + [i + 1 for i in range(n_labels) if value >> i & 1], dtype=np.int64)
        )
    return Profiles(
        of_household=of_household,
        band=pids["band"].to_numpy().astype(np.int64),
        segments=segments,
        bits=banded["bits"],
    )


def bound_channels(tuned: pl.DataFrame, max_channels: int) -> tuple[pl.DataFrame, int]:
    """Keep at most ``max_channels`` channels per household and quarter-hour (for DP).

    Which ones stay is decided by a fixed hash of (household, quarter-hour, channel), so the
    cut favours no channel. Returns the bounded rows and how many were cut.
    """
    order = pl.struct("hh", "qh", "ch").hash(seed=0x5EED)
    kept = tuned.filter(order.rank("ordinal").over("hh", "qh") <= max_channels)
    return kept, tuned.height - kept.height


class _Tally:
    """Counts of integer keys in [0, size), added slice by slice."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.dense: np.ndarray | None = (
            np.zeros(size, dtype=np.int64) if size <= DENSE_LIMIT else None
        )
        self.sparse: list[tuple[np.ndarray, np.ndarray]] = []

    def merge(self, other: _Tally) -> _Tally:
        if self.dense is not None and other.dense is not None:
            self.dense += other.dense
        self.sparse.extend(other.sparse)
        return self

    def add(self, key: np.ndarray) -> None:
        if self.dense is not None:
            # Keys are dense and bounded: a bincount is far faster than sorting them.
            self.dense += np.bincount(key, minlength=self.size)
        else:
            self.sparse.append(np.unique(key, return_counts=True))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys present, their counts)."""
        if self.dense is not None:
            present = np.flatnonzero(self.dense)
            return present, self.dense[present]
        if not self.sparse:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        keys = np.concatenate([k for k, _ in self.sparse])
        counts = np.concatenate([c for _, c in self.sparse])
        unique, inverse = np.unique(keys, return_inverse=True)
        return unique, np.bincount(inverse, weights=counts).round().astype(np.int64)


def _expand(tally: _Tally, profile: Profiles, n_segs: int, cells: tuple[int, ...]) -> np.ndarray:
    """Per-(cell, profile) counts into a [seg, band 1..3, *cells] array: a profile counts in
    segment "all" and in each of its labels, in its own band."""
    keys, counts = tally.result()
    n_cells = int(np.prod(cells))
    n_pid = profile.n
    cell, pid = keys // n_pid, keys % n_pid
    seg_counts = np.array([s.size for s in profile.segments], dtype=np.int64)
    seg_flat = np.concatenate(profile.segments) if profile.segments else np.zeros(0, np.int64)
    seg_start = np.cumsum(seg_counts) - seg_counts
    per_row = seg_counts[pid] if pid.size else np.zeros(0, dtype=np.int64)
    row = np.repeat(np.arange(keys.size), per_row)
    within = np.arange(row.size) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    seg = seg_flat[seg_start[pid[row]] + within]
    band = profile.band[pid[row]] - 1
    target = (seg * 3 + band) * n_cells + cell[row]
    # float weights are exact: every sum is a count of households, far below 2**53
    total = np.bincount(target, weights=counts[row], minlength=n_segs * 3 * n_cells)
    return total.round().astype(np.int64).reshape(n_segs, 3, *cells)


def count_cells(credited: Credited, profile: Profiles, n_labels: int) -> Counts:
    """All count tables, on the full grid (zero cells included) of bands 1..3.

    The tuned rows are sorted by household, quarter-hour and channel, and are distinct, so
    day counts need no deduplication; any-day counts sort one packed key per household
    slice. Distinct households per cell are counted per profile with one integer key each,
    and only then expanded into segments.
    """
    n_segs = n_labels + 1
    n_days = credited.n_days
    n_ch = len(credited.channels)
    qpd = QUARTER_HOURS_PER_DAY
    n_qh = n_days * qpd
    n_pid = profile.n
    pid_of = profile.of_household
    hh_all = credited.tuned["hh"].to_numpy()
    qh_all = credited.tuned["qh"].to_numpy()
    ch_all = credited.tuned["ch"].to_numpy()
    of_day = np.arange(n_qh, dtype=np.int64) % qpd  # quarter-hour of the day, by lookup
    ch_bits = max(1, (n_ch - 1).bit_length())

    def count(parts: list[slice]) -> tuple[_Tally, _Tally, _Tally, _Tally]:
        reach_day = _Tally(n_qh * n_ch * n_pid)
        tuned_day = _Tally(n_qh * n_pid)
        reach_any = _Tally(qpd * n_ch * n_pid)
        tuned_any = _Tally(qpd * n_pid)
        for part in parts:
            hh = hh_all[part].astype(np.int64)
            qh = qh_all[part].astype(np.int64)
            ch = ch_all[part].astype(np.int64)
            pid = pid_of[hh]
            reach_day.add((qh * n_ch + ch) * n_pid + pid)  # (day, qod, ch, pid)
            first = _first_of_runs(hh, qh)
            tuned_day.add(qh[first] * n_pid + pid[first])
            if n_days > 1:
                # (hh, qod, ch) on any day: sort within households, keep the first of each
                qod = of_day[qh]
                seen = (((hh << 7) | qod) << ch_bits) | ch
                seen.sort()
                seen = seen[_first_of_runs(seen)]
                who = seen >> (7 + ch_bits)
                cell = ((seen >> ch_bits) & 127) * n_ch + (seen & ((1 << ch_bits) - 1))
                reach_any.add(cell * n_pid + pid_of[who])
                where = seen >> ch_bits  # hh << 7 | qod
                where = where[_first_of_runs(where)]
                tuned_any.add((where & 127) * n_pid + pid_of[where >> 7])
        return reach_day, tuned_day, reach_any, tuned_any

    counted = in_threads(count, _groups(_household_slices(hh_all)))
    reach_day, tuned_day, reach_any, tuned_any = counted[0]
    for more in counted[1:]:
        reach_day.merge(more[0])
        tuned_day.merge(more[1])
        reach_any.merge(more[2])
        tuned_any.merge(more[3])
    del counted
    day_reach = _expand(reach_day, profile, n_segs, (n_days, qpd, n_ch)).swapaxes(-1, -2)
    day_tuned = _expand(tuned_day, profile, n_segs, (n_days, qpd))
    if n_days == 1:
        any_reach, any_tuned = day_reach[:, :, 0], day_tuned[:, :, 0]
    else:
        any_reach = _expand(reach_any, profile, n_segs, (qpd, n_ch)).swapaxes(-1, -2)
        any_tuned = _expand(tuned_any, profile, n_segs, (qpd,))
    sizes = _Tally(n_pid)
    sizes.add(pid_of)
    matched = _expand(sizes, profile, n_segs, (1,))[:, :, 0]
    popcount = profile.bits.bitwise_count_ones()
    partition = n_labels >= 2 and pid_of.size > 0 and bool((popcount == 1).all())
    return Counts(day_reach, any_reach, day_tuned, any_tuned, matched, partition)


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
