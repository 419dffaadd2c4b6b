"""Properties of crediting and publication that must hold for any log."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from linkage.measure import MeasureConfig, measure

from .world import CHANNELS, LABELS, random_world, viewing

K = 10
WORLD = random_world(seed=5, n_households=200)
CONFIG = MeasureConfig(k_min=K, channels=CHANNELS)
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _measure(events: list) -> pl.DataFrame:
    homes, people, _ = WORLD
    return measure(homes, people, LABELS, viewing(events), CONFIG).viewership


BASELINE = _measure(WORLD[2])


@SETTINGS
@given(which=st.integers(min_value=0), at_minute=st.integers(min_value=1, max_value=48))
def test_splitting_an_event_in_two_changes_nothing(which: int, at_minute: int) -> None:
    events = list(WORLD[2])
    index = which % len(events)
    box, channel, start, end = events[index]
    cut = start + timedelta(minutes=at_minute)
    if not start < cut < end:
        cut = start + (end - start) / 2
    events[index : index + 1] = [(box, channel, start, cut), (box, channel, cut, end)]
    assert_frame_equal(_measure(events), BASELINE)


@SETTINGS
@given(days=st.integers(min_value=1, max_value=400))
def test_shifting_by_whole_days_moves_day_rows_and_keeps_averages(days: int) -> None:
    shift = timedelta(days=days)
    moved = _measure([(b, c, s + shift, e + shift) for b, c, s, e in WORLD[2]])
    expected_days = BASELINE.with_columns(pl.col("day") + shift)
    assert_frame_equal(moved, expected_days)
    averaged = pl.col("day").is_null()
    assert_frame_equal(moved.filter(averaged), BASELINE.filter(averaged))


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=10_000), k=st.integers(min_value=10, max_value=40))
def test_no_published_cell_under_k(seed: int, k: int) -> None:
    homes, people, events = random_world(seed=seed, n_households=120, n_days=1)
    result = measure(homes, people, LABELS, viewing(events), MeasureConfig(k_min=k))
    shown = result.viewership.filter(~pl.col("suppressed"))
    if shown.height:
        assert shown["reach"].min() >= k  # type: ignore[operator]
    hidden = result.viewership.filter(pl.col("suppressed"))
    assert hidden["reach"].null_count() == hidden.height
    summary = result.summary.filter(~pl.col("suppressed"))
    if summary.height:
        assert summary["households"].min() >= k  # type: ignore[operator]
