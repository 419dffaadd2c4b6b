"""Set-top-box tune events: who watched which channel, and when.

Each subscribing household gets a daily viewing intensity (light viewers under two hours
a day, heavy ones six and more), split over its boxes. A box's day is a few viewing
sessions that start by a daypart curve (morning news, a prime-time peak, a quiet night)
and run as a chain of tune events: many short surfing hops, some programmes, now and
then a box left on for hours. Channels are drawn from preferences that depend on the
household (Spanish-language for Hispanic homes, news for seniors, kids' channels where
there are children, local news and sports for persuadable voters...) and the daypart.

Everything is vectorized over events; a box's events never overlap because each event
starts no earlier than the previous one ends (the queue recurrence is solved with a
running maximum, see :func:`_queue`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from samples import tables

#: First day of the viewing window (a Monday).
WINDOW_START = datetime(2026, 10, 5)
_EPOCH_SECONDS = int((WINDOW_START - datetime(1970, 1, 1)).total_seconds())
DAY = 86_400

#: Household traits that shape channel choice, as bits of a profile number.
HISPANIC, BLACK, SENIOR, KIDS, PERSUADABLE, GOTV, BASE = (1 << i for i in range(7))
_N_PROFILES = 1 << 7

#: Dayparts by hour of day: overnight, morning, daytime, early fringe, prime, late.
_DAYPART_OF_HOUR = np.array([0] * 6 + [1] * 3 + [2] * 7 + [3] * 4 + [4] * 3 + [5])
_N_DAYPARTS = 6

_BASE_GENRE = {
    "local": 1.6,
    "news": 1.0,
    "sports": 1.0,
    "entertainment": 1.3,
    "movies": 0.8,
    "kids": 0.3,
    "spanish": 0.03,
    "lifestyle": 0.6,
    "documentary": 0.5,
    "music": 0.2,
    "religious": 0.1,
    "shopping": 0.08,
}

_TRAIT_GENRE: dict[int, dict[str, float]] = {
    HISPANIC: {"spanish": 150.0, "local": 0.7, "news": 0.7},
    BLACK: {"entertainment": 1.3, "music": 1.6, "religious": 1.5, "news": 1.1},
    SENIOR: {
        "news": 2.2,
        "local": 1.6,
        "documentary": 1.4,
        "religious": 2.0,
        "shopping": 2.0,
        "kids": 0.3,
        "movies": 0.8,
        "music": 0.6,
    },
    KIDS: {"kids": 5.0, "movies": 1.2},
    PERSUADABLE: {"local": 1.8, "sports": 1.6},
    GOTV: {"entertainment": 1.3, "sports": 1.2, "music": 1.3, "news": 0.8},
    BASE: {"news": 1.5, "local": 1.2},
}

_DAYPART_GENRE: tuple[dict[str, float], ...] = (
    {"movies": 1.5, "shopping": 3.0, "religious": 2.0, "news": 1.2, "kids": 0.3, "local": 0.5},
    {"local": 2.5, "news": 1.8, "kids": 1.5, "movies": 0.4, "sports": 0.6},
    {"lifestyle": 1.5, "kids": 1.3, "shopping": 1.5, "news": 1.2, "entertainment": 1.1},
    {"local": 2.0, "kids": 1.5, "news": 1.3},
    {"entertainment": 1.6, "sports": 1.6, "movies": 1.3, "kids": 0.4, "local": 1.2},
    {"news": 1.5, "local": 1.3, "entertainment": 1.2, "kids": 0.3},
)

_WEEKEND_GENRE = {"sports": 1.8, "kids": 1.3, "movies": 1.2, "news": 0.8}

#: Relative chance that a viewing session starts in each hour, by household rhythm.
_RHYTHMS = np.array(
    [
        # standard
        [0.6, 0.35, 0.2, 0.12, 0.1, 0.2, 0.8, 1.4, 1.3, 0.9, 0.8, 0.8,
         0.9, 0.8, 0.8, 0.9, 1.1, 1.4, 1.8, 2.4, 3.2, 3.0, 2.2, 1.3],
        # senior: more daytime, earlier nights
        [0.4, 0.25, 0.15, 0.1, 0.15, 0.4, 1.2, 1.6, 1.5, 1.3, 1.2, 1.2,
         1.3, 1.2, 1.1, 1.1, 1.3, 1.6, 2.0, 2.4, 2.8, 2.4, 1.6, 0.8],
        # kids: before school and after school
        [0.5, 0.25, 0.15, 0.1, 0.1, 0.3, 1.2, 1.6, 1.0, 0.7, 0.7, 0.8,
         0.8, 0.8, 0.9, 1.3, 1.8, 2.0, 2.2, 2.6, 3.0, 2.6, 1.8, 1.0],
    ]
)  # fmt: skip
_WEEKEND_HOURS = np.array([1.0] * 9 + [1.6] * 8 + [1.0] * 7)

#: Tune-event length mixture: share, median seconds, log-sd, min and max seconds.
_DURATIONS = (
    (0.78, 35.0, 0.8, 5, 600),  # surfing
    (0.14, 240.0, 0.6, 60, 1_800),  # a segment
    (0.08, 1_500.0, 0.7, 600, 5 * 3_600),  # a programme, or a box left on
)
_MEAN_EVENT_SECONDS = sum(s * m * np.exp(v * v / 2) for s, m, v, _, _ in _DURATIONS)

#: Daily viewing of a household across its boxes (hours): log-normal.
_MEDIAN_HOURS, _SIGMA_HOURS = 3.5, 0.9

_TABLE_SIZE = 2048


@dataclass(frozen=True)
class Viewing:
    """Tune events, box by box in time order: the box (index into the box list), the
    channel (index into the lineup), and start and end in seconds from the window start."""

    box: np.ndarray
    channel: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def to_arrow(self, box_ids: pa.Array, channel_ids: pa.Array) -> pa.Table:
        """The events as ``box_id, channel, start, end`` (timestamps in microseconds)."""
        to_us = 1_000_000
        return pa.table(
            {
                "box_id": pc.take(box_ids, pa.array(self.box)),
                "channel": pc.take(channel_ids, pa.array(self.channel)),
                "start": pa.array((self.start + _EPOCH_SECONDS) * to_us).cast(pa.timestamp("us")),
                "end": pa.array((self.end + _EPOCH_SECONDS) * to_us).cast(pa.timestamp("us")),
            }
        )

    def write_parquet(self, path: Path, box_ids: pa.Array, channel_ids: pa.Array) -> None:
        """Write the events to ``path``: dictionary-encoded IDs, delta-encoded times."""
        pq.write_table(
            self.to_arrow(box_ids, channel_ids),
            path,
            compression="zstd",
            compression_level=19 if len(self.start) < 5_000_000 else 1,
            use_dictionary=["box_id", "channel"],
            column_encoding={"start": "DELTA_BINARY_PACKED", "end": "DELTA_BINARY_PACKED"},
        )


def profiles(households: pl.DataFrame, registered: pl.DataFrame) -> np.ndarray:
    """Each household's trait bits (``HISPANIC | SENIOR | ...``) as an int array."""
    eth = households["ethnicity"].to_numpy()
    bits = (
        np.where(eth == tables.HISPANIC, HISPANIC, 0)
        | np.where(eth == tables.BLACK, BLACK, 0)
        | np.where(households["senior"].to_numpy(), SENIOR, 0)
        | np.where(households["kids"].to_numpy(), KIDS, 0)
    )
    segs = registered.group_by("hh").agg(
        pl.col("persuadable").max(), pl.col("gotv").max(), pl.col("base").max()
    )
    hh = segs["hh"].to_numpy()
    bits[hh] |= np.where(segs["persuadable"].to_numpy() > 0, PERSUADABLE, 0)
    bits[hh] |= np.where(segs["gotv"].to_numpy() > 0, GOTV, 0)
    bits[hh] |= np.where(segs["base"].to_numpy() > 0, BASE, 0)
    return bits.astype(np.int64)


