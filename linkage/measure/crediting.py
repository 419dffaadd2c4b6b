"""Quarter-hour crediting: from raw tune events to "household tuned to channel in quarter-hour".

Every tune event is checked, and an event that cannot be used is counted under one reason
(the first that applies, in the order of ``EXCLUSION_REASONS``) and left out of credit:
never dropped silently. The usable events of a box are put in time order; where one starts
before the previous one ended, the box switched: the earlier event is cut at the later
one's start (``overlap_trimmed``), and an event left with no time at all is
``overlap_superseded``. Events are then cropped to the measurement period, split at every
quarter-hour boundary (so also at midnight), and their minutes summed per box, quarter-hour
and channel. A box is credited to the channel it watched longest in a quarter-hour when
that is at least ``credit_minutes``; on a tie the channel that sorts first wins. A household
is tuned to a channel in a quarter-hour when any of its boxes is credited there.

Timestamps are wall-clock local time. Naive datetimes are taken as they are; zoned ones are
read as the local time of their zone; text (CSV) is parsed, and what does not parse is a
``bad_timestamp``. All arithmetic is on integer microseconds, so it is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from hashing.errors import InputError
from linkage.measure.config import MeasureConfig

MINUTE_US = 60 * 1_000_000
QUARTER_HOUR_US = 15 * MINUTE_US
DAY_US = 24 * 60 * MINUTE_US
QUARTER_HOURS_PER_DAY = 96
EPOCH = date(1970, 1, 1)

#: Why an event was left out of credit, in the order the checks apply.
EXCLUSION_REASONS: tuple[str, ...] = (
    "null_field",  # box_id, channel, start or end is missing
    "bad_timestamp",  # start or end is text that is not a date-time
    "non_positive_duration",  # end <= start
    "unknown_channel",  # not one of the declared channels
    "box_not_matched",  # the box is in no matched household
    "box_in_several_households",  # the box is listed by more than one household
    "overlap_superseded",  # a later tune on the same box starts when this one does
    "outside_period",  # no time inside the measurement period
)
#: Events that were used, but not as they came.
ADJUSTMENT_REASONS: tuple[str, ...] = (
    "overlap_trimmed",  # cut at the start of the box's next tune event
    "cropped_to_period",  # partly outside the measurement period
)

VIEWING_COLUMNS = ("box_id", "channel", "start", "end")


@dataclass(frozen=True)
class Credited:
    """What crediting hands to the metrics: household tuning, and what it is measured over.

    ``tuned``: one row per (hh, qh, ch): household index, quarter-hour counted from the first
    day of the period (0 = its first quarter-hour), channel index into ``channels``.
    """

    tuned: pl.DataFrame
    channels: tuple[str, ...]
    first_day: date
    n_days: int
    quality: dict[str, int]


def box_map(households: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Index the matched households and their boxes.

    Returns ``(household_index, boxes, counts)``: ``household_index`` is (household, hh)
    with hh a dense UInt32 index; ``boxes`` is (box_id, box, hh) with box a dense UInt32
    index and hh null for a box that more than one household lists.
    """
    missing = {"household", "boxes"} - set(households.columns)
    if missing:
        raise InputError(f"households frame lacks column(s) {sorted(missing)}")
    index = (
        households.select("household")
        .filter(pl.col("household").is_not_null())
        .unique(maintain_order=True)
        .with_row_index("hh")
    )
    pairs = (
        households.select("household", "boxes")
        .explode("boxes")
        .filter(pl.col("boxes").is_not_null() & pl.col("household").is_not_null())
        .rename({"boxes": "box_id"})
        .unique()
        .join(index, on="household")
    )
    boxes = (
        pairs.group_by("box_id")
        .agg(pl.col("hh").first(), pl.len().alias("n"))
        .sort("box_id")
        .with_columns(
            pl.when(pl.col("n") == 1).then(pl.col("hh")).alias("hh"),
        )
        .with_row_index("box")
        .select("box_id", "box", "hh")
    )
    counts = {
        "households": index.height,
        "boxes": boxes.height,
        "boxes_in_several_households": int(boxes["hh"].null_count()),
        "households_without_boxes": index.height - int(pairs["household"].n_unique()),
    }
    return index, boxes, counts


