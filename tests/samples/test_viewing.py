"""Tune-event building blocks: the no-overlap queue and the event generator."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from samples.viewing import DAY, _queue, household_hours, tune_events


def naive_queue(
    duration: list[int], ses_start: list[int], ses_len: list[int], box_len: list[int]
) -> list[int]:
    """The queue rule written the slow, obvious way."""
    wanted: list[int] = []
    for start, length in zip(ses_start, ses_len, strict=True):
        t = start
        for _ in range(length):
            wanted.append(t)
            t += duration[len(wanted) - 1]
    out: list[int] = []
    k = 0
    for length in box_len:
        free = None
        for _ in range(length):
            s = wanted[k] if free is None else max(wanted[k], free)
            out.append(s)
            free = s + duration[k]
            k += 1
    return out


@st.composite
def queues(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[int], int]:
    days = draw(st.integers(1, 3))
    boxes = draw(st.lists(st.lists(st.integers(1, 4), max_size=4), min_size=1, max_size=5))
    ses_len = [n for box in boxes for n in box]
    box_len = [sum(box) for box in boxes]
    ses_start: list[int] = []
    for box in boxes:
        starts = sorted(draw(st.integers(0, days * DAY - 1)) for _ in box)
        ses_start.extend(starts)
    duration = [draw(st.integers(1, 4 * 3600)) for _ in range(sum(ses_len))]
    return duration, ses_start, ses_len, box_len, days


@settings(max_examples=200, deadline=None)
@given(queues())
def test_queue_matches_the_obvious_loop(
    case: tuple[list[int], list[int], list[int], list[int], int],
) -> None:
    duration, ses_start, ses_len, box_len, days = case
    ses_first = np.cumsum([0, *ses_len])[:-1]
    got = _queue(
        np.array(duration, dtype=np.int64),
        np.array(ses_start, dtype=np.int64),
        ses_first.astype(np.int64),
        np.array(ses_len, dtype=np.int64),
        np.array(box_len, dtype=np.int64),
        days,
    )
    assert got.tolist() == naive_queue(duration, ses_start, ses_len, box_len)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), households=st.integers(0, 40), days=st.integers(1, 3))
def test_events_never_overlap_and_stay_in_the_window(seed: int, households: int, days: int) -> None:
    rng = np.random.default_rng(seed)
    box_hh = np.repeat(np.arange(households), rng.integers(1, 5, households))
    rng.shuffle(box_hh)
    profile = rng.integers(0, 128, households)
    viewing = tune_events(rng, box_hh, profile, household_hours(rng, profile), days)
    assert np.all(viewing.end > viewing.start)
    assert np.all(viewing.start >= 0) and np.all(viewing.start < days * DAY)
    assert np.all(np.diff(viewing.box) >= 0)
    same_box = viewing.box[1:] == viewing.box[:-1]
    assert not np.any(same_box & (viewing.start[1:] < viewing.end[:-1]))
    assert np.all((viewing.channel >= 0) & (viewing.channel < 60))
    # A channel change makes a new event: back-to-back events differ in channel.
    touching = same_box & (viewing.start[1:] == viewing.end[:-1])
    assert not np.any(touching & (viewing.channel[1:] == viewing.channel[:-1]))
