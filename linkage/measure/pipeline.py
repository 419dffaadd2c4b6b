"""``measure``: from unsealed households, members and a viewing log to the published
viewership and segment summary (aggregate cells only)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import polars as pl

from hashing.errors import InputError
from linkage.measure.config import MeasureConfig
from linkage.measure.crediting import Credited, credit_quarter_hours
from linkage.measure.metrics import (
    BANDS,
    MAX_LABELS,
    Counts,
    bound_channels,
    count_cells,
    household_bits,
    household_quarter_hours,
    l2_sensitivity_squared,
    profiles,
)
from linkage.measure.privacy import add_all_band, noisy_counts, suppress
from linkage.measure.schema import SEGMENT_SUMMARY, VIEWERSHIP


@dataclass(frozen=True)
class MeasureResult:
    """What measurement publishes, and what the role command records in the manifest.

    ``viewership`` (schema ``VIEWERSHIP``) and ``summary`` (``SEGMENT_SUMMARY``) are
    aggregate cells only. ``quality`` counts events in, used, and left out by reason
    (``events_in == events_credited + sum of the EXCLUSION_REASONS``), adjustments, and
    household, box and member counts. ``epsilon`` and ``delta`` are the differential
    privacy spent (0 and 0 when no noise was added); ``noise_scale`` is the Gaussian scale.
    """

    viewership: pl.DataFrame
    summary: pl.DataFrame
    quality: dict[str, int]
    epsilon: float
    delta: float
    noise_scale: float
    first_day: date
    n_days: int


def _check_labels(labels: list[str]) -> None:
    problems = []
    if len(labels) > MAX_LABELS:
        problems.append(f"{len(labels)} labels; at most {MAX_LABELS} fit the bitset")
    if len(set(labels)) != len(labels):
        problems.append("a label is declared twice")
    if "all" in labels:
        problems.append("'all' is reserved for every matched household")
    if any(not label for label in labels):
        problems.append("a label is empty")
    if problems:
        raise InputError("segment labels: " + "; ".join(problems))


@dataclass(frozen=True)
class _Table:
    """A dense figure table over [seg, band 0..3, (day slot,) ...]: distinct households
    (``count``), audience, and whether the cell is hidden. Day slot 0 is the row averaged
    over the days, slot d + 1 the period's day d."""

    count: np.ndarray
    audience: np.ndarray
    hidden: np.ndarray


def _with_average(per_day: np.ndarray, any_day: np.ndarray, n_days: int) -> _Table:
    """Day rows and the averaged row (count: any-day households; audience: the day counts
    summed, over the number of days), with band "all" added first.

    Every band's average, band "all"'s included, is taken from its own exact integer day
    counts, times ``1 / n_days`` (as polars divides a column by a number), so the figures
    do not depend on the order in which three rounded band means would be added.
    """
    shape = list(per_day.shape)
    shape[2] += 1
    parts = np.empty(shape, dtype=np.int64)
    parts[:, :, 0] = any_day
    parts[:, :, 1:] = per_day
    count = add_all_band(parts)
    audience = count.astype(np.float64)
    audience[:, :, 0] = count[:, :, 1:].sum(axis=2) * (1.0 / n_days)
    return _Table(count, audience, np.zeros(count.shape, dtype=bool))


def _figures(counts: Counts, n_days: int) -> tuple[_Table, _Table, _Table]:
    """Reach [seg, band, day slot, ch, qod], tuned [seg, band, day slot, qod] and matched
    [seg, band] tables."""
    reach = _with_average(counts.reach_day, counts.reach_any, n_days)
    tuned = _with_average(counts.tuned_day, counts.tuned_any, n_days)
    matched_count = add_all_band(counts.matched)
    matched = _Table(
        matched_count, matched_count.astype(np.float64), np.zeros(matched_count.shape, bool)
    )
    return reach, tuned, matched


def _protect(
    table: _Table, partition: bool, config: MeasureConfig, n_days: int, has_days: bool
) -> _Table:
    hidden = table.count < config.k_min
    if not config.dp:
        n_segs = table.count.shape[0]
        margins = [(1, np.arange(len(BANDS)))]
        if partition:
            margins.append((0, np.arange(n_segs)))
        days = None
        if has_days:
            days = (2, np.arange(table.count.shape[2]) > 0)
        hidden = suppress(table.count, hidden, margins, days, config.k_min, n_days)
    return replace(table, hidden=hidden)


