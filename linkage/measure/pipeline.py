"""``measure``: from unsealed households, members and a viewing log to the published
viewership and segment summary (aggregate cells only)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from hashing.errors import InputError
from linkage.measure.config import MeasureConfig
from linkage.measure.crediting import Credited, credit_quarter_hours
from linkage.measure.metrics import (
    AVERAGE_DAY,
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
from linkage.measure.privacy import complementary, noisy_counts, primary, with_all_band
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


def _figures(counts: Counts, n_days: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Reach and tuned tables with day rows and averaged rows, plus band "all"."""
    day_reach = counts.reach_day.with_columns(pl.col("count").cast(pl.Float64).alias("audience"))
    mean_reach = day_reach.group_by("seg", "band", "qod", "ch").agg(
        (pl.col("count").sum() / n_days).alias("audience")
    )
    avg_reach = counts.reach_any.join(mean_reach, on=["seg", "band", "qod", "ch"]).with_columns(
        pl.lit(AVERAGE_DAY, dtype=pl.Int32).alias("day")
    )
    reach = with_all_band(
        pl.concat([day_reach, avg_reach.select(day_reach.columns)]), ["count", "audience"]
    )
    day_tuned = counts.tuned_day.with_columns(pl.col("count").cast(pl.Float64).alias("audience"))
    mean_tuned = day_tuned.group_by("seg", "band", "qod").agg(
        (pl.col("count").sum() / n_days).alias("audience")
    )
    avg_tuned = counts.tuned_any.join(mean_tuned, on=["seg", "band", "qod"]).with_columns(
        pl.lit(AVERAGE_DAY, dtype=pl.Int32).alias("day")
    )
    tuned = with_all_band(
        pl.concat([day_tuned, avg_tuned.select(day_tuned.columns)]), ["count", "audience"]
    )
    matched = with_all_band(counts.matched, ["count"])
    return reach, tuned, matched


def _protect(
    table: pl.DataFrame, keys: list[str], margins: list[str], config: MeasureConfig, n_days: int
) -> pl.DataFrame:
    table = primary(table, config.k_min)
    if config.dp:
        return table
    return complementary(table, keys, margins, config.k_min, n_days)


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
    hq = household_quarter_hours(credited)
    profile = profiles(credited, bits, hq, config)
    counts = count_cells(credited, profile, hq, len(labels))
    epsilon = delta = scale = 0.0
    if config.dp:
        sensitivity = l2_sensitivity_squared(
            len(labels), credited.n_days, len(credited.channels), config.dp_max_channels
        )
        counts, (epsilon, delta, scale) = noisy_counts(
            counts, sensitivity, config.dp_epsilon, config.dp_delta
        )
    reach, tuned, matched = _figures(counts, credited.n_days)
    margins = ["band", "seg"] if counts.segments_partition else ["band"]
    n_days = credited.n_days
    reach = _protect(reach, ["seg", "band", "day", "qod", "ch"], margins, config, n_days)
    tuned = _protect(tuned, ["seg", "band", "day", "qod"], margins, config, n_days)
    matched = _protect(matched, ["seg", "band"], margins, config, n_days)
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


def _publish(
    reach: pl.DataFrame,
    tuned: pl.DataFrame,
    matched: pl.DataFrame,
    credited: Credited,
    labels: list[str],
) -> pl.DataFrame:
    shown = ~pl.col("suppressed")
    table = reach.join(
        tuned.select(
            "seg",
            "band",
            "day",
            "qod",
            pl.col("audience").alias("tuned"),
            pl.col("suppressed").alias("tuned_hidden"),
        ),
        on=["seg", "band", "day", "qod"],
    ).join(
        matched.select(
            "seg",
            "band",
            pl.col("count").alias("matched"),
            pl.col("suppressed").alias("matched_hidden"),
        ),
        on=["seg", "band"],
    )
    segment, band = _names(labels)
    first = pl.lit(credited.first_day, dtype=pl.Date)
    day = (
        pl.when(pl.col("day") != AVERAGE_DAY)
        .then(first + pl.duration(days=pl.col("day")))
        .cast(pl.Date)
        .alias("day")
    )
    channel = pl.col("ch").replace_strict(
        list(range(len(credited.channels))), list(credited.channels), return_dtype=pl.String
    )
    rating_ok = shown & ~pl.col("matched_hidden") & (pl.col("matched") > 0)
    share_ok = shown & ~pl.col("tuned_hidden") & (pl.col("tuned") > 0)
    out = table.sort("seg", "band", "day", "ch", "qod").select(
        segment,
        band,
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


def _summary(matched: pl.DataFrame, labels: list[str]) -> pl.DataFrame:
    segment, band = _names(labels)
    return (
        matched.sort("seg", "band")
        .select(
            segment,
            band,
            pl.when(~pl.col("suppressed"))
            .then(pl.col("count").cast(pl.Float64))
            .alias("households"),
            "suppressed",
        )
        .cast(SEGMENT_SUMMARY)  # type: ignore[arg-type]
    )