def household_hours(rng: np.random.Generator, profile: np.ndarray) -> np.ndarray:
    """Planned daily viewing hours of every household (all its boxes together)."""
    n = len(profile)
    hours = _MEDIAN_HOURS * np.exp(rng.normal(0.0, _SIGMA_HOURS, n))
    hours *= np.where(profile & SENIOR, 1.3, 1.0) * np.where(profile & KIDS, 1.1, 1.0)
    return np.minimum(hours, 40.0)


def tune_events(
    rng: np.random.Generator,
    box_hh: np.ndarray,
    profile: np.ndarray,
    hours: np.ndarray,
    days: int,
) -> Viewing:
    """Tune events of every box over ``days`` days from :data:`WINDOW_START`.

    ``box_hh`` gives each box's household (boxes in output order), ``profile`` and
    ``hours`` are per household.
    """
    n_box = len(box_hh)
    # Split the household's hours over its boxes: the first box is the main set.
    first_of_hh = np.ones(n_box, dtype=bool)
    order = np.argsort(box_hh, kind="stable")
    first_of_hh[order[1:]] = box_hh[order[1:]] != box_hh[order[:-1]]
    weight = np.where(first_of_hh, 1.0, rng.gamma(1.2, 0.35, n_box))
    share = weight / np.bincount(box_hh, weights=weight, minlength=len(hours))[box_hh]

    # Box-days, box-major: hours, event and session counts.
    n_bd = n_box * days
    bd_box = np.repeat(np.arange(n_box), days)
    bd_day = np.tile(np.arange(days), n_box)
    day_factor = np.exp(rng.normal(-0.06, 0.35, n_bd))
    on = rng.random(n_bd) >= 0.04
    bd_hours = np.minimum(hours[box_hh][bd_box] * share[bd_box] * day_factor * on, 20.0)
    n_events = rng.poisson(bd_hours * 3600.0 / _MEAN_EVENT_SECONDS)
    sessions_wanted = 1 + rng.poisson(0.5 + 0.5 * bd_hours)
    n = int(n_events.sum())
    bd_end = np.cumsum(n_events)
    bd_first = bd_end - n_events

    # Events, box-day-major. A new session begins at a box-day's first event and,
    # inside it, with the chance that yields about ``sessions_wanted`` sessions.
    split = ((sessions_wanted - 1) / np.maximum(n_events - 1, 1)).astype(np.float32)
    new_session = rng.random(n, dtype=np.float32) < np.repeat(split, n_events)
    new_session[bd_first[n_events > 0]] = True
    ses_first = np.flatnonzero(new_session)
    ses_len = np.diff(np.append(ses_first, n))
    ses_bd = np.searchsorted(bd_end, ses_first, side="right")

    # Session start times: an hour by the household's rhythm (weekend-adjusted), a
    # quarter-hour inside it favouring the hour and half-hour, then a second.
    hh_prof = profile[box_hh][bd_box[ses_bd]]
    rhythm = np.where(hh_prof & KIDS, 2, np.where(hh_prof & SENIOR, 1, 0))
    weekend = (bd_day[ses_bd] % 7) >= 5
    hour = _sample_rows(rng, _hour_tables(), rhythm * 2 + weekend).astype(np.int64)
    quarter = rng.choice(4, size=len(ses_first), p=[0.35, 0.15, 0.35, 0.15])
    second_of_day = hour * 3600 + quarter * 900 + rng.integers(0, 900, len(ses_first))
    # Sessions of a box-day run in time order.
    key = np.sort(ses_bd.astype(np.int64) * DAY + second_of_day)
    ses_start = key - ses_bd.astype(np.int64) * DAY + bd_day[ses_bd].astype(np.int64) * DAY

    duration = _durations(rng, n)
    box_len = n_events.reshape(n_box, days).sum(axis=1)
    start = _queue(duration, ses_start, ses_first, ses_len, box_len, days)
    end = start + duration
    ev_box = np.repeat(np.arange(n_box, dtype=np.int32), box_len)

    keep = start < days * DAY
    if not keep.all():
        ev_box, start, end = ev_box[keep], start[keep], end[keep]
    channel = _channels(rng, profile[box_hh][ev_box], start, ev_box, end)
    return Viewing(box=ev_box, channel=channel, start=start, end=end)


