"""measure() end to end: published audiences against a direct computation, privacy of
every published cell, and differential privacy through OpenDP."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from hashing.errors import InputError
from linkage.measure import SEGMENT_SUMMARY, VIEWERSHIP, MeasureConfig, measure

from .reference import direct_audiences
from .world import CHANNELS, DAY, LABELS, random_world, viewing

K = 10


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, pl.DataFrame, list]:
    return random_world(seed=11, n_households=600)


@pytest.fixture(scope="module")
def published(world: tuple) -> object:
    homes, people, events = world
    return measure(
        homes, people, LABELS, viewing(events), MeasureConfig(k_min=K, channels=CHANNELS)
    )


def test_output_frames_follow_their_schemas(published) -> None:
    assert dict(published.viewership.schema) == VIEWERSHIP
    assert dict(published.summary.schema) == SEGMENT_SUMMARY
    assert published.n_days == 2 and published.first_day == date(2026, 3, 2)
    # the full grid: 3 segments x 4 bands x (2 days + average) x 3 channels x 96
    assert published.viewership.height == 3 * 4 * 3 * 3 * 96
    assert published.epsilon == 0.0


def test_published_audiences_equal_a_direct_computation(world, published) -> None:
    homes, people, events = world
    reach, matched, tuned = direct_audiences(homes, people, LABELS, events, n_days=2)
    view = published.viewership.filter(~pl.col("suppressed"))
    assert view.height > 400  # the test world publishes plenty
    for row in view.iter_rows(named=True):
        key = (row["segment"], row["band"])
        if row["day"] is not None:
            day = (row["day"] - DAY.date()).days
            expected = reach.get((*key, day, row["quarter_hour"], row["channel"]), 0)
            assert row["reach"] == expected
            assert row["audience"] == expected
            if row["rating"] is not None:
                assert row["rating"] == pytest.approx(expected / matched[key])
            denominator = tuned[(*key, day, row["quarter_hour"])]
            if row["share"] is not None:
                assert row["share"] == pytest.approx(expected / denominator)
        else:
            days = [reach.get((*key, d, row["quarter_hour"], row["channel"]), 0) for d in (0, 1)]
            assert row["audience"] == pytest.approx(sum(days) / 2)
            assert row["reach"] >= max(days)
            if row["rating"] is not None:
                assert row["rating"] == pytest.approx(sum(days) / 2 / matched[key])
    summary = published.summary.filter(~pl.col("suppressed"))
    for segment, band, households, _ in summary.iter_rows():
        assert households == matched[(segment, band)]


def test_no_published_cell_counts_fewer_than_k(published) -> None:
    view = published.viewership
    shown = view.filter(~pl.col("suppressed"))
    hidden = view.filter(pl.col("suppressed"))
    assert shown["reach"].min() >= K
    assert hidden.height > 0
    for column in ("reach", "audience", "rating", "share"):
        assert hidden[column].null_count() == hidden.height
    assert shown["reach"].null_count() == 0 and shown["audience"].null_count() == 0
    # a rating would give its matched count away: it is shown exactly where that is
    hidden_matched = published.summary.filter(pl.col("suppressed")).select("segment", "band")
    no_rating = shown.filter(pl.col("rating").is_null()).select("segment", "band").unique()
    assert no_rating.sort(pl.all()).equals(
        shown.join(hidden_matched, on=["segment", "band"])
        .select("segment", "band")
        .unique()
        .sort(pl.all())
    )


def test_no_hidden_band_cell_is_the_difference_of_published_ones(world, published) -> None:
    homes, people, events = world
    reach, _, _ = direct_audiences(homes, people, LABELS, events, n_days=2)
    view = published.viewership.filter(pl.col("day").is_not_null())
    groups = view.group_by("segment", "day", "quarter_hour", "channel").agg(
        pl.col("band"), pl.col("suppressed")
    )
    for segment, day, qod, channel, bands, hidden in groups.iter_rows():
        d = (day - DAY.date()).days
        counts = {b: reach.get((segment, b, d, qod, channel), 0) for b in bands}
        hidden_bands = [b for b, h in zip(bands, hidden, strict=True) if h]
        if len(hidden_bands) == 1:
            assert counts[hidden_bands[0]] == 0, "a lone hidden cell is recoverable"
        parts = [b for b in hidden_bands if b != "all"]
        if "all" not in hidden_bands and parts:
            total = sum(counts[b] for b in parts)
            assert total == 0 or total >= K


def test_day_cells_of_a_series_are_published_all_or_none(world, published) -> None:
    """Unless the hidden ones are empty: then the average gives away only zeros."""
    homes, people, events = world
    reach, _, _ = direct_audiences(homes, people, LABELS, events, n_days=2)
    day_rows = published.viewership.filter(pl.col("day").is_not_null())
    mixed = (
        day_rows.group_by("segment", "band", "quarter_hour", "channel")
        .agg(pl.col("suppressed").n_unique().alias("states"))
        .filter(pl.col("states") > 1)
    )
    hidden = day_rows.filter(pl.col("suppressed")).join(
        mixed, on=["segment", "band", "quarter_hour", "channel"]
    )
    for row in hidden.iter_rows(named=True):
        day = (row["day"] - DAY.date()).days
        key = (row["segment"], row["band"], day, row["quarter_hour"], row["channel"])
        assert reach.get(key, 0) == 0


def test_members_with_undeclared_bits_are_refused(world) -> None:
    homes, people, events = world
    with pytest.raises(InputError, match="beyond"):
        measure(homes, people, ["only_one"], viewing(events), MeasureConfig(k_min=K))


def test_differential_privacy_spends_the_epsilon_and_publishes_no_small_cell(world) -> None:
    pytest.importorskip("opendp")  # until the lock carries it
    homes, people, events = world
    config = MeasureConfig(
        k_min=K,
        channels=CHANNELS,
        period=(date(2026, 3, 2), date(2026, 3, 3)),
        dp_epsilon=50.0,
        dp_delta=1e-6,
    )
    noisy = measure(homes, people, LABELS, viewing(events), config)
    assert 0 < noisy.epsilon <= 50.0 + 1e-9
    assert noisy.delta == pytest.approx(1e-6)
    assert noisy.noise_scale > 0
    shown = noisy.viewership.filter(~pl.col("suppressed"))
    assert shown.height > 0
    assert shown["reach"].min() >= K  # type: ignore[operator]
    exact = measure(
        homes, people, LABELS, viewing(events), MeasureConfig(k_min=K, channels=CHANNELS)
    )
    joined = shown.join(
        exact.viewership, on=["segment", "band", "day", "channel", "quarter_hour"], suffix="_x"
    )
    assert (joined["reach"] != joined["reach_x"]).any()  # noise was added
    # bands still add up after noise (band "all" is the sum of the noisy bands)
    assert "dp_channel_credits_cut" in noisy.quality
