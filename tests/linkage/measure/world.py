"""Small hand-made inputs for the measurement tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

DAY = datetime(2026, 3, 2)


def at(hh_mm: str, day: int = 0) -> datetime:
    """``"10:05"`` on the test day (plus ``day`` days)."""
    hours, minutes = (int(x) for x in hh_mm.split(":"))
    return DAY.replace(day=DAY.day + day, hour=hours, minute=minutes)


def households(mapping: dict[int, list[str]]) -> pl.DataFrame:
    """household i (a 16-byte reference) → its box ids."""
    return pl.DataFrame(
        {
            "household": [i.to_bytes(16, "big") for i in mapping],
            "boxes": list(mapping.values()),
        },
        schema={"household": pl.Binary, "boxes": pl.List(pl.String)},
    )


def members(bits: dict[int, list[int]]) -> pl.DataFrame:
    """household i → the segment bitsets of its members."""
    rows = [(i.to_bytes(16, "big"), b) for i, member_bits in bits.items() for b in member_bits]
    return pl.DataFrame(
        {"household": [r[0] for r in rows], "segments": [r[1] for r in rows]},
        schema={"household": pl.Binary, "segments": pl.UInt64},
    )


def viewing(events: Sequence[tuple[object, ...]]) -> pl.LazyFrame:
    """(box_id, channel, start, end) rows as a lazy viewing log."""
    return pl.LazyFrame(
        events,
        schema={
            "box_id": pl.String,
            "channel": pl.String,
            "start": pl.Datetime("us"),
            "end": pl.Datetime("us"),
        },
        orient="row",
    )


LABELS = ["persuadable", "supporter"]
CHANNELS = ("CH01", "CH02", "CH03")
Event = tuple[str, str, datetime, datetime]


def random_world(
    seed: int, n_households: int = 300, n_days: int = 2
) -> tuple[pl.DataFrame, pl.DataFrame, list[Event]]:
    """A small world dense enough that many cells pass k = 10: evening viewing, 3 channels.

    Each box watches back-to-back-with-gaps events starting between 19:00 and 23:00; events of one
    box never overlap.
    """
    import random
    from datetime import timedelta

    rng = random.Random(seed)
    mapping: dict[int, list[str]] = {}
    bits: dict[int, list[int]] = {}
    events: list[Event] = []
    box = 0
    for hh in range(n_households):
        mapping[hh] = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            box_id = f"B{box:05d}"
            box += 1
            mapping[hh].append(box_id)
            for day in range(n_days):
                t = DAY + timedelta(days=day, hours=19, minutes=rng.randrange(0, 90))
                stop = DAY + timedelta(days=day, hours=23)
                while t < stop:
                    length = timedelta(minutes=rng.randrange(2, 50), seconds=rng.randrange(60))
                    events.append((box_id, rng.choice(CHANNELS), t, t + length))
                    t += length + timedelta(minutes=rng.choice([0, 0, 3, 20, 60]))
        bits[hh] = [rng.randrange(0, 4) for _ in range(rng.choice([1, 2]))]
    return households(mapping), members(bits), events