def realized_minutes(
    viewing: Viewing, box_hh: np.ndarray, n_households: int, days: int
) -> np.ndarray:
    """Average minutes per day each household's boxes were tuned (sum over boxes)."""
    seconds = np.bincount(
        box_hh[viewing.box], weights=(viewing.end - viewing.start), minlength=n_households
    )
    return np.round(seconds / 60.0 / days).astype(np.int64)


def _durations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Tune-event lengths in whole seconds from the :data:`_DURATIONS` mixture."""
    shares = np.array([d[0] for d in _DURATIONS], dtype=np.float32)
    cut = np.cumsum(shares) / shares.sum()
    log_median = np.log(np.array([d[1] for d in _DURATIONS], dtype=np.float32))
    sigma = np.array([d[2] for d in _DURATIONS], dtype=np.float32)
    lo = np.array([d[3] for d in _DURATIONS], dtype=np.float32)
    hi = np.array([d[4] for d in _DURATIONS], dtype=np.float32)
    u = rng.random(n, dtype=np.float32)
    component = (u >= cut[0]).astype(np.intp)
    component += u >= cut[1]
    seconds = rng.standard_normal(n, dtype=np.float32)
    seconds *= sigma[component]
    seconds += log_median[component]
    np.exp(seconds, out=seconds)
    np.maximum(seconds, lo[component], out=seconds)
    np.minimum(seconds, hi[component], out=seconds)
    return np.rint(seconds).astype(np.int64)


def _queue(
    duration: np.ndarray,
    ses_start: np.ndarray,
    ses_first: np.ndarray,
    ses_len: np.ndarray,
    box_len: np.ndarray,
    days: int,
) -> np.ndarray:
    """Start times of events that never overlap within a box.

    Inside a session events follow each other back to back from the session's start;
    when a session would begin before the box's previous event ends, it waits. This
    queue rule, ``s'_k = max(s_k, s'_{k-1} + d_{k-1})``, unrolls to
    ``s'_k = C_k + max_{j<=k}(s_j - C_j)`` with ``C`` the durations before ``k`` in its
    box, so one running maximum solves it for all boxes at once when each box's values
    are lifted by a box-specific offset larger than any within-box spread.
    """
    if len(duration) == 0:
        return np.zeros(0, dtype=np.int64)
    cumulative = np.cumsum(duration)
    total = cumulative - duration  # durations before each event, all boxes together
    box_end = np.cumsum(box_len)
    box_first = box_end - box_len
    nonempty = box_len > 0
    before_box = np.where(nonempty, total[np.minimum(box_first, len(total) - 1)], 0)
    box_total = np.where(nonempty, cumulative[np.maximum(box_end - 1, 0)] - before_box, 0)
    spread = days * DAY + int(box_total.max()) + 1
    offset = before_box + np.arange(len(box_len), dtype=np.int64) * spread
    lifted = np.repeat(offset, box_len)
    desired = np.repeat(ses_start - total[ses_first], ses_len) + lifted
    np.maximum.accumulate(desired, out=desired)
    desired -= lifted
    desired += total
    return desired


def _channels(
    rng: np.random.Generator,
    profile: np.ndarray,
    start: np.ndarray,
    box: np.ndarray,
    end: np.ndarray,
) -> np.ndarray:
    """A channel per event from the household's preferences at that time of day.

    A channel change is a new event, so a box never shows the same channel in two
    back-to-back events.
    """
    # Table row = (profile * 2 + weekend) * 6 + daypart; the last two follow from the
    # hour of the window the event starts in.
    hours = np.arange(int(start.max(initial=0)) // 3600 + 1)
    hour_part = ((hours // 24) % 7 >= 5) * _N_DAYPARTS + _DAYPART_OF_HOUR[hours % 24]
    row = profile.astype(np.int32) * (2 * _N_DAYPARTS)
    row += hour_part.astype(np.int32)[start // 3600]
    channel = _sample_rows(rng, _channel_tables(), row).astype(np.int8)
    if len(channel) < 2:
        return channel
    # Pairs (k, k+1) of one box where k+1 starts the moment k ends.
    touching = (box[1:] == box[:-1]) & (start[1:] == end[:-1])
    pairs = np.flatnonzero(touching)
    for _ in range(1000):
        same = pairs[channel[pairs + 1] == channel[pairs]]
        if len(same) == 0:
            break
        bump = rng.integers(1, 60, len(same))
        channel[same + 1] = ((channel[same + 1].astype(np.int64) + bump) % 60).astype(np.int8)
        # The changed event must now differ from the one after it too.
        after = same + 1
        after = after[after < len(touching)]
        recheck = np.zeros(len(touching), dtype=bool)
        recheck[same] = True
        recheck[after[touching[after]]] = True
        pairs = np.flatnonzero(recheck)
    return channel


def _sample_rows(rng: np.random.Generator, table: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Draw one value per entry of ``row`` from that row's quantile table."""
    size = table.shape[1]
    column = rng.random(len(row), dtype=np.float32)
    column *= size
    flat = row.astype(np.int64) * size
    flat += column.astype(np.int64)
    return table.ravel()[flat]