def measure(
    households: pl.DataFrame,
    members: pl.DataFrame,
    labels: list[str],
    viewing: pl.LazyFrame,
    config: MeasureConfig | None = None,
) -> MeasureResult:
    """Quarter-hour audiences per segment, band and channel, with output privacy.

    ``households`` (household: Binary, boxes: List[String]) and ``members`` (household:
    Binary, segments: UInt64, bit i meaning ``labels[i]``) are the unsealed matcher output;
    ``viewing`` (box_id, channel, start, end) is the tune-event log, lazily read.
    """
    config = config or MeasureConfig()
    _check_labels(labels)
    credited, index = credit_quarter_hours(viewing, households, config)
    bits, member_counts = household_bits(index, members, labels)
    quality = {**credited.quality, **member_counts}
    if config.dp:
        bounded, cut = bound_channels(credited.tuned, config.dp_max_channels)
        credited = replace(credited, tuned=bounded)
        quality["dp_channel_credits_cut"] = cut
    quarter_hours = household_quarter_hours(credited, bits.size)
    profile = profiles(bits, quarter_hours, credited.n_days, len(labels), config)
    counts = count_cells(credited, profile, len(labels))
    epsilon = delta = scale = 0.0
    if config.dp:
        sensitivity = l2_sensitivity_squared(
            len(labels), credited.n_days, len(credited.channels), config.dp_max_channels
        )
        counts, (epsilon, delta, scale) = noisy_counts(
            counts, sensitivity, config.dp_epsilon, config.dp_delta
        )
    reach, tuned, matched = _figures(counts, credited.n_days)
    partition, n_days = counts.segments_partition, credited.n_days
    reach = _protect(reach, partition, config, n_days, has_days=True)
    tuned = _protect(tuned, partition, config, n_days, has_days=True)
    matched = _protect(matched, partition, config, n_days, has_days=False)
    viewership = _publish(reach, tuned, matched, credited, labels)
    summary = _summary(matched, labels)
    return MeasureResult(
        viewership=viewership,
        summary=summary,
        quality=quality,
        epsilon=epsilon,
        delta=delta,
        noise_scale=scale,
        first_day=credited.first_day,
        n_days=credited.n_days,
    )


def _names(labels: list[str]) -> tuple[pl.Expr, pl.Expr]:
    segment = pl.col("seg").replace_strict(
        list(range(len(labels) + 1)), ["all", *labels], return_dtype=pl.String
    )
    band = pl.col("band").replace_strict(
        list(range(len(BANDS))), list(BANDS), return_dtype=pl.String
    )
    return segment.alias("segment"), band.alias("band")


def _grid_codes(shape: tuple[int, ...]) -> list[np.ndarray]:
    """The code of every axis for each cell of a C-ordered array of ``shape``."""
    return [
        np.broadcast_to(
            np.arange(size, dtype=np.int32).reshape(
                [-1 if i == axis else 1 for i in range(len(shape))]
            ),
            shape,
        ).ravel()
        for axis, size in enumerate(shape)
    ]


def _publish(
    reach: _Table,
    tuned: _Table,
    matched: _Table,
    credited: Credited,
    labels: list[str],
) -> pl.DataFrame:
    """One row per cell, in (segment, band, day (averaged first), channel, quarter-hour)
    order: the order of the reach array."""
    shape = reach.count.shape
    seg, band, slot, ch, qod = _grid_codes(shape)
    table = pl.DataFrame(
        {
            "seg": seg,
            "band": band,
            "slot": slot,
            "ch": ch,
            "qod": qod,
            "count": reach.count.ravel(),
            "audience": reach.audience.ravel(),
            "suppressed": reach.hidden.ravel(),
            "tuned": np.broadcast_to(tuned.audience[:, :, :, None, :], shape).ravel(),
            "tuned_hidden": np.broadcast_to(tuned.hidden[:, :, :, None, :], shape).ravel(),
            "matched": np.broadcast_to(matched.count[:, :, None, None, None], shape).ravel(),
            "matched_hidden": np.broadcast_to(
                matched.hidden[:, :, None, None, None], shape
            ).ravel(),
        }
    )
    shown = ~pl.col("suppressed")
    segment, band_name = _names(labels)
    first = pl.lit(credited.first_day, dtype=pl.Date)
    day = (
        pl.when(pl.col("slot") > 0)
        .then(first + pl.duration(days=pl.col("slot") - 1))
        .cast(pl.Date)
        .alias("day")
    )
    channel = pl.col("ch").replace_strict(
        list(range(len(credited.channels))), list(credited.channels), return_dtype=pl.String
    )
    rating_ok = shown & ~pl.col("matched_hidden") & (pl.col("matched") > 0)
    share_ok = shown & ~pl.col("tuned_hidden") & (pl.col("tuned") > 0)
    out = table.select(
        segment,
        band_name,
        day,
        channel.alias("channel"),
        pl.col("qod").cast(pl.Int16).alias("quarter_hour"),
        pl.when(shown).then(pl.col("count").cast(pl.Float64)).alias("reach"),
        pl.when(shown).then(pl.col("audience")).alias("audience"),
        pl.when(rating_ok)
        .then((pl.col("audience") / pl.col("matched")).clip(0.0, 1.0))
        .alias("rating"),
        pl.when(share_ok)
        .then((pl.col("audience") / pl.col("tuned")).clip(0.0, 1.0))
        .alias("share"),
        "suppressed",
    )
    return out.cast(VIEWERSHIP)  # type: ignore[arg-type]


def _summary(matched: _Table, labels: list[str]) -> pl.DataFrame:
    seg, band = _grid_codes(matched.count.shape)
    segment, band_name = _names(labels)
    return (
        pl.DataFrame(
            {
                "seg": seg,
                "band": band,
                "count": matched.count.ravel(),
                "suppressed": matched.hidden.ravel(),
            }
        )
        .select(
            segment,
            band_name,
            pl.when(~pl.col("suppressed"))
            .then(pl.col("count").cast(pl.Float64))
            .alias("households"),
            "suppressed",
        )
        .cast(SEGMENT_SUMMARY)  # type: ignore[arg-type]
    )