def _timestamp(name: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(microseconds since the epoch in local wall time, "text that did not parse")."""
    col = pl.col(name)
    if dtype == pl.String:
        parsed = col.str.to_datetime(time_unit="us", strict=False)
        bad = col.is_not_null() & parsed.is_null()
    elif isinstance(dtype, pl.Datetime):
        parsed = col.dt.replace_time_zone(None) if dtype.time_zone is not None else col
        parsed = parsed.dt.cast_time_unit("us")
        bad = pl.lit(False)
    elif dtype == pl.Date:
        parsed = col.cast(pl.Datetime("us"))
        bad = pl.lit(False)
    else:
        raise InputError(f"viewing column '{name}' is {dtype}; expected a datetime or text")
    return parsed.dt.epoch("us"), bad


def _channels_of(viewing: pl.LazyFrame, config: MeasureConfig) -> tuple[str, ...]:
    if config.channels is not None:
        return config.channels
    seen = viewing.select(pl.col("channel").cast(pl.String).drop_nulls().unique()).collect()
    return tuple(sorted(seen["channel"].to_list()))


def _checked_events(
    viewing: pl.LazyFrame, boxes: pl.DataFrame, channels: tuple[str, ...]
) -> pl.DataFrame:
    """Every event with a reason code (null when usable) and integer columns only."""
    schema = viewing.collect_schema()
    missing = [c for c in VIEWING_COLUMNS if c not in schema]
    if missing:
        raise InputError(f"viewing log lacks column(s) {missing}; expected {list(VIEWING_COLUMNS)}")
    start, bad_start = _timestamp("start", schema["start"])
    end, bad_end = _timestamp("end", schema["end"])
    code = {reason: i for i, reason in enumerate(EXCLUSION_REASONS)}
    known = boxes.lazy().with_columns(pl.lit(True).alias("known"))
    events = (
        viewing.select(
            pl.col("box_id").cast(pl.String),
            pl.col("channel")
            .cast(pl.String)
            .replace_strict(channels, range(len(channels)), default=None, return_dtype=pl.UInt16)
            .alias("ch"),
            pl.col("channel").is_null().alias("channel_null"),
            start.alias("s"),
            end.alias("e"),
            (pl.col("start").is_null() | pl.col("end").is_null()).alias("time_null"),
            (bad_start | bad_end).alias("bad_time"),
        )
        .join(known, on="box_id", how="left")
        .select(
            pl.when(pl.col("box_id").is_null() | pl.col("channel_null") | pl.col("time_null"))
            .then(code["null_field"])
            .when(pl.col("bad_time"))
            .then(code["bad_timestamp"])
            .when(pl.col("e") <= pl.col("s"))
            .then(code["non_positive_duration"])
            .when(pl.col("ch").is_null())
            .then(code["unknown_channel"])
            .when(pl.col("known").is_null())
            .then(code["box_not_matched"])
            .when(pl.col("hh").is_null())
            .then(code["box_in_several_households"])
            .otherwise(None)
            .cast(pl.UInt8)
            .alias("reason"),
            "box",
            "hh",
            "ch",
            "s",
            "e",
        )
    )
    return events.collect(engine="streaming")


def _period(valid: pl.DataFrame, config: MeasureConfig) -> tuple[date, int]:
    """First day and number of days measured."""
    if config.period is not None:
        first, last = config.period
    elif valid.height == 0:
        first = last = EPOCH
    else:
        bounds = valid.select(pl.col("s").min(), (pl.col("e") - 1).max())
        first = EPOCH + timedelta(days=int(bounds["s"][0]) // DAY_US)
        last = EPOCH + timedelta(days=int(bounds["e"][0]) // DAY_US)
    return first, (last - first).days + 1


def credit_quarter_hours(
    viewing: pl.LazyFrame, households: pl.DataFrame, config: MeasureConfig
) -> tuple[Credited, pl.DataFrame]:
    """Credit boxes and households per quarter-hour. Returns (credited, household index)."""
    index, boxes, box_counts = box_map(households)
    channels = _channels_of(viewing, config)
    events = _checked_events(viewing, boxes, channels)

    quality: dict[str, int] = {"events_in": events.height}
    reasons = events.group_by("reason").len()
    by_code = dict(zip(reasons["reason"].to_list(), reasons["len"].to_list(), strict=True))
    for i, reason in enumerate(EXCLUSION_REASONS):
        quality[reason] = int(by_code.get(i, 0))

    valid = events.filter(pl.col("reason").is_null()).drop("reason")
    del events
    # A box tunes one channel at a time: order its events and cut each at the next start.
    valid = _box_time_order(valid)
    same_box = pl.col("box").shift(-1) == pl.col("box")
    next_start = pl.col("s").shift(-1)
    valid = valid.with_columns(
        pl.when(same_box & (next_start < pl.col("e")))
        .then(next_start)
        .otherwise(pl.col("e"))
        .alias("cut")
    )
    superseded = pl.col("cut") <= pl.col("s")
    overlap = valid.select(
        superseded.sum().alias("superseded"),
        ((pl.col("cut") < pl.col("e")) & ~superseded).sum().alias("trimmed"),
    )
    quality["overlap_superseded"] = int(overlap["superseded"][0])
    quality["overlap_trimmed"] = int(overlap["trimmed"][0])
    valid = valid.filter(~superseded).select("hh", "box", "ch", "s", pl.col("cut").alias("e"))

    first_day, n_days = _period(valid, config)
    lo = (first_day - EPOCH).days * DAY_US
    hi = lo + n_days * DAY_US
    cropped = valid.select(
        pl.col("s").clip(lower_bound=lo).alias("s0"),
        pl.col("e").clip(upper_bound=hi).alias("e0"),
        "s",
        "e",
        "hh",
        "box",
        "ch",
    )
    outside = pl.col("e0") <= pl.col("s0")
    crop_counts = cropped.select(
        outside.sum().alias("outside"),
        (~outside & ((pl.col("s0") != pl.col("s")) | (pl.col("e0") != pl.col("e"))))
        .sum()
        .alias("cropped"),
    )
    quality["outside_period"] = int(crop_counts["outside"][0])
    quality["cropped_to_period"] = int(crop_counts["cropped"][0])
    quality["events_credited"] = quality["events_in"] - sum(quality[r] for r in EXCLUSION_REASONS)
    quality.update(box_counts)
    # still in box, start order
    spans = cropped.filter(~outside).select(
        "hh", "box", "ch", (pl.col("s0") - lo).alias("s"), (pl.col("e0") - lo).alias("e")
    )
    del valid, cropped

    tuned = credit_spans(
        spans.lazy(), config.credit_minutes, n_days * QUARTER_HOURS_PER_DAY
    ).collect()
    credited = Credited(
        tuned=tuned, channels=channels, first_day=first_day, n_days=n_days, quality=quality
    )
    return credited, index


def _box_time_order(valid: pl.DataFrame) -> pl.DataFrame:
    """Sort events by box, then start.

    One Int64 key (box, start in milliseconds) sorts about twice as fast as two columns;
    events of one box that start in the same millisecond keep their order in the log. When
    the log is too long or has too many boxes for the key, sort on the columns.
    """
    if valid.height == 0:
        return valid
    first, last = valid["s"].min(), valid["s"].max()
    assert isinstance(first, int) and isinstance(last, int)
    boxes = int(valid["box"].max()) + 1  # type: ignore[arg-type]
    span_ms = (last - first) // 1000 + 1
    if span_ms < 1 << 32 and boxes < 1 << 31:
        key = pl.col("box").cast(pl.Int64) * (1 << 32) + (pl.col("s") - first) // 1000
        return valid.sort(key, maintain_order=True)
    return valid.sort("box", "s", maintain_order=True)


def credit_spans(spans: pl.LazyFrame, credit_minutes: float, n_quarter_hours: int) -> pl.LazyFrame:
    """From non-overlapping spans (hh, box, ch, s, e), in microseconds since the period
    start and sorted by box then start, to the unique (hh, qh, ch) a household is tuned to.

    Each span is split at quarter-hour boundaries; minutes are summed per (box, qh, ch);
    the box's longest channel is credited when it reaches ``credit_minutes``. The winner is
    found with one integer max: ``watched * 65536 + (65535 - ch)`` puts the longest first
    and, among equals, the lowest channel index (the channel that sorts first).

    ``n_quarter_hours`` bounds ``qh`` (it packs (box, qh) into one integer key).
    Most (box, quarter-hour) pairs hold one piece of one event: those are credited straight
    from the sorted pieces; only pairs with several pieces go through the hash group-bys.
    """
    credit_us = round(credit_minutes * MINUTE_US)
    q = pl.col("qh").cast(pl.Int64)
    box_qh = pl.col("box").cast(pl.Int64) * n_quarter_hours + q
    pieces = (
        spans.with_columns(
            pl.int_ranges(
                pl.col("s") // QUARTER_HOUR_US,
                (pl.col("e") - 1) // QUARTER_HOUR_US + 1,
                dtype=pl.Int32,
            ).alias("qh")
        )
        .explode("qh")
        .select(
            "hh",
            box_qh.alias("bq"),
            "ch",
            "qh",
            (
                pl.min_horizontal(pl.col("e"), (q + 1) * QUARTER_HOUR_US)
                - pl.max_horizontal(pl.col("s"), q * QUARTER_HOUR_US)
            ).alias("us"),
        )
        .with_columns(
            (
                (pl.col("bq") != pl.col("bq").shift(1)).fill_null(True)
                & (pl.col("bq") != pl.col("bq").shift(-1)).fill_null(True)
            ).alias("alone")
        )
    )
    alone = pieces.filter(pl.col("alone") & (pl.col("us") >= credit_us)).select("hh", "qh", "ch")
    shared = pieces.filter(~pl.col("alone"))
    per_channel = shared.group_by(
        (pl.col("bq") * 65536 + pl.col("ch").cast(pl.Int64)).alias("bqc")
    ).agg(
        pl.col("bq").first(),
        pl.col("hh").first(),
        pl.col("qh").first(),
        pl.col("ch").first(),
        pl.col("us").sum(),
    )
    best = per_channel.group_by("bq").agg(
        pl.col("hh").first(),
        pl.col("qh").first(),
        (pl.col("us") * 65536 + (65535 - pl.col("ch").cast(pl.Int64))).max().alias("key"),
    )
    won = best.filter(pl.col("key") // 65536 >= credit_us).select(
        "hh", "qh", (65535 - pl.col("key") % 65536).cast(pl.UInt16).alias("ch")
    )
    return pl.concat([alone, won]).unique()
