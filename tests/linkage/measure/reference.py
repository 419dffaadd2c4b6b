"""A direct, loop-by-loop computation of the audiences, to check the vectorized one."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import polars as pl

from .world import DAY, Event


def direct_audiences(
    households: pl.DataFrame,
    members: pl.DataFrame,
    labels: list[str],
    events: list[Event],
    n_days: int,
    credit_minutes: float = 5,
    light: float = 2,
    heavy: float = 6,
) -> tuple[
    dict[tuple[str, str, int, int, str], int],
    dict[tuple[str, str], int],
    dict[tuple[str, str, int, int], int],
]:
    """(reach per (segment, band, day, qod, channel), matched per (segment, band),
    tuned per (segment, band, day, qod)) for non-overlapping events, day 0 = DAY."""
    box_home = {b: h for h, boxes in households.iter_rows() for b in boxes}
    seconds: dict[tuple[str, int, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for box, channel, start, end in events:
        t = start
        while t < end:
            q_start = t.replace(minute=t.minute // 15 * 15, second=0, microsecond=0)
            q_end = min(end, q_start + timedelta(minutes=15))
            day = (q_start.date() - DAY.date()).days
            qod = q_start.hour * 4 + q_start.minute // 15
            seconds[(box, day, qod)][channel] += (q_end - t).total_seconds()
            t = q_end
    tuned_hh: set[tuple[bytes, int, int, str]] = set()
    for (box, day, qod), per_channel in seconds.items():
        best = min(per_channel.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] >= credit_minutes * 60 and 0 <= day < n_days:
            tuned_hh.add((box_home[box], day, qod, best[0]))
    bits: dict[bytes, int] = defaultdict(int)
    for h, b in members.iter_rows():
        bits[h] |= b
    qh_count: dict[bytes, set[tuple[int, int]]] = defaultdict(set)
    for h, day, qod, _ in tuned_hh:
        qh_count[h].add((day, qod))

    def band(h: bytes) -> str:
        hours = len(qh_count[h]) * 0.25 / n_days
        return "light" if hours < light else "heavy" if hours >= heavy else "medium"

    def cells(h: bytes) -> list[tuple[str, str]]:
        segs = ["all"] + [label for i, label in enumerate(labels) if bits[h] >> i & 1]
        return [(s, b) for s in segs for b in ("all", band(h))]

    reach: dict[tuple[str, str, int, int, str], int] = defaultdict(int)
    for h, day, qod, channel in tuned_hh:
        for s, b in cells(h):
            reach[(s, b, day, qod, channel)] += 1
    tuned: dict[tuple[str, str, int, int], int] = defaultdict(int)
    for h, quarters in qh_count.items():
        for day, qod in quarters:
            for s, b in cells(h):
                tuned[(s, b, day, qod)] += 1
    matched: dict[tuple[str, str], int] = defaultdict(int)
    for h in households["household"].to_list():
        for s, b in cells(h):
            matched[(s, b)] += 1
    return reach, matched, tuned
