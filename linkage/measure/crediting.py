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

How it scales: the log is read once, in a streaming query that keeps the box ID, a
channel index and integer microseconds; box IDs are then looked up once per run of equal
IDs rather than once per event. The usable events are put in (box, start) order with one
sort, skipped when each box's events already come together and in order (as operators
export them), and credited in slices of whole boxes with integer arithmetic on NumPy
arrays: an event's fully covered quarter-hours are credited straight away, and only its
first and last pieces, which it may share with the box's neighbouring events, are
compared. Each credit is one packed integer (household, quarter-hour, channel); one sort
of those gives the distinct household credits, in household order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import TypeVar

import numpy as np
import polars as pl

from hashing.errors import InputError
from linkage.measure.config import MeasureConfig

MINUTE_US = 60 * 1_000_000
QUARTER_HOUR_US = 15 * MINUTE_US
DAY_US = 24 * 60 * MINUTE_US
QUARTER_HOURS_PER_DAY = 96
EPOCH = date(1970, 1, 1)
#: Events credited per slice: bounds the working arrays (about 100 bytes an event).
SLICE_EVENTS = 1 << 20
#: The reason code of a usable event, in the working arrays.
USABLE = 255
#: Bits a packed integer key may use.
KEY_BITS = 62

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

T = TypeVar("T")
R = TypeVar("R")


#: The most threads the NumPy stages use: each holds one slice's working arrays.
MAX_THREADS = 8


def threads() -> int:
    """Threads for the NumPy stages: as many as polars uses, up to ``MAX_THREADS``."""
    return max(1, min(MAX_THREADS, pl.thread_pool_size()))