def _quantile_table(weights: np.ndarray) -> np.ndarray:
    """Rows of category weights -> rows of ``_TABLE_SIZE`` equally likely categories."""
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    u = (np.arange(_TABLE_SIZE) + 0.5) / _TABLE_SIZE
    out = np.empty((weights.shape[0], _TABLE_SIZE), dtype=np.int8)
    for r in range(weights.shape[0]):
        out[r] = np.searchsorted(cdf[r], u)
    return out


@functools.cache
def _hour_tables() -> np.ndarray:
    """Quantile tables of session-start hours: row ``rhythm * 2 + weekend``."""
    rows = np.repeat(_RHYTHMS, 2, axis=0)
    rows[1::2] *= _WEEKEND_HOURS
    return _quantile_table(rows)


@functools.cache
def _channel_tables() -> np.ndarray:
    """Quantile tables of channels: row ``(profile * 2 + weekend) * 6 + daypart``."""
    genre = tables.channels()["genre"].to_numpy()
    # Inside a genre, earlier channels are the bigger brands.
    rank = np.zeros(len(genre))
    for g in set(genre.tolist()):
        members = np.flatnonzero(genre == g)
        rank[members] = np.arange(len(members))
    popularity = 1.0 / (1.0 + rank) ** 0.8
    weights = np.empty((_N_PROFILES * 2 * _N_DAYPARTS, len(genre)))
    for prof in range(_N_PROFILES):
        for weekend in (0, 1):
            for part in range(_N_DAYPARTS):
                factor = {g: _BASE_GENRE[g] for g in _BASE_GENRE}
                mods = [m for bit, m in _TRAIT_GENRE.items() if prof & bit]
                mods.append(_DAYPART_GENRE[part])
                if weekend:
                    mods.append(_WEEKEND_GENRE)
                for mod in mods:
                    for g, f in mod.items():
                        factor[g] *= f
                row = (prof * 2 + weekend) * _N_DAYPARTS + part
                weights[row] = popularity * np.array([factor[g] for g in genre])
    return _quantile_table(weights)