def in_threads(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[work(item) for item in items]``, on ``threads()`` threads: NumPy releases the GIL
    in the array operations that the work consists of."""
    n_threads = min(len(items), threads())
    if n_threads <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return list(pool.map(work, items))


@dataclass(frozen=True)
class Credited:
    """What crediting hands to the metrics: household tuning, and what it is measured over.

    ``tuned``: one row per distinct (hh, qh, ch), sorted by them: household index (UInt32),
    quarter-hour counted from the first day of the period (Int32, 0 = its first
    quarter-hour), channel index into ``channels`` (UInt16).
    """

    tuned: pl.DataFrame
    channels: tuple[str, ...]
    first_day: date
    n_days: int
    quality: dict[str, int]


@dataclass(frozen=True)
class Packing:
    """One Int64 key per (household, quarter-hour of the period, channel), as bit fields:
    ``hh << (qh_bits + ch_bits) | qh << ch_bits | ch``. Keys sort like the triples, and
    unpack with shifts and masks (integer division is several times slower)."""

    qh_bits: int
    ch_bits: int

    @classmethod
    def of(cls, n_households: int, n_qh: int, n_ch: int) -> Packing:
        packing = cls(_bits(n_qh), _bits(n_ch))
        # box runs of a slice take the household's place while shared pieces are summed
        widest = max(n_households, SLICE_EVENTS)
        if _bits(widest) + packing.qh_bits + packing.ch_bits > KEY_BITS:
            raise InputError(
                f"{n_households:,} households over {n_qh // QUARTER_HOURS_PER_DAY:,} days and "
                f"{n_ch:,} channels are too many cells to count; measure a shorter period or "
                "fewer channels"
            )
        return packing

    def pack(self, hh: np.ndarray, qh: np.ndarray, ch: np.ndarray) -> np.ndarray:
        return (hh << (self.qh_bits + self.ch_bits)) | (qh << self.ch_bits) | ch

    def unpack(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hh = key >> (self.qh_bits + self.ch_bits)
        qh = (key >> self.ch_bits) & ((1 << self.qh_bits) - 1)
        return hh, qh, key & ((1 << self.ch_bits) - 1)


def _bits(n: int) -> int:
    """Bits for the values 0 .. n - 1 (at least one)."""
    return max(1, (n - 1).bit_length())


def box_map(households: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Index the matched households and their boxes.

    Returns ``(household_index, boxes, counts)``: ``household_index`` is (household, hh)
    with hh a dense UInt32 index in order of first appearance; ``boxes`` is (box_id, box,
    hh) with box a dense UInt32 index (in order of first appearance: crediting needs a
    box's events together, not the boxes in any order) and hh null for a box that more
    than one household lists.
    """
    missing = {"household", "boxes"} - set(households.columns)
    if missing:
        raise InputError(f"households frame lacks column(s) {sorted(missing)}")
    listed = households.select("household", "boxes").filter(pl.col("household").is_not_null())
    index = listed.select("household").unique(maintain_order=True).with_row_index("hh")
    if index.height == listed.height:  # one row per household, as the matcher writes it
        listed = listed.with_row_index("hh")
    else:
        listed = listed.join(index, on="household", maintain_order="left")
    pairs = (
        listed.select("hh", pl.col("boxes").alias("box_id"))
        .explode("box_id")
        .filter(pl.col("box_id").is_not_null())
    )
    boxes = (
        pairs.group_by("box_id", maintain_order=True)
        .agg(pl.col("hh").min().alias("lo"), pl.col("hh").max().alias("hi"))
        .with_row_index("box")
        .select(
            "box_id", "box", pl.when(pl.col("lo") == pl.col("hi")).then(pl.col("lo")).alias("hh")
        )
    )
    counts = {
        "households": index.height,
        "boxes": boxes.height,
        "boxes_in_several_households": int(boxes["hh"].null_count()),
        "households_without_boxes": index.height - int(pairs["hh"].n_unique()),
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
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Check every event. Returns (events counted per reason code, the usable events'
    box and channel indices, start and end in microseconds, as arrays in log order).

    The log is read in one streaming pass that keeps box IDs and integer columns only.
    Box IDs are then looked up once per run of equal IDs, not once per event: a log
    grouped by box, as operators export them, has a run per box.
    """
    schema = viewing.collect_schema()
    missing = [c for c in VIEWING_COLUMNS if c not in schema]
    if missing:
        raise InputError(f"viewing log lacks column(s) {missing}; expected {list(VIEWING_COLUMNS)}")
    start, bad_start = _timestamp("start", schema["start"])
    end, bad_end = _timestamp("end", schema["end"])
    code = {reason: i for i, reason in enumerate(EXCLUSION_REASONS)}
    columns = [
        pl.col("box_id").cast(pl.String),
        # An Enum cast streams (a replace_strict does not); unknown channels become null.
        pl.col("channel")
        .cast(pl.String)
        .cast(pl.Enum(channels), strict=False)
        .to_physical()
        .cast(pl.UInt16)
        .alias("ch"),
        pl.col("channel").is_null().alias("channel_null"),
        start.alias("s"),
        end.alias("e"),
    ]
    # Text timestamps: a null start or end is a missing field or text that did not parse.
    bad = {"start_bad": bad_start, "end_bad": bad_end}
    text = [name for name in bad if schema[name.removesuffix("_bad")] == pl.String]
    columns += [bad[name].alias(name) for name in text]
    events = viewing.select(columns).collect(engine="streaming")

    def missing_time(column: str) -> pl.Expr:
        null = pl.col(column).is_null()
        name = "start_bad" if column == "s" else "end_bad"
        return null & ~pl.col(name) if name in text else null

    bad_time = pl.any_horizontal([pl.col(name) for name in text]) if text else pl.lit(False)
    events = events.with_columns(
        pl.when(
            pl.col("box_id").is_null()
            | pl.col("channel_null")
            | missing_time("s")
            | missing_time("e")
        )
        .then(code["null_field"])
        .when(bad_time)
        .then(code["bad_timestamp"])
        .when(pl.col("e") <= pl.col("s"))
        .then(code["non_positive_duration"])
        .when(pl.col("ch").is_null())
        .then(code["unknown_channel"])
        .cast(pl.UInt8)
        .alias("reason")
    ).drop("channel_null", *text)

    box_id = events.get_column("box_id")
    events = events.drop("box_id")
    head = np.ones(box_id.len(), dtype=bool)  # where a run of equal box IDs starts
    if head.size > 1:  # (slices, not a shifted copy of every ID)
        head[1:] = box_id.slice(1).ne_missing(box_id.slice(0, head.size - 1)).to_numpy()
    first_ids = box_id.filter(pl.Series(head)).to_frame()
    del box_id
    known = boxes.select("box_id", "box", pl.col("hh").is_not_null().alias("alone"))
    runs = first_ids.join(known, on="box_id", how="left", maintain_order="left")
    del first_ids
    starts = np.flatnonzero(head)
    del head
    length = np.diff(starts, append=events.height)
    box = np.repeat(runs["box"].fill_null(-1).cast(pl.Int32).to_numpy(), length)
    alone = np.repeat(runs["alone"].fill_null(False).to_numpy(), length)
    del runs, starts, length

    reason = _take(events, "reason", fill=USABLE, writable=True)
    usable = reason == USABLE
    reason[usable & (box < 0)] = code["box_not_matched"]
    reason[usable & (box >= 0) & ~alone] = code["box_in_several_households"]
    del alone
    tally = np.bincount(reason, minlength=USABLE + 1)[: len(EXCLUSION_REASONS)]
    usable = reason == USABLE
    every = bool(usable.all())
    del reason
    arrays = [box if every else box[usable]]
    del box
    for name in ("ch", "s", "e"):
        column = _take(events, name)
        arrays.append(column if every else column[usable])
        del column
    return tally, arrays


def _take(frame: pl.DataFrame, name: str, fill: int = 0, writable: bool = False) -> np.ndarray:
    """A column as an array, dropping it from the frame (so the frame's copy is freed);
    nulls (in events left out) become ``fill``."""
    column = frame.get_column(name)
    frame.drop_in_place(name)
    if column.has_nulls():
        column = column.fill_null(fill)
    return column.to_numpy(writable=writable)


def _box_time_order(
    box: np.ndarray, ch: np.ndarray, s: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The events with each box's events together and in time order.

    Events of a box are ordered by start in milliseconds (ties keep their order in the
    log), on one Int64 key (box, start in milliseconds), which sorts about twice as fast
    as two columns; when the log is too long or has too many boxes for the key, on the
    columns. A log that already has each box's events together and in that order (as
    operators export them) is not sorted: checking costs one pass, sorting a copy of every
    column.
    """
    if box.size < 2:
        return box, ch, s, e
    first, last = int(s.min()), int(s.max())
    span_ms = (last - first) // 1000 + 1
    if span_ms < 1 << 32 and int(box.max()) < (1 << 31) - 1:
        if _grouped(box, s, first):
            return box, ch, s, e
        key = pl.col("box").cast(pl.Int64) * (1 << 32) + (pl.col("s") - first) // 1000
        by: list[pl.Expr] = [key]
    elif _grouped(box, s, None):
        return box, ch, s, e
    else:
        by = [pl.col("box"), pl.col("s")]
    frame = pl.DataFrame({"box": box, "ch": ch, "s": s, "e": e})
    del box, ch, s, e
    frame = frame.sort(by, maintain_order=True)
    return tuple(_take(frame, name) for name in ("box", "ch", "s", "e"))


def _grouped(box: np.ndarray, s: np.ndarray, first: int | None) -> bool:
    """Whether each box's events come in one run, ordered by start in milliseconds from
    ``first`` (ties in log order), or by start itself when ``first`` is None."""
    runs = np.zeros(int(box.max()) + 1, dtype=np.int64)
    step = SLICE_EVENTS
    for lo in range(0, box.size - 1, step):
        part = slice(lo, min(box.size, lo + step + 1))
        b, t = box[part], s[part]
        if first is not None:
            t = (t - first) // 1000
        same = b[1:] == b[:-1]
        if not np.all(~same | (t[1:] >= t[:-1])):
            return False
        runs += np.bincount(b[1:][~same], minlength=runs.size)
    runs[box[0]] += 1
    return bool(runs.max() <= 1)


def _cut_at_next(box: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """End of each event once cut at the start of the box's next event (a box tunes one
    channel at a time); events in box, start order, boxes whole."""
    cut = e.copy()
    if box.size > 1:
        cut[:-1] = np.where((box[1:] == box[:-1]) & (s[1:] < e[:-1]), s[1:], e[:-1])
    return cut


def _period(
    box: np.ndarray, s: np.ndarray, e: np.ndarray, parts: list[slice], config: MeasureConfig
) -> tuple[date, int]:
    """First day and number of days measured: the configured period, else from the first
    start to the last end of the events left once overlaps are cut."""
    if config.period is not None:
        first, last = config.period
        return first, (last - first).days + 1
    lo, hi = None, None
    for part in parts:
        cut = _cut_at_next(box[part], s[part], e[part])
        kept = cut > s[part]
        if kept.any():
            start, end = int(s[part][kept].min()), int(cut[kept].max())
            lo = start if lo is None else min(lo, start)
            hi = end if hi is None else max(hi, end)
    if lo is None or hi is None:
        return EPOCH, 1
    first = EPOCH + timedelta(days=lo // DAY_US)
    last = EPOCH + timedelta(days=(hi - 1) // DAY_US)
    return first, (last - first).days + 1


def _slices(box: np.ndarray, size: int) -> Iterator[slice]:
    """Consecutive slices of about ``size`` events that never split a box (each box's
    events are together)."""
    n = box.size
    lo = 0
    while lo < n:
        hi = min(n, lo + size)
        while hi < n:  # move on to where the next box starts
            window = box[hi : hi + 4096] != box[hi - 1]
            if window.any():
                hi += int(window.argmax())
                break
            hi += window.size
        yield slice(lo, hi)
        lo = hi


def credit_quarter_hours(
    viewing: pl.LazyFrame, households: pl.DataFrame, config: MeasureConfig
) -> tuple[Credited, pl.DataFrame]:
    """Credit boxes and households per quarter-hour. Returns (credited, household index)."""
    index, boxes, box_counts = box_map(households)
    channels = _channels_of(viewing, config)
    tally, events = _checked_events(viewing, boxes, channels)
    quality: dict[str, int] = {"events_in": int(tally.sum()) + events[0].size}
    for i, reason in enumerate(EXCLUSION_REASONS):
        quality[reason] = int(tally[i])
    box, ch, s, e = _box_time_order(*events)
    del events
    parts = list(_slices(box, SLICE_EVENTS))

    first_day, n_days = _period(box, s, e, parts, config)
    n_qh = n_days * QUARTER_HOURS_PER_DAY
    packing = Packing.of(index.height, n_qh, len(channels))
    box_hh = boxes["hh"].fill_null(0).to_numpy().astype(np.int64)
    lo = (first_day - EPOCH).days * DAY_US
    hi = lo + n_days * DAY_US
    credit_us = round(config.credit_minutes * MINUTE_US)

    work = partial(_credit_slice, (box, ch, s, e), box_hh, (lo, hi), credit_us, packing)
    credited_slices = in_threads(work, parts)
    del work, box, ch, s, e
    keys = [k for k, _ in credited_slices]
    for name in ("overlap_superseded", "overlap_trimmed", "outside_period", "cropped_to_period"):
        quality[name] = sum(counted[name] for _, counted in credited_slices)
    del credited_slices
    quality["events_credited"] = quality["events_in"] - sum(quality[r] for r in EXCLUSION_REASONS)
    quality.update(box_counts)

    tuned = _distinct_tuned(keys, packing, index.height)
    credited = Credited(
        tuned=tuned, channels=channels, first_day=first_day, n_days=n_days, quality=quality
    )
    return credited, index


def _credit_slice(
    events: tuple[np.ndarray, ...],
    box_hh: np.ndarray,
    period: tuple[int, int],
    credit_us: int,
    packing: Packing,
    part: slice,
) -> tuple[np.ndarray, dict[str, int]]:
    """Cut, crop and credit one slice of whole boxes: (packed credits, adjustment counts)."""
    box, ch, s, e = (column[part] for column in events)
    lo, hi = period
    cut = _cut_at_next(box, s, e)
    superseded = cut <= s
    s0 = np.maximum(s, lo)
    e0 = np.minimum(cut, hi)
    outside = (e0 <= s0) & ~superseded
    used = ~(superseded | outside)
    counted = {
        "overlap_superseded": int(np.count_nonzero(superseded)),
        "overlap_trimmed": int(np.count_nonzero((cut < e) & ~superseded)),
        "outside_period": int(np.count_nonzero(outside)),
        "cropped_to_period": int(np.count_nonzero(used & ((s0 != s) | (e0 != cut)))),
    }
    if not used.all():
        box, ch, s0, e0 = box[used], ch[used], s0[used], e0[used]
    keys = credit_spans(box_hh[box], box, ch.astype(np.int64), s0 - lo, e0 - lo, credit_us, packing)
    return keys, counted


def credit_spans(
    hh: np.ndarray,
    box: np.ndarray,
    ch: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    credit_us: int,
    packing: Packing,
) -> np.ndarray:
    """Credit non-overlapping spans (hh, box, ch, s, e) of whole boxes, in microseconds
    since the period start, each box's spans together and by start, with s < e. Returns
    one packed key (``packing``) per box credit (a household may appear more than once).

    A span's quarter-hours strictly between its first and last are wholly its own, so they
    are credited to it at once (15 minutes is never under ``credit_minutes``). Its first and
    last pieces may share their quarter-hour with the box's neighbouring spans: a piece
    alone in its (box, quarter-hour) is credited if it is long enough; shared ones are
    summed per channel, and the longest channel wins when long enough. The winner is found
    with one integer max over ``watched << ch_bits | (max_ch - ch)``, which puts the longest
    first and, among equals, the lowest channel index (the channel that sorts first).
    """
    n = s.size
    if n == 0:
        return np.empty(0, dtype=np.int64)
    quarter = QUARTER_HOUR_US
    first = s // quarter  # quarter-hour of the span's first piece
    last = (e - 1) // quarter  # ... and of its last one (the same for a one-piece span)
    found: list[np.ndarray] = []

    inner = np.maximum(last - first - 1, 0)
    n_inner = int(inner.sum())
    if n_inner:
        owner = np.repeat(np.arange(n), inner)
        step = np.arange(n_inner) - np.repeat(np.cumsum(inner) - inner, inner)
        found.append(packing.pack(hh[owner], first[owner] + 1 + step, ch[owner]))
        del owner, step
    del inner

    # A span's last piece shares its quarter-hour with the next span's first piece when
    # both are the box's and that quarter-hour is the same; one-piece spans can chain.
    same_box = box[1:] == box[:-1]
    linked = np.zeros(n + 1, dtype=bool)  # linked[i + 1]: span i's last piece, i + 1's first
    linked[1:-1] = same_box & (first[1:] == last[:-1])
    after, before = linked[1:], linked[:-1]
    two = last > first
    first_shared = before | (~two & after)
    last_shared = two & after
    first_watched = np.minimum(e, (first + 1) * quarter) - s
    last_watched = e - last * quarter
    won = ~first_shared & (first_watched >= credit_us)
    found.append(packing.pack(hh[won], first[won], ch[won]))
    won = two & ~after & (last_watched >= credit_us)
    found.append(packing.pack(hh[won], last[won], ch[won]))
    del won, after, before, linked

    pieces = first_shared.astype(np.int64) + last_shared
    if pieces.any():
        # The shared pieces in span order (first, then last piece): those of one (box run,
        # quarter-hour) are together. Sum each channel there, then take the best channel.
        of = np.repeat(np.arange(n), pieces)
        second = np.arange(of.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        is_last = (second == 1) | ~first_shared[of]
        q = np.where(is_last, last[of], first[of])
        watched = np.where(is_last, last_watched[of], first_watched[of])
        run = np.zeros(n, dtype=np.int64)
        np.cumsum(~same_box, out=run[1:])
        key = packing.pack(run[of], q, ch[of])
        del second, is_last, q
        order = np.argsort(key, kind="stable")
        key, watched = key[order], watched[order]
        del order
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        total = np.add.reduceat(watched, starts)
        key = key[starts]
        top = (1 << packing.ch_bits) - 1
        score = (total << packing.ch_bits) | (top - (key & top))
        run_q = key >> packing.ch_bits
        starts = np.flatnonzero(np.concatenate(([True], run_q[1:] != run_q[:-1])))
        best = np.maximum.reduceat(score, starts)
        key = key[starts]
        good = best >> packing.ch_bits >= credit_us
        key, best = key[good], best[good]
        which_run, q, _ = packing.unpack(key)
        household = hh[np.searchsorted(run, which_run)]
        found.append(packing.pack(household, q, top - (best & top)))
    return np.concatenate(found)


def _distinct_tuned(keys: list[np.ndarray], packing: Packing, n_households: int) -> pl.DataFrame:
    """The distinct (hh, qh, ch) of the packed keys, sorted.

    Keys are dealt by household range into one bucket per thread; each bucket is sorted
    and deduplicated on its own, and the buckets follow one another in household order.
    """
    n_buckets = max(1, min(threads(), n_households))
    width = -(-max(1, n_households) // n_buckets)
    shift = packing.qh_bits + packing.ch_bits
    bounds = [(i * width) << shift for i in range(1, n_buckets)]

    def deal(part: np.ndarray) -> list[np.ndarray]:
        if not bounds:
            return [part]
        bucket = np.searchsorted(np.array(bounds), part, side="right")
        return [part[bucket == i] for i in range(n_buckets)]

    dealt = in_threads(deal, keys)
    keys.clear()
    buckets = [[piece[i] for piece in dealt] for i in range(n_buckets)]
    del dealt

    def distinct(pieces: list[np.ndarray]) -> np.ndarray:
        packed = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int64)
        pieces.clear()
        packed.sort()
        return packed[_first_of_runs(packed)] if packed.size else packed

    packed = in_threads(distinct, buckets)
    ends = np.cumsum([bucket.size for bucket in packed])
    hh = np.empty(int(ends[-1]), dtype=np.uint32)
    qh = np.empty(hh.size, dtype=np.int32)
    ch = np.empty(hh.size, dtype=np.uint16)

    def unpack(i: int) -> None:
        # straight into the columns, a slice at a time: no Int64 copy of every column
        keys, start = packed[i], int(ends[i]) - packed[i].size
        for lo in range(0, keys.size, SLICE_EVENTS):
            out = slice(start + lo, start + min(keys.size, lo + SLICE_EVENTS))
            hh[out], qh[out], ch[out] = packing.unpack(keys[lo : lo + SLICE_EVENTS])
        packed[i] = keys[:0]

    in_threads(unpack, range(len(packed)))
    return pl.DataFrame({"hh": hh, "qh": qh, "ch": ch})


def _first_of_runs(key: np.ndarray) -> np.ndarray:
    """True where a sorted key differs from the one before (the first of each run)."""
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return first
